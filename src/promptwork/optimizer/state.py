"""What the strategies share during a search: data, evaluator, budget, history, incumbent."""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

from promptwork.optimizer.budget import Budget, ExampleScore
from promptwork.optimizer.candidate import Candidate, Evaluator, SeedPrompt
from promptwork.optimizer.data import Example, SearchData


@dataclass
class Scored:
    """A candidate and how far it got.

    Attributes:
        candidate: The candidate.
        mean: Its mean metric on the validation examples it was scored on.
        n: How many validation examples that was (all of them for a finalist).
        calls: Budget spent when it was last scored.
    """

    candidate: Candidate
    mean: float
    n: int
    calls: int

    def full(self, n_val: int) -> bool:
        return self.n >= n_val


@dataclass
class SearchState:
    """The shared state of one search.

    Attributes:
        seed_prompt: The prompt being optimized.
        seed: The seed as a candidate.
        data: Train and validation examples (never the test split).
        evaluator: Scores candidates (charges the budget).
        budget: The budget.
        rng: The search's random generator (seeded).
        metric: ``pass`` (pass rate) or ``score`` (weighted check score).
        labels: The reference answers when they form a small label set.
        history: Every raced candidate, in order.
        incumbent: The best candidate fully scored on validation so far.
        curve: (calls used, incumbent's validation score) after each step.
        round: Rounds done.
        stop_reason: Why the search stopped (budget spent, no candidates left, round limit),
            set by :func:`promptwork.optimizer.search.search`.
    """

    seed_prompt: SeedPrompt
    seed: Candidate
    data: SearchData
    evaluator: Evaluator
    budget: Budget
    rng: random.Random
    metric: str = "pass"
    labels: list[str] | None = None
    history: list[Scored] = field(default_factory=list)
    incumbent: Scored | None = None
    curve: list[tuple[int, float]] = field(default_factory=list)
    round: int = 0
    seen: set[str] = field(default_factory=set)
    stop_reason: str = ""

    @property
    def best(self) -> Scored:
        assert self.incumbent is not None, "the seed is scored first"
        return self.incumbent

    async def mean(self, candidate: Candidate, examples: Sequence[Example]) -> float:
        """Mean metric of ``candidate`` on ``examples`` (scoring what is not cached)."""
        scores = await self.evaluator.score(candidate, examples)
        return mean_of(scores, self.metric)

    def cached_mean(self, prompt_hash: str, examples: Sequence[Example]) -> float | None:
        """Mean on ``examples`` from the score cache only (``None`` if any is missing)."""
        found = [self.evaluator.cache.peek(prompt_hash, e.index) for e in examples]
        if not found or any(s is None for s in found):
            return None
        return mean_of([s for s in found if s is not None], self.metric)

    def gain(self, scored: Scored) -> float | None:
        """Paired gain over its parent on the validation examples it was scored on."""
        cand = scored.candidate
        if cand.parent is None:
            return None
        done = [e for e in self.data.val if self.evaluator.cache.peek(cand.hash, e.index)]
        mine = self.cached_mean(cand.hash, done)
        theirs = self.cached_mean(cand.parent, done)
        return None if mine is None or theirs is None else mine - theirs

    def fresh(self, candidates: Sequence[Candidate]) -> list[Candidate]:
        """Candidates not raced before (by text), once each, that compile."""
        out = []
        taken = set(self.seen)
        for c in candidates:
            if c.hash in taken or not self.evaluator.valid(c):
                continue
            taken.add(c.hash)
            out.append(c)
        return out


def mean_of(scores: Sequence[ExampleScore], metric: str) -> float:
    """Mean metric over the graded examples (errors, which have no verdict, are left out)."""
    graded = [s for s in scores if s.graded]
    return math.fsum(s.value(metric) for s in graded) / len(graded) if graded else 0.0


class Strategy(Protocol):
    """A search operator: proposes new candidates from the state (the incumbent, the history)."""

    name: str

    async def propose(self, state: SearchState) -> list[Candidate]:
        """New candidates to race (may be empty when it has nothing more to offer)."""
        ...
