"""The parts of a prompt body that the search edits: instruction, demos and query.

A body is read as::

    <instruction: sentences, role lines, existing demo paragraphs>
    <gap>
    <demos added by the search, one paragraph each>
    <query: the lines holding the last template variables, then the answer line>

The query is the run of consecutive lines with template variables that ends at the last variable,
plus everything after it (``Review: {{ review }}`` / ``Sentiment:``). Its last line, when it holds
no variable and ends with a colon, is the *answer line*; a demo mimics the query's format with the
answer written after that line (``Review: ...`` / ``Sentiment: positive``).

The instruction is split into segments that can be dropped one by one: sentences, role lines
(never dropped), paragraphs that already are demos. Segmenting is lossless: an unchanged layout
renders the original text exactly.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from promptwork.templates import TemplateEngine

_ROLE_LINE = re.compile(r"^[ \t]*(system|user|assistant)[ \t]*:[ \t]*$")
_VARIABLE = re.compile(r"\{\{.*?\}\}|\{%.*?%\}")
_SENTENCE_END = re.compile(r"(?<=[.!?])[ \t]+(?=\S)")
_MARKERS = ("{{", "{%", "{#")


@dataclass(frozen=True, slots=True)
class Segment:
    """One piece of the instruction.

    Attributes:
        text: The text (a Jinja template fragment).
        sep: The whitespace that followed it in the source.
        kind: ``sentence``, ``demo`` (a paragraph in the query's format), ``role`` (a chat role
            line, never dropped) or ``block`` (template logic kept whole).
    """

    text: str
    sep: str = ""
    kind: str = "sentence"

    @property
    def droppable(self) -> bool:
        return self.kind != "role"


@dataclass(frozen=True, slots=True)
class Layout:
    """A prompt body cut into instruction segments, gap and query (see the module docs)."""

    segments: tuple[Segment, ...]
    gap: str
    query: str
    lead: str = ""

    # -- reading ---------------------------------------------------------------------------

    @property
    def instruction(self) -> str:
        parts = [s.text + s.sep for s in self.segments]
        return "".join(parts[:-1]) + (self.segments[-1].text if self.segments else "")

    @property
    def answer_line(self) -> str | None:
        return _query_parts(self.query)[1]

    def droppable(self) -> list[int]:
        """Indexes of the segments an edit may remove."""
        return [i for i, s in enumerate(self.segments) if s.droppable]

    def render(self, demos: Sequence[str] = ()) -> str:
        """The body text, with ``demos`` (literal text, escaped here) before the query."""
        out = self.lead + self.instruction
        gap = self.gap or ("\n" if out and not out.endswith("\n") else "")
        if not self.instruction.strip() and not any(s.kind == "role" for s in self.segments):
            out, gap = self.lead, ""
        if demos:
            out += gap + "\n\n".join(jinja_literal(d) for d in demos)
            gap = "\n\n"
        return out + gap + self.query

    def demo_texts(self, demos: Sequence[tuple[Mapping[str, Any], str]]) -> list[str]:
        """Demos in the query's format: each one's input lines rendered, then its answer."""
        if not demos:
            return []
        input_part, answer_line = _query_parts(self.query)
        template = TemplateEngine().compile(input_part, "<demo>")
        out = []
        for values, answer in demos:
            shown = template.render(values).rstrip()
            if answer_line is None:
                out.append(f"{shown}\n{answer.strip()}")
            else:
                out.append(f"{shown}\n{answer_line.rstrip()} {answer.strip()}")
        return out

    # -- editing -----------------------------------------------------------------------------

    def drop(self, index: int) -> Layout:
        """Without segment ``index``; the neighbour keeps the larger of the two separators."""
        segs = list(self.segments)
        gone = segs.pop(index)
        if index > 0:
            before = segs[index - 1]
            sep = "" if index == len(segs) else _stronger(before.sep, gone.sep)
            segs[index - 1] = replace(before, sep=sep)
        return replace(self, segments=tuple(segs))

    def add(self, text: str) -> Layout:
        """With sentence ``text`` appended to the instruction's last sentence (before demos)."""
        segs = list(self.segments)
        words = [i for i, s in enumerate(segs) if s.kind in ("sentence", "block")]
        roles = [i for i, s in enumerate(segs) if s.kind == "role"]
        if words:
            p = words[-1] + 1
            prev = segs[p - 1]
            fresh = Segment(text.strip(), prev.sep if p < len(segs) else "", "sentence")
            segs[p - 1] = replace(prev, sep=" " if prev.kind == "sentence" else "\n")
            segs.insert(p, fresh)
            return replace(self, segments=tuple(segs), gap=self.gap or "\n\n")
        p = roles[-1] + 1 if roles else 0
        return replace(self, segments=_insert(segs, p, [Segment(text.strip())], "\n\n"),
                       gap=self.gap or "\n\n")

    def with_instruction(self, text: str) -> Layout:
        """The instruction's sentences replaced by ``text`` (role lines and demos kept)."""
        segs = list(self.segments)
        words = [i for i, s in enumerate(segs) if s.kind in ("sentence", "block")]
        fresh = list(split_instruction(text.strip(), None))
        if not words:
            roles = [i for i, s in enumerate(segs) if s.kind == "role"]
            p = roles[-1] + 1 if roles else 0
            return replace(self, segments=_insert(segs, p, fresh, "\n\n"),
                           gap=self.gap or "\n\n")
        tail_sep = segs[words[-1]].sep or "\n\n"
        kept = [s for i, s in enumerate(segs) if i not in set(words)]
        p = words[0]
        return replace(self, segments=_insert(kept, p, fresh, tail_sep), gap=self.gap or "\n\n")

    def with_answer_line(self, line: str) -> Layout:
        """The query with an answer line added when it has none (output-format priming)."""
        if self.answer_line is not None:
            return self
        return replace(self, query=self.query.rstrip() + "\n" + line)


