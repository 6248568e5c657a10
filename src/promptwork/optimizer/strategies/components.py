"""Components: drop, add and recombine parts of the instruction (no proposer model needed).

Each round proposes, from the incumbent: the instruction plus each fragment of a small library of
known-useful constraints (the label set, "Answer with one word.", "only the answer"), an answer
line when the query has none (output-format priming), the instruction without each of its
sentences (and without each demo paragraph it already had), and the recombination of the single
edits that helped. They come in that order, which is the order a tight budget races them in.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from promptwork.optimizer.candidate import Candidate
from promptwork.optimizer.layout import Layout
from promptwork.optimizer.state import SearchState

#: Fragments that often help small models answer in the expected form.
FRAGMENTS = (
    "Answer with one word.",
    "Answer with only the answer, nothing else.",
    "Read the input carefully before answering.",
)
ANSWER_LINE = "Answer:"

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


class ComponentStrategy:
    """Drop/add/recombine instruction components.

    Args:
        fragments: The library of fragments to try adding.
    """

    name = "components"

    def __init__(self, fragments: Sequence[str] = FRAGMENTS):
        self.fragments = tuple(fragments)

    def library(self, state: SearchState) -> list[str]:
        out = []
        if state.labels:
            out.append(label_fragment(state.labels))
        return out + list(self.fragments)

    def single_edits(self, state: SearchState, layout: Layout) -> list[Edit]:
        edits: list[Edit] = [
            ("add", f) for f in self.library(state) if not _contains(layout.instruction, f)
        ]
        if layout.answer_line is None:
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
