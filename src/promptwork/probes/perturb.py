"""Seeded text perturbations for the robustness probe: typos, casing, whitespace, punctuation,
a word shuffle inside a window.

Each function takes the text and a :class:`random.Random` and returns the perturbed text; the
same seed gives the same text on every machine (``random.Random`` seeded with a string is
deterministic, unlike ``hash()``).
"""

from __future__ import annotations

import random
import re
import unicodedata
from collections.abc import Callable

#: Neighbouring keys on a QWERTY keyboard, for substitution typos.
_NEIGHBOURS = {
    "a": "qwsz", "b": "vghn", "c": "xdfv", "d": "serfcx", "e": "wsdr", "f": "drtgvc",
    "g": "ftyhbv", "h": "gyujnb", "i": "ujko", "j": "huikmn", "k": "jiolm", "l": "kop",
    "m": "njk", "n": "bhjm", "o": "iklp", "p": "ol", "q": "wa", "r": "edft", "s": "awedxz",
    "t": "rfgy", "u": "yhji", "v": "cfgb", "w": "qase", "x": "zsdc", "y": "tghu", "z": "asx",
}


def rng_for(seed: int, *parts: object) -> random.Random:
    """A generator seeded by ``seed`` and what is perturbed (test, variable, perturbation)."""
    return random.Random(":".join(str(p) for p in (seed, *parts)))


def typos(text: str, rng: random.Random, rate: float = 0.05) -> str:
    """Each letter, with probability ``rate``, is swapped with the next one, dropped, doubled or
    replaced by a neighbouring key. A text with letters gets at least one typo."""
    letters = [i for i, ch in enumerate(text) if ch.isalpha()]
    if not letters:
        return text
    hit = {i for i in letters if rng.random() < rate} or {rng.choice(letters)}
    out: list[str] = []
    i = 0
    while i < len(text):
        ch = text[i]
        if i not in hit:
            out.append(ch)
            i += 1
            continue
        kind = rng.choice(("swap", "drop", "double", "neighbour"))
        if kind == "swap" and i + 1 < len(text) and text[i + 1].isalpha() and text[i + 1] != ch:
            out.append(text[i + 1] + ch)
            i += 2
            continue
        if kind == "drop" and len(letters) > 1:
            pass
        elif kind == "double":
            out.append(ch + ch)
        else:
            near = _NEIGHBOURS.get(ch.lower())
            sub = rng.choice(near) if near else ch + ch
            out.append(sub.upper() if ch.isupper() else sub)
        i += 1
    return "".join(out)


def casing(text: str, rng: random.Random) -> str:
    """Each word lower-cased, upper-cased or capitalised at random (a changed text when it has
    letters: if the draw changed nothing, the whole text is lower- or upper-cased)."""
    def one(match: re.Match[str]) -> str:
        return rng.choice((str.lower, str.upper, str.capitalize))(match.group(0))

    out = re.sub(r"[^\W\d_]+", one, text)
    if out == text:
        out = text.lower() if text != text.lower() else text.upper()
    return out


def whitespace(text: str, rng: random.Random) -> str:
    """One to three extra spaces in about half of the gaps between words, and stray spaces and
    a newline around the text."""
    parts = re.split(r"( +)", text)
    out = [p + " " * rng.randint(1, 3) if p.startswith(" ") and rng.random() < 0.5 else p
           for p in parts]
    return " " * rng.randint(1, 2) + "".join(out) + rng.choice((" ", "  ", " \n"))


def punctuation(text: str, rng: random.Random) -> str:
    """Every punctuation character removed (``rng`` unused: there is one way to do it)."""
    del rng
    return "".join(ch for ch in text if not unicodedata.category(ch).startswith("P"))


def shuffle(text: str, rng: random.Random, window: int = 3) -> str:
    """Words shuffled inside consecutive windows of ``window`` words (spacing kept)."""
    tokens = re.split(r"(\s+)", text)
    words = tokens[0::2]
    for start in range(0, len(words), max(2, window)):
        chunk = words[start:start + max(2, window)]
        rng.shuffle(chunk)
        words[start:start + len(chunk)] = chunk
    tokens[0::2] = words
    return "".join(tokens)


#: Perturbation name -> function (paraphrase needs a model: see the robustness probe).
PERTURBATIONS: dict[str, Callable[..., str]] = {
    "typos": typos, "casing": casing, "whitespace": whitespace,
    "punctuation": punctuation, "shuffle": shuffle,
}