def parse_body(body: str) -> Layout:
    """Cut a body into instruction segments, gap and query (lossless)."""
    lines = body.splitlines(keepends=True)
    last = max((i for i, line in enumerate(lines) if _VARIABLE.search(line)), default=None)
    if last is None:  # no variable: the last paragraph is the query
        start = _last_paragraph(lines)
    else:
        start = last
        while (start > 0 and _VARIABLE.search(lines[start - 1])
               and not _ROLE_LINE.match(lines[start - 1])):
            start -= 1
    head = "".join(lines[:start])
    query = "".join(lines[start:])
    stripped = head.rstrip()
    gap = head[len(stripped):]
    lead_len = len(stripped) - len(stripped.lstrip())
    lead, instruction = stripped[:lead_len], stripped[lead_len:]
    return Layout(split_instruction(instruction, _query_parts(query)[1]), gap, query, lead)


def split_instruction(text: str, answer_line: str | None) -> tuple[Segment, ...]:
    """Segments of an instruction text (no trailing whitespace): lossless."""
    if not text:
        return ()
    if "{%" in text:
        return (Segment(text, "", "block"),)
    out: list[Segment] = []
    label = answer_line.strip() if answer_line else None
    for para, sep in _paragraphs(text):
        lines = para.split("\n")
        if label and len(lines) > 1 and lines[-1].lstrip().startswith(label):
            out.append(Segment(para, sep, "demo"))
            continue
        for j, line in enumerate(lines):
            line_sep = "\n" if j < len(lines) - 1 else sep
            if _ROLE_LINE.match(line):
                out.append(Segment(line, line_sep, "role"))
                continue
            pieces = _SENTENCE_END.split(line)
            spaces = _SENTENCE_END.findall(line)
            for k, piece in enumerate(pieces):
                out.append(Segment(piece, spaces[k] if k < len(spaces) else line_sep))
    return tuple(out)


def jinja_literal(text: str) -> str:
    """``text`` as a template that renders to exactly ``text``."""
    if not any(m in text for m in _MARKERS):
        return text
    if "endraw" not in text:
        return "{% raw %}" + text + "{% endraw %}"
    return re.sub(r"[{}]", lambda m: "{{ '" + m.group(0) + "' }}", text)


def _paragraphs(text: str) -> list[tuple[str, str]]:
    """(paragraph, whitespace after it) pairs; the last has ``""``."""
    out: list[tuple[str, str]] = []
    pos = 0
    for match in re.finditer(r"\n[ \t]*\n\s*", text):
        out.append((text[pos:match.start()], match.group(0)))
        pos = match.end()
    out.append((text[pos:], ""))
    return out


def _last_paragraph(lines: list[str]) -> int:
    i = len(lines)
    while i > 0 and not lines[i - 1].strip():
        i -= 1
    while i > 0 and lines[i - 1].strip() and not _ROLE_LINE.match(lines[i - 1]):
        i -= 1
    return i


def _query_parts(query: str) -> tuple[str, str | None]:
    """(input lines through the last variable, answer line or ``None``)."""
    lines = query.rstrip().split("\n")
    last = max((i for i, line in enumerate(lines) if _VARIABLE.search(line)), default=None)
    tail = lines[-1].strip() if lines else ""
    answer = (
        tail if tail.endswith(":") and len(tail) <= 60 and not _VARIABLE.search(tail)
        and (last is None or last < len(lines) - 1) else None
    )
    end = len(lines) - 1 if answer is not None else len(lines)
    if last is not None:
        end = last + 1
    return "\n".join(lines[:end]), answer


def _insert(
    segs: list[Segment], p: int, fresh: list[Segment], tail_sep: str
) -> tuple[Segment, ...]:
    """``fresh`` inserted at ``p``; separators fixed so that every segment but the last has one."""
    if not fresh:
        return tuple(segs)
    if p > 0 and not segs[p - 1].sep:
        segs[p - 1] = replace(segs[p - 1], sep="\n")
    fresh[-1] = replace(fresh[-1], sep=tail_sep if p < len(segs) else "")
    out = [*segs[:p], *fresh, *segs[p:]]
    if out:
        out[-1] = replace(out[-1], sep="")
    return tuple(out)


def _stronger(a: str, b: str) -> str:
    return a if a.count("\n") >= b.count("\n") else b
