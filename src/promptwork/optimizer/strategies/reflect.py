"""Reflection (GEPA-style): rewrite an instruction from its failures on a small minibatch.

Each attempt picks a parent from the per-example Pareto pool of the candidates raced so far (a
candidate is in the pool when it is best, ties included, on at least one validation example;
its chance is proportional to the number of such examples, as in Agrawal et al. 2025), scores it
on a few training examples, and shows the proposer its instruction with every example's input,
output, expected answer and the checks' reason. The rewrite is scored on the same minibatch and
is proposed for racing only when its summed metric there is strictly higher than the parent's.
Minibatch scores are ordinary evaluator scores: they are charged to the task budget once and
cached.
"""

from __future__ import annotations

from collections.abc import Sequence

from promptwork.optimizer.budget import BudgetExhausted, ExampleScore
from promptwork.optimizer.candidate import Candidate
from promptwork.optimizer.data import Example
from promptwork.optimizer.search import race_cost
from promptwork.optimizer.state import SearchState
from promptwork.optimizer.strategies.components import short
from promptwork.optimizer.strategies.instructions import Proposer, clean_instruction, input_text

REFLECT = (
    "You are improving the instruction of a prompt for a language model. The current "
    "instruction is:\n\n{instruction}\n\nHere is how the model did with it on some inputs, with "
    "the evaluator's feedback:\n\n{examples}\n\nWrite an improved instruction that fixes the "
    "failures and keeps what works, for any input of this task. Reply with the instruction "
    "only.\n\nImproved instruction:"
)
#: Longest input or output shown to the proposer, in characters.
SHOWN = 400


def pareto_pool(state: SearchState) -> list[tuple[Candidate, int]]:
    """Raced candidates best (ties included) on at least one validation example they were
    scored on, with how many such examples each leads, in history order.

    Examples that no candidate scores above 0 on are skipped (every candidate would tie there).
    """
    candidates: dict[str, Candidate] = {}
    for scored in state.history:
        candidates.setdefault(scored.candidate.hash, scored.candidate)
    leads = dict.fromkeys(candidates, 0)
    cache = state.evaluator.cache
    for example in state.data.val:
        values = {}
        for h in candidates:
            found = cache.peek(h, example.index)
            if found is not None:
                values[h] = found.value(state.metric)
        top = max(values.values(), default=0.0)
        if top <= 0:
            continue
        for h, value in values.items():
            if value == top:
                leads[h] += 1
    return [(candidates[h], n) for h, n in leads.items() if n > 0]


def pick_parent(state: SearchState) -> Candidate:
    """A parent drawn from :func:`pareto_pool` in proportion to the examples it leads (with
    ``state.rng``); the incumbent when the pool is empty."""
    pool = pareto_pool(state)
    if not pool:
        return state.best.candidate
    return state.rng.choices([c for c, _ in pool], weights=[n for _, n in pool], k=1)[0]


def reflection_prompt(
    candidate: Candidate, examples: Sequence[Example], scores: Sequence[ExampleScore],
    variables: frozenset[str],
) -> str:
    """The proposer's prompt: the instruction, then each example with output and feedback."""
    parts = []
    for e, s in zip(examples, scores, strict=True):
        output = s.output if s.output is not None else f"(no answer: {s.error or 'error'})"
        lines = [f"Input: {short(input_text(e.vars, variables), SHOWN)}",
                 f"Model output: {short(output, SHOWN) or '(empty)'}"]
        if e.reference is not None:
            lines.append(f"Expected answer: {short(e.reference, SHOWN)}")
        verdict = "correct" if s.passed else "wrong"
        lines.append(f"Feedback: {verdict}" + (f"; {s.reason}" if s.reason else ""))
        parts.append("\n".join(lines))
    instruction = candidate.layout.instruction.strip() or "(no instruction)"
    return REFLECT.format(instruction=instruction, examples="\n\n".join(parts))


def total(scores: Sequence[ExampleScore], metric: str) -> float:
    return sum(s.value(metric) for s in scores)


class ReflectStrategy:
    """GEPA-style reflective instruction rewriting, accepted only on minibatch improvement.

    Args:
        proposer: The model that rewrites instructions.
        minibatch: Training examples each parent and its rewrite are scored on.
        per_round: Reflection attempts per round.
    """

    name = "reflect"

    def __init__(self, proposer: Proposer, minibatch: int = 3, per_round: int = 2):
        self.proposer = proposer
        self.minibatch = minibatch
        self.per_round = per_round
        self._asked = 0
        self._tried: set[str] = set()
        self._accepted: list[Candidate] = []

    async def propose(self, state: SearchState) -> list[Candidate]:
        """Accepted rewrites not raced yet (a trimmed race), then this round's new ones."""
        accepted = [c for c in self._accepted if c.hash not in state.seen]
        if state.data.train and self.minibatch > 0:
            try:
                for _ in range(self.per_round):
                    reserve = race_cost(len(accepted) + 1, len(state.data.val))
                    found = await self.attempt(state, pick_parent(state), reserve)
                    if found is not None:
                        accepted.append(found)
            except BudgetExhausted:
                pass
        self._accepted = accepted
        return list(accepted)

    def _batch(self, state: SearchState) -> list[Example]:
        train = list(state.data.train)
        return state.rng.sample(train, min(self.minibatch, len(train)))

    async def attempt(
        self, state: SearchState, parent: Candidate, reserve: int = 0
    ) -> Candidate | None:
        """One reflection on ``parent``: the accepted rewrite, or ``None``.

        Nothing is spent unless scoring the parent and a rewrite on the minibatch leaves
        ``reserve`` calls (enough to race what was accepted).

        Raises:
            BudgetExhausted: Scoring the minibatch costs more than the budget has left.
        """
        evaluator, metric = state.evaluator, state.metric
        for _ in range(2):  # a minibatch without a failure is redrawn once
            batch = self._batch(state)
            if evaluator.cost(parent, batch) + len(batch) + reserve > state.budget.remaining:
                return None
            before = await evaluator.score(parent, batch)
            if any(s.value(metric) < 1.0 for s in before):
                break
        else:
            return None
        prompt = reflection_prompt(parent, batch, before, state.seed_prompt.variables)
        self._asked += 1
        text = clean_instruction(await self.proposer.ask(prompt, self._asked))
        if text is None:
            return None
        child = parent.derive(layout=parent.layout.with_instruction(text), origin="reflect",
                              note=parent.then(f"reflected instruction {short(text)!r}"),
                              edits=())
        if (child.hash == parent.hash or child.hash in self._tried or child.hash in state.seen
                or not evaluator.valid(child)):
            return None
        self._tried.add(child.hash)
        after = await evaluator.score(child, batch)
        return child if total(after, metric) > total(before, metric) else None
