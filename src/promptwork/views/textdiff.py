"""Word and line diffs of two texts as data: a list of ``(op, text)`` segments.

The segments are what a template loops over (``<del>``/``<ins>``/plain spans, each text
escaped by the template's autoescape) and what the terminal colours; no HTML is built here.
Word diffs split text into words, runs of whitespace and single punctuation marks, so that
joining the ``equal`` and ``delete`` segments gives back the first text exactly, and the
``equal`` and ``insert`` segments the second.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

__all__ = ["MAX_TOKENS", "DiffOp", "Segment", "TextDiff", "line_diff", "word_diff"]

DiffOp = Literal["equal", "delete", "insert"]

#: Above this many tokens on a side, a word diff falls back to a line diff (difflib is
#: quadratic in the worst case; answers this long are rare and lines are still readable).
MAX_TOKENS = 20_000

_WORDS = re.compile(r"\s+|\w+|[^\w\s]", re.UNICODE)


@dataclass(frozen=True, slots=True)
class Segment:
    """A run of text that is the same on both sides, only in A (``delete``) or only in B
    (``insert``)."""

    op: DiffOp
    text: str


@dataclass(frozen=True, slots=True)
class TextDiff:
    """A diff from text A to text B.

    Attributes:
        segments: The diff, in order.
        unit: ``word`` or ``line``.
        identical: Whether the two texts are equal.
        inserted: Tokens only in B.
        deleted: Tokens only in A.
    """

    segments: tuple[Segment, ...]
    unit: Literal["word", "line"]
    identical: bool
    inserted: int
    deleted: int

    def side(self, which: Literal["a", "b"]) -> str:
        """The text of one side, rebuilt from the segments."""
        skip = "insert" if which == "a" else "delete"
        return "".join(s.text for s in self.segments if s.op != skip)

    def to_list(self) -> list[tuple[str, str]]:
        return [(s.op, s.text) for s in self.segments]


def _tokens(text: str) -> list[str]:
    return _WORDS.findall(text)


def _diff(a: Sequence[str], b: Sequence[str], unit: Literal["word", "line"]) -> TextDiff:
    segments: list[Segment] = []
    inserted = deleted = 0

    def add(op: DiffOp, parts: Sequence[str]) -> None:
        text = "".join(parts)
        if not text:
            return
        if segments and segments[-1].op == op:
            segments[-1] = Segment(op, segments[-1].text + text)
        else:
            segments.append(Segment(op, text))

    matcher = difflib.SequenceMatcher(None, a, b, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            add("equal", a[i1:i2])
            continue
        # A replacement shows what went, then what came.
        add("delete", a[i1:i2])
        add("insert", b[j1:j2])
        deleted += sum(1 for t in a[i1:i2] if not t.isspace())
        inserted += sum(1 for t in b[j1:j2] if not t.isspace())
    return TextDiff(tuple(segments), unit, list(a) == list(b), inserted, deleted)


def line_diff(a: str | None, b: str | None) -> TextDiff:
    """A line-level diff of ``a`` to ``b`` (None counts as empty text)."""
    return _diff((a or "").splitlines(keepends=True), (b or "").splitlines(keepends=True),
                 "line")


def word_diff(a: str | None, b: str | None) -> TextDiff:
    """A word-level diff of ``a`` to ``b`` (None counts as empty text); a line diff when a side
    has more than :data:`MAX_TOKENS` tokens."""
    ta, tb = _tokens(a or ""), _tokens(b or "")
    if len(ta) > MAX_TOKENS or len(tb) > MAX_TOKENS:
        return line_diff(a, b)
    return _diff(ta, tb, "word")
