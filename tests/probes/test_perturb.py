"""Seeded perturbations: reproducible, and each does what it says."""

from __future__ import annotations

import string

from promptwork.probes.perturb import (
    PERTURBATIONS,
    casing,
    punctuation,
    rng_for,
    shuffle,
    typos,
    whitespace,
)

TEXT = "Hello there, my order #42 never arrived. Can you help me with it today?"


def test_each_perturbation_reproduces_exactly_with_the_same_seed() -> None:
    for name, fn in PERTURBATIONS.items():
        first = fn(TEXT, rng_for(7, 3, "question", name))
        again = fn(TEXT, rng_for(7, 3, "question", name))
        assert first == again, name
        assert first != TEXT, name


def test_a_different_seed_gives_a_different_typo_pattern() -> None:
    outs = {typos(TEXT, rng_for(seed, 0, "q", "typos"), 0.2) for seed in range(5)}
    assert len(outs) > 1


def test_pinned_outputs_do_not_drift_between_versions() -> None:
    # Written once by hand from the seeded generator: a change of algorithm shows here.
    assert punctuation(TEXT, rng_for(0, 0, "q", "punctuation")) == (
        "Hello there my order 42 never arrived Can you help me with it today")
    short = "Hello there, my order #42 never arrived. Can you help?"
    assert typos(short, rng_for(0, 1, "typos")) == (
        "Hello there, my order #42 neevr arrivves. Can you help?")


def test_typos_hit_about_the_rate_and_keep_the_rest() -> None:
    long = " ".join(["prompt engineering"] * 50)
    out = typos(long, rng_for(1, 0, "v", "typos"), 0.05)
    letters = sum(ch.isalpha() for ch in long)
    changed = sum(1 for a, b in zip(long, out, strict=False) if a != b)
    assert 0 < changed < letters * 0.5
    assert typos("1234 !!", rng_for(0, 0, "v", "typos")) == "1234 !!"  # no letters: unchanged


def test_casing_changes_only_case_and_whitespace_only_spaces() -> None:
    out = casing(TEXT, rng_for(0, 0, "q", "casing"))
    assert out.lower() == TEXT.lower() and out != TEXT
    spaced = whitespace(TEXT, rng_for(0, 0, "q", "whitespace"))
    assert spaced.split() == TEXT.split() and spaced != TEXT


def test_shuffle_keeps_the_words_and_moves_them_only_inside_the_window() -> None:
    words = [f"w{i}" for i in range(12)]
    out = shuffle(" ".join(words), rng_for(3, 0, "q", "shuffle"), 3).split()
    assert sorted(out) == sorted(words) and out != words
    for start in range(0, 12, 3):
        assert sorted(out[start:start + 3]) == sorted(words[start:start + 3])


def test_punctuation_removes_every_punctuation_mark() -> None:
    out = punctuation("a, b; c! «d» e—f?", rng_for(0, 0, "q", "p"))
    assert not any(ch in string.punctuation for ch in out)
    assert out.split() == ["a", "b", "c", "d", "ef"]
