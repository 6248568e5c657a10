"""Components: drop, add and recombine parts of the instruction (no proposer model needed).

Each round proposes, from the incumbent: the instruction plus each fragment of a small library of
known-useful constraints (the label set, "Answer with one word.", "only the answer"), an answer
line when the query has none (output-format priming), the instruction without each of its
sentences (and without each demo paragraph it already had), and the recombination of the single
edits that helped. They come in that order, which is the order a tight budget races them in.

On a task without reference answers (free text judged by checks: replies, summaries) the
answer-form fragments and the answer line would only cut the text short: :func:`check_fragments`
turns the checks every example shares into instruction sentences instead ("Include "{{ product
}}" in the answer.", "Never write any of: ..."), which the same checks then judge.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence
from typing import Any

from promptwork.checks.base import CheckSpec
from promptwork.optimizer.candidate import Candidate
from promptwork.optimizer.data import Example
from promptwork.optimizer.layout import Layout
from promptwork.optimizer.state import SearchState

#: Fragments that often help small models answer in the expected form.
FRAGMENTS = (
    "Answer with one word.",
    "Answer with only the answer, nothing else.",
    "Read the input carefully before answering.",
)
ANSWER_LINE = "Answer:"
#: Generic fragments for free-text tasks (no answer-form constraint).
GENERATION_FRAGMENTS = ("Read the input carefully before answering.",)
#: Most fragments taken from the checks.
MOST_CHECK_FRAGMENTS = 6

Edit = tuple[str, str]


def label_fragment(labels: Sequence[str]) -> str:
    """``Answer with positive or negative.`` / ``Answer with one of: a, b, c.``"""
    if len(labels) == 2:
        return f"Answer with {labels[0]} or {labels[1]}."
    return f"Answer with one of: {', '.join(labels)}."


def apply_edits(layout: Layout, edits: Sequence[Edit]) -> Layout | None:
    """``layout`` with ``edits`` applied in order; ``None`` when one no longer applies."""
    for op, text in edits:
        if op == "drop":
            index = next((i for i in layout.droppable() if layout.segments[i].text == text), None)
            if index is None:
                return None
            layout = layout.drop(index)
        elif op == "add":
            if _contains(layout.instruction, text):
                return None
            layout = layout.add(text)
        elif op == "answer-line":
            if layout.answer_line is not None:
                return None
            layout = layout.with_answer_line(text)
    return layout


def _contains(haystack: str, needle: str) -> bool:
    norm = re.sub(r"\s+", " ", haystack).lower()
    return re.sub(r"\s+", " ", needle).lower().strip() in norm


def short(text: str, width: int = 60) -> str:
    one = " ".join(text.split())
    return one if len(one) <= width else one[: width - 3] + "..."


def _quoted(values: Iterable[Any]) -> str:
    return ", ".join(f'"{v}"' for v in values)


def _fragment(spec: CheckSpec) -> str | None:
    """An instruction sentence asking for what ``spec`` checks, or ``None``."""
    value = spec.value
    items = [v for v in value if isinstance(v, str) and v.strip()] if isinstance(
        value, list) else []
    text = value.strip().rstrip(".") if isinstance(value, str) and value.strip() else None
    kind = spec.type
    if spec.negate:
        if kind in ("contains", "icontains") and text:
            return f'Never write "{text}".'
        if kind in ("contains-any", "icontains-any", "contains-all", "icontains-all") and items:
            return f"Never write any of: {_quoted(items)}."
        return None
    if kind in ("contains", "icontains") and text:
        return f'Include "{text}" in the answer.'
    if kind == "starts-with" and text:
        return f'Start the answer with "{text}".'
    if kind in ("contains-any", "icontains-any") and items:
        return f"Use at least one of: {_quoted(items)}."
    if kind in ("contains-all", "icontains-all") and items:
        return f"Include each of: {_quoted(items)}."
    if kind in ("llm-rubric", "model-graded-closedqa", "g-eval") and text:
        return f"The answer must meet this requirement: {text}."
    return None


def check_fragments(examples: Sequence[Example], most: int = MOST_CHECK_FRAGMENTS) -> list[str]:
    """Instruction sentences from the checks that every example has, as written (templates
    such as ``{{ product }}`` stay templates, rendered per example): never a check of one test
    only, whose value could be that test's answer."""
    if not examples:
        return []

    def key(spec: CheckSpec) -> str:
        return json.dumps(spec.to_dict(), sort_keys=True, default=str)

    shared = {key(c) for c in examples[0].test.checks}
    for e in examples[1:]:
        shared &= {key(c) for c in e.test.checks}
    out: list[str] = []
    for spec in examples[0].test.checks:
        fragment = _fragment(spec) if key(spec) in shared else None
        if fragment is not None and fragment not in out:
            out.append(fragment)
    return out[:most]


class ComponentStrategy:
    """Drop/add/recombine instruction components.

    Args:
        fragments: The library of fragments to try adding.
        answer_form: Try the answer-form edits (the label set, an answer line); off for free
            text, where they would cut the answer short.
    """

    name = "components"

    def __init__(self, fragments: Sequence[str] = FRAGMENTS, answer_form: bool = True):
        self.fragments = tuple(fragments)
        self.answer_form = answer_form

    def library(self, state: SearchState) -> list[str]:
        out = []
        if state.labels and self.answer_form:
            out.append(label_fragment(state.labels))
        return out + list(self.fragments)

    def single_edits(self, state: SearchState, layout: Layout) -> list[Edit]:
        edits: list[Edit] = [
            ("add", f) for f in self.library(state) if not _contains(layout.instruction, f)
        ]
        if layout.answer_line is None and self.answer_form:
            edits.append(("answer-line", ANSWER_LINE))
        return edits + [("drop", layout.segments[i].text) for i in layout.droppable()]

    async def propose(self, state: SearchState) -> list[Candidate]:
        base = state.best.candidate
        out = []
        for edit in self.single_edits(state, base.layout):
            layout = apply_edits(base.layout, [edit])
            if layout is not None:
                out.append(base.derive(layout=layout, origin="components",
                                       edits=(*base.edits, edit), note=base.then(describe(edit))))
        combined = self.recombine(state)
        return ([combined] if combined is not None else []) + out

    def recombine(self, state: SearchState) -> Candidate | None:
        """The incumbent with every single edit that beat its parent on the same examples."""
        base = state.best.candidate
        helpful: list[Edit] = []
        for scored in state.history:
            cand = scored.candidate
            if cand.origin != "components" or len(cand.edits) != len(base.edits) + 1:
                continue
            if cand.parent != base.hash:
                continue
            gain = state.gain(scored)
            if gain is not None and gain > 0:
                helpful.append(cand.edits[-1])
        if len(helpful) < 2:
            return None
        layout = base.layout
        applied: list[Edit] = []
        for edit in helpful:
            changed = apply_edits(layout, [edit])
            if changed is not None:
                layout, applied = changed, [*applied, edit]
        if len(applied) < 2:
            return None
        return base.derive(layout=layout, origin="components", edits=(*base.edits, *applied),
                           note=base.then("recombined " + ", ".join(describe(e) for e in applied)))


def describe(edit: Edit) -> str:
    op, text = edit
    if op == "drop":
        return f"drop {short(text)!r}"
    if op == "add":
        return f"add {short(text)!r}"
    return f"answer line {text!r}"
