"""Budget accounting and the per-example score cache shared by every search strategy.

The budget counts *task-model evaluations*: one per (prompt text, example) pair that the search
sends to the task model, whether the store's call cache answers it or not. Counting that way makes
a search reproducible (the same seed and budget explore the same candidates, and a second run of
the same command is answered from the cache without a single model call). Every evaluation is
reserved before it is sent; one that would exceed the limit is refused. As a second guard, the
provider handed to the model caller is wrapped so that requests reaching the model (retries
included) can never exceed the limit either. Proposer calls are counted separately.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from promptwork.errors import PromptworkError, ProviderError
from promptwork.providers.base import Provider
from promptwork.providers.wrapping import WrappingProvider
from promptwork.types import Completion, Params, RenderedPrompt, TokenLogprob


class BudgetExhausted(PromptworkError):
    """A request for task-model calls that the remaining budget cannot pay for."""


class Budget:
    """Counts task-model evaluations against a hard limit, and proposer calls beside it.

    Args:
        limit: Most task-model evaluations the search may make.
        proposer_limit: Most proposer calls (``None``: no limit).

    Attributes:
        spent: Evaluations reserved so far (the number reported as "calls used").
        attempts: Requests that reached the task model (cache misses, retries included).
        proposer_calls: Proposer calls reserved so far.
    """

    def __init__(self, limit: int, proposer_limit: int | None = None):
        if limit < 0:
            raise ValueError(f"budget must be >= 0, got {limit}")
        self.limit = limit
        self.proposer_limit = proposer_limit
        self.spent = 0
        self.attempts = 0
        self.proposer_calls = 0

    @property
    def remaining(self) -> int:
        return self.limit - self.spent

    def can_afford(self, n: int) -> bool:
        return n <= self.remaining

    def take(self, n: int) -> None:
        """Reserve ``n`` evaluations, all or nothing.

        Raises:
            BudgetExhausted: Fewer than ``n`` remain; nothing is reserved.
        """
        if n < 0:
            raise ValueError("cannot take a negative number of calls")
        if n > self.remaining:
            raise BudgetExhausted(
                f"{n} more task-model calls requested, {self.remaining} of {self.limit} left"
            )
        self.spent += n

    def refund(self, n: int) -> None:
        """Give back reserved evaluations that were never sent (a prompt that failed to render)."""
        self.spent = max(0, self.spent - n)

    def take_proposer(self) -> bool:
        """Reserve one proposer call; ``False`` when the proposer limit is reached."""
        if self.proposer_limit is not None and self.proposer_calls >= self.proposer_limit:
            return False
        self.proposer_calls += 1
        return True

    def attempt(self) -> None:
        """Count one request about to reach the task model.

        Raises:
            ProviderError: kind ``budget`` (not retryable) when it would exceed the limit.
        """
        if self.attempts >= self.limit:
            raise ProviderError(
                f"task-model budget of {self.limit} calls is used up", kind="budget"
            )
        self.attempts += 1

    def to_dict(self) -> dict[str, Any]:
        return {
            "limit": self.limit,
            "used": self.spent,
            "model_requests": self.attempts,
            "proposer_calls": self.proposer_calls,
        }


class BudgetedProvider(WrappingProvider):
    """Wraps the task provider so that no request beyond the budget ever reaches the model.

    Cache identity and id are the wrapped provider's, so store cache keys do not change.
    """

    def __init__(self, inner: Provider, budget: Budget):
        super().__init__(inner)
        self.budget = budget

    async def complete(self, prompt: RenderedPrompt, params: Params) -> Completion:
        self.budget.attempt()
        return await self.inner.complete(prompt, params)

    async def complete_batch(
        self, requests: Sequence[tuple[RenderedPrompt, Params]]
    ) -> list[Completion | ProviderError]:
        allowed = max(0, min(len(requests), self.budget.limit - self.budget.attempts))
        self.budget.attempts += allowed
        results = list(await self.inner.complete_batch(requests[:allowed])) if allowed else []
        refused = ProviderError(
            f"task-model budget of {self.budget.limit} calls is used up", kind="budget"
        )
        return results + [refused] * (len(requests) - allowed)


@dataclass(frozen=True, slots=True)
class ExampleScore:
    """One candidate's result on one example.

    Attributes:
        index: The example (the suite test's index).
        passed: Every check passed (and the test threshold, if any, was met).
        score: The checks' weighted score.
        output: The model's answer (``None`` on a failed call).
        reason: The checks' reason (or the error).
        error: The call or render error, if any.
        error_kind: ``template`` or the provider error's kind.
        gold_logprob: The log-probability the model gave the reference answer (see
            :func:`gold_logprob`), when the provider returned logprobs.
    """

    index: int
    passed: bool
    score: float
    output: str | None
    reason: str = ""
    error: str | None = None
    error_kind: str | None = None
    gold_logprob: float | None = None

    @property
    def graded(self) -> bool:
        """Whether this result is a verdict. A failed task-model or grader call is not: it is left
        out of means, never counted as a 0. A candidate that does not render is (it scores 0)."""
        return self.error is None or self.error_kind == "template"

    def value(self, metric: str) -> float:
        """The per-example metric: 1/0 for ``pass``, the weighted score for ``score``."""
        return self.score if metric == "score" else (1.0 if self.passed else 0.0)


#: The gold log-probability of an answer that shows no trace of the gold answer.
GOLD_FLOOR = -20.0


def gold_logprob(
    gold: str | None, output: str, logprobs: Sequence[TokenLogprob] | None
) -> float | None:
    """The log-probability the model gave the gold answer, approximated from one answer's logprobs.

    - The output starts with the gold answer (after leading whitespace): the sum of the logprobs of
      the tokens that cover it (exact, but for a last token running past the answer's end).
    - Else, the sampled token or one of the most likely tokens (``top_logprobs``) at the first
      position is a prefix of the gold answer: that token's logprob (a bound on the answer's
      logprob from above, and on the first token only).
    - Else :data:`GOLD_FLOOR`: the true value is lower than the alternatives seen, not known.

    Returns ``None`` without a gold answer or without logprobs. Matching is case-sensitive.
    """
    target = (gold or "").strip()
    if not target or not logprobs:
        return None
    body = output.lstrip()
    if body.startswith(target):
        need, covered, total = len(output) - len(body) + len(target), 0, 0.0
        for token in logprobs:
            if covered >= need:
                break
            total += token.logprob
            covered += len(token.token)
        return total
    first = logprobs[0]
    found = [t.logprob for t in (first, *first.top)
             if t.token.strip() and target.startswith(t.token.strip())]
    return max(found) if found else GOLD_FLOOR


def gold_mean(scores: Sequence[ExampleScore]) -> float | None:
    """Mean gold logprob over ``scores``; ``None`` unless every one has it."""
    values = [s.gold_logprob for s in scores]
    if not values or any(v is None for v in values):
        return None
    return math.fsum(v for v in values if v is not None) / len(values)


def text_hash(text: str) -> str:
    """sha256 of a prompt text: the identity of a candidate in the score cache."""
    return hashlib.sha256(text.encode()).hexdigest()


class ScoreCache:
    """Scores by (prompt text hash, example index): no pair is ever evaluated twice."""

    def __init__(self) -> None:
        self._scores: dict[tuple[str, int], ExampleScore] = {}
        self.hits = 0

    def __len__(self) -> int:
        return len(self._scores)

    def get(self, prompt_hash: str, index: int) -> ExampleScore | None:
        found = self._scores.get((prompt_hash, index))
        if found is not None:
            self.hits += 1
        return found

    def peek(self, prompt_hash: str, index: int) -> ExampleScore | None:
        """Like :meth:`get` without counting a hit."""
        return self._scores.get((prompt_hash, index))

    def put(self, prompt_hash: str, score: ExampleScore) -> None:
        self._scores[(prompt_hash, score.index)] = score

    def missing(self, prompt_hash: str, indexes: Iterable[int]) -> list[int]:
        """The indexes not yet scored for this prompt."""
        return [i for i in indexes if (prompt_hash, i) not in self._scores]
