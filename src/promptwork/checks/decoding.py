"""Reading an answer in every encoding an attack may use, and folding text for matching.

The injection probe (:mod:`promptwork.probes.converters`) encodes attacks as base64, ROT13,
leetspeak, look-alike letters, invisible Unicode tag characters or spaced-out letters; a model
may answer in the same form. :data:`DECODERS` reads each form back, :func:`decodings` gives every
reading of an answer, and :func:`fold` reduces a text so that case, spacing, punctuation,
leetspeak and look-alike letters do not hide a planted string. Pure functions, no randomness.
"""

from __future__ import annotations

import base64
import binascii
import codecs
import re
import unicodedata
from collections.abc import Callable

__all__ = ["DECODERS", "HOMOGLYPHS", "LEET", "TAG_BASE", "decodings", "fold"]

# --- leetspeak and homoglyphs -----------------------------------------------------------------

#: Letter -> the digit leetspeak writes for it.
LEET = {"a": "4", "e": "3", "i": "1", "o": "0", "s": "5", "t": "7"}
_UNLEET_MAP = {"4": "a", "@": "a", "3": "e", "1": "i", "!": "i", "0": "o", "5": "s", "$": "s",
               "7": "t", "+": "t"}
#: Digits and signs read back as letters (the leetspeak decoder).
_UNLEET = str.maketrans(_UNLEET_MAP)
#: The same for matching, where ``l`` and ``|`` read as ``i`` too (``1`` stands for either), so
#: that both sides of a match fold alike.
_FOLD_LEET = str.maketrans({**_UNLEET_MAP, "l": "i", "|": "i"})

#: Latin letter -> a Cyrillic or Greek letter that looks the same.
HOMOGLYPHS = {"a": "\u0430", "c": "\u0441", "e": "\u0435", "i": "\u0456", "o": "\u043e",
              "p": "\u0440", "x": "\u0445", "y": "\u0443", "A": "\u0391", "B": "\u0392",
              "C": "\u0421", "E": "\u0395", "H": "\u0397", "I": "\u0399", "K": "\u039a",
              "M": "\u039c", "N": "\u039d", "O": "\u039f", "P": "\u03a1", "T": "\u03a4",
              "X": "\u03a7", "Y": "\u03a5"}
#: Look-alikes read back as Latin letters (those above, and a few more models write).
_UNHOMOGLYPH = str.maketrans({**{v: k for k, v in HOMOGLYPHS.items()},
                              "\u0455": "s", "\u0458": "j", "\u04bb": "h", "\u0501": "d",
                              "\u03bf": "o", "\u03b1": "a", "\u0412": "B", "\u041c": "M",
                              "\u041d": "H", "\u0422": "T", "\u0410": "A", "\u0415": "E",
                              "\u041e": "O", "\u0420": "P", "\u0421": "C", "\u0425": "X"})

# --- Unicode tag characters (ASCII smuggling) -------------------------------------------------

#: Tag character = this + the ASCII code point (U+E0020..U+E007E).
TAG_BASE = 0xE0000


def _from_tags(text: str) -> str:
    """Tag characters turned back into ASCII (other characters kept)."""
    return "".join(chr(ord(ch) - TAG_BASE) if 0xE0020 <= ord(ch) <= 0xE007E else ch
                   for ch in text if ord(ch) not in (0xE0001, 0xE007F))


# --- base64 -----------------------------------------------------------------------------------

_B64_RUN = re.compile(r"[A-Za-z0-9+/]{12,}={0,2}")


def _b64decode(text: str) -> str:
    """Every base64 run of the text decoded to readable text, or the text as is when none is."""
    found: list[str] = []
    for run in _B64_RUN.findall(text):
        padded = run + "=" * (-len(run) % 4)
        try:
            decoded = base64.b64decode(padded, validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError, ValueError):
            continue
        readable = sum(ch.isprintable() or ch.isspace() for ch in decoded)
        if decoded and readable >= 0.9 * len(decoded):
            found.append(decoded)
    return "\n".join(found) if found else text


# --- spacing ----------------------------------------------------------------------------------

_SPACED_RUN = re.compile(r"(?<!\S)(?:\S ){2,}\S(?!\S)")
_WORD_GAP = re.compile(r" {2,}")


def _unspace(text: str) -> str:
    """Runs of single characters separated by single spaces joined back; wider gaps (between
    spaced-out words) become single spaces."""
    return " ".join(_SPACED_RUN.sub(lambda m: m.group(0).replace(" ", ""), part)
                    for part in _WORD_GAP.split(text))


def _identity(text: str) -> str:
    return text


#: Encoding name -> its decoder (the names of :mod:`promptwork.probes.converters`).
DECODERS: dict[str, Callable[[str], str]] = {
    "identity": _identity,
    "base64": _b64decode,
    "rot13": lambda t: codecs.decode(t, "rot13"),
    "leetspeak": lambda t: t.translate(_UNLEET),
    "homoglyphs": lambda t: t.translate(_UNHOMOGLYPH),
    "tags": _from_tags,
    "spacing": _unspace,
    "wrapper": _identity,
}


def decodings(text: str) -> dict[str, str]:
    """Every reading of an answer: ``{encoding: decoded text}``, the text itself first (as
    ``identity``); readings identical to the text are left out."""
    out = {"identity": text}
    for name, decode in DECODERS.items():
        if name not in out:
            decoded = decode(text)
            if decoded != text:
                out[name] = decoded
    return out


_NOT_ALNUM = re.compile(r"[\W_]+", re.UNICODE)


def fold(text: str) -> str:
    """Text reduced for matching: tag characters read, look-alikes and leetspeak folded,
    Unicode-normalised (NFKC), case-folded, and everything but letters and digits removed."""
    text = _from_tags(text).translate(_UNHOMOGLYPH)
    text = unicodedata.normalize("NFKC", text).casefold().translate(_FOLD_LEET)
    return _NOT_ALNUM.sub("", text)
