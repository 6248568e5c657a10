"""Candidates (prompt bodies with provenance), the seed prompt they derive from, and scoring.

A candidate keeps the seed's front matter (parameters, inputs, mode) and changes only the body:
its instruction, its demos, and (for format priming) its answer line. Its variables are always a
subset of the seed's. :class:`Evaluator` scores a candidate on examples through the task model,
charging the budget for every (prompt text, example) pair it has not scored before.
"""

from __future__ import annotations

import asyncio
import functools
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from promptwork.calls import ModelCaller
from promptwork.checks.grade import answer_context, grade_cell
from promptwork.errors import ConfigError, ProviderError, TemplateError
from promptwork.grading import GraderPool
from promptwork.optimizer.budget import Budget, ExampleScore, ScoreCache, gold_logprob, text_hash
from promptwork.optimizer.data import Example
from promptwork.optimizer.layout import Layout, parse_body
from promptwork.prompts import PromptTemplate, _load_prompt_file
from promptwork.templates import TemplateEngine
from promptwork.types import Completion, Params, RenderedPrompt


@dataclass(frozen=True)
class SeedPrompt:
    """The prompt being optimized, as front matter text plus body.

    Attributes:
        template: The loaded seed.
        front: Its YAML front matter (without the ``---`` lines); generated for sources that
            have none (plain text, chat JSON).
        body: Its body: what candidates change.
    """

    template: PromptTemplate
    front: str
    body: str

    @classmethod
    def of(cls, template: PromptTemplate) -> SeedPrompt:
        raw = template.raw
        path = template.path or ""
        if path.lower().endswith(".prompt"):
            lines = raw.splitlines(keepends=True)
            if lines and lines[0].strip() == "---":
                end = next(i for i in range(1, len(lines)) if lines[i].strip() == "---")
                return cls(template, "".join(lines[1:end]), "".join(lines[end + 1:]))
            return cls(template, "", raw)
        if path.lower().endswith(".json"):
            messages = json.loads(raw)
            body = "\n\n".join(f"{m['role']}:\n{m['content']}" for m in messages)
            return cls(template, _front_of(template), body)
        text = raw[:-1] if path and raw.endswith("\n") else raw
        return cls(template, _front_of(template), text)

    def file_text(self, body: str, header: str = "") -> str:
        """A complete ``.prompt`` file: ``header`` (comment lines), front matter, ``body``."""
        return f"---\n{header}{self.front}---\n{body}"

    @property
    def variables(self) -> frozenset[str]:
        return self.template.variables


def _front_of(template: PromptTemplate) -> str:
    data: dict[str, Any] = {}
    if template.meta.name:
        data["name"] = template.meta.name
    if template.params.given():
        data["params"] = template.params.given()
    if template.meta.mode:
        data["mode"] = template.meta.mode
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True) if data else ""


@dataclass(frozen=True)
class Demo:
    """A worked example shown in the prompt.

    Attributes:
        index: The training example it comes from.
        vars: Its variables.
        answer: The answer shown.
        source: ``label`` (a reference answer) or ``bootstrap`` (a passing model output).
    """

    index: int
    vars: Mapping[str, Any]
    answer: str
    source: str = "label"


@dataclass(frozen=True, eq=False)
class Candidate:
    """A prompt body to try, and where it came from.

    Attributes:
        layout: Instruction segments, gap and query.
        demos: Demos inserted before the query.
        origin: The strategy that made it (``seed``, ``demos``, ``components``, ``instructions``).
        note: What was done, in a few words (``drop 'Be brief.'``, ``4 demos``).
        edits: Component edits from the seed's instruction, for recombination and reports.
        verbatim: The exact body (the seed's own text), when it must not be re-rendered.
        parent: Hash of the candidate it was derived from.
    """

    layout: Layout
    demos: tuple[Demo, ...] = ()
    origin: str = "seed"
    note: str = "seed prompt"
    edits: tuple[tuple[str, str], ...] = ()
    verbatim: str | None = None
    parent: str | None = None

    @classmethod
    def seed(cls, seed: SeedPrompt) -> Candidate:
        return cls(parse_body(seed.body), verbatim=seed.body)

    @functools.cached_property
    def body(self) -> str:
        if self.verbatim is not None and not self.demos:
            return self.verbatim
        return self.layout.render(self.layout.demo_texts([(d.vars, d.answer) for d in self.demos]))

    @functools.cached_property
    def hash(self) -> str:
        return text_hash(self.body)

    def then(self, note: str) -> str:
        """``note`` prefixed by how this candidate differs from the seed (if it does)."""
        return note if self.origin == "seed" else f"{self.note}; {note}"

    def derive(self, **changes: Any) -> Candidate:
        """A new candidate from this one (the verbatim text is dropped)."""
        values: dict[str, Any] = {
            "layout": self.layout, "demos": self.demos, "origin": self.origin,
            "note": self.note, "edits": self.edits, "verbatim": None, "parent": self.hash,
        }
        values.update(changes)
        return Candidate(**values)


OnScore = Callable[[Candidate, ExampleScore, str], None]
#: Most likely tokens asked for at each position, where the provider can return them.
TOP_LOGPROBS = 5


class Evaluator:
    """Scores candidates on examples through the task model, with budget and score cache.

    Args:
        seed: The seed prompt (front matter and variables).
        caller: The task model's caller (store cache, retries, concurrency).
        budget: Charged one evaluation per (candidate text, example) not yet scored.
        cache: The per-example score cache.
        allowed: Indexes of the examples this evaluator may send (the search's train and
            validation examples); ``None`` allows any.
        base_dir: Folder that checks' ``file://`` references resolve against.
        graders: The grading models of model-graded checks (``llm-rubric``...).
        on_score: Told about every new per-example score (with the prompt text sent).
        gold_logprobs: Ask for logprobs where they serve (below).
        prompt_params: The suite prompt entry's own ``config`` (over the front matter's).

    Where the task provider supports ``logprobs`` and ``top_logprobs`` (the embedded model), the
    calls of examples with a reference answer ask for them, so that each
    score carries the gold answer's log-probability (a tie-breaker when racing). That changes
    those calls' store cache keys.
    """

    def __init__(
        self,
        seed: SeedPrompt,
        caller: ModelCaller,
        budget: Budget,
        cache: ScoreCache,
        *,
        allowed: frozenset[int] | None = None,
        base_dir: Path | None = None,
        graders: GraderPool | None = None,
        on_score: OnScore | None = None,
        gold_logprobs: bool = True,
        prompt_params: Params | None = None,
    ):
        self.seed = seed
        self.prompt_params = prompt_params or Params()
        self.caller = caller
        self.budget = budget
        self.cache = cache
        self.allowed = allowed
        self.base_dir = base_dir
        self.graders = graders
        self.on_score = on_score
        self._engine = TemplateEngine()
        self._templates: dict[str, PromptTemplate | TemplateError] = {}
        supported = caller.provider.supported_params
        self._logprobs: dict[str, Any] = {}
        # Only where the alternatives come back too (the embedded model): some API models list
        # logprobs yet refuse them, and without alternatives the signal is mostly the floor.
        if gold_logprobs and {"logprobs", "top_logprobs"} <= set(supported):
            self._logprobs = {"logprobs": True, "top_logprobs": TOP_LOGPROBS}

    def template(self, candidate: Candidate) -> PromptTemplate:
        """The candidate as a loaded prompt (cached).

        Raises:
            TemplateError: It does not compile, or uses a variable the seed does not have.
        """
        found = self._templates.get(candidate.hash)
        if found is None:
            try:
                found = _load_prompt_file(
                    self.seed.file_text(candidate.body), self.seed.template.label, self._engine
                )
                extra = found.variables - self.seed.variables
                if extra:
                    found = TemplateError(f"uses variables the seed has not: {sorted(extra)}")
            except ConfigError as exc:
                found = TemplateError(exc.message)
            self._templates[candidate.hash] = found
        if isinstance(found, TemplateError):
            raise found
        return found

    def valid(self, candidate: Candidate) -> bool:
        try:
            self.template(candidate)
        except TemplateError:
            return False
        return True

    def cost(self, candidate: Candidate, examples: Sequence[Example]) -> int:
        """Evaluations that scoring ``candidate`` on ``examples`` would charge."""
        return len(self.cache.missing(candidate.hash, [e.index for e in examples]))

    async def score(
        self, candidate: Candidate, examples: Sequence[Example]
    ) -> list[ExampleScore]:
        """Per-example results, in the order of ``examples``.

        Raises:
            BudgetExhausted: The uncached examples cost more than the budget has left.
            ValueError: An example outside ``allowed`` (the test split during the search).
        """
        return (await self.score_many([(candidate, examples)]))[0]

    async def score_many(
        self, jobs: Sequence[tuple[Candidate, Sequence[Example]]]
    ) -> list[list[ExampleScore]]:
        """Score several candidates at once: their uncached calls go out together (one batch
        for a batching provider), charged all or nothing. Same errors as :meth:`score`."""
        if self.allowed is not None:
            outside = sorted({e.index for _, ex in jobs for e in ex} - self.allowed)
            if outside:
                raise ValueError(f"examples {outside[:5]} are not available to this search")
        todo: dict[tuple[str, int], tuple[Candidate, Example]] = {}
        for cand, examples in jobs:
            for e in examples:
                if self.cache.peek(cand.hash, e.index) is None:
                    todo.setdefault((cand.hash, e.index), (cand, e))
        if todo:
            self.budget.take(len(todo))
            await self._run(list(todo.values()))
        return [[self._get(cand, e.index) for e in examples] for cand, examples in jobs]

    def _get(self, candidate: Candidate, index: int) -> ExampleScore:
        found = self.cache.get(candidate.hash, index)
        assert found is not None
        return found

    def _put(self, candidate: Candidate, score: ExampleScore, prompt_text: str = "") -> None:
        self.cache.put(candidate.hash, score)
        if self.on_score is not None:
            self.on_score(candidate, score, prompt_text)

    async def _run(self, todo: Sequence[tuple[Candidate, Example]]) -> None:
        sendable: list[tuple[Candidate, Example, RenderedPrompt, PromptTemplate]] = []
        for cand, e in todo:
            try:
                template = self.template(cand)
                sendable.append((cand, e, template.render(e.vars), template))
            except TemplateError as exc:
                self._put(cand, ExampleScore(e.index, False, 0.0, None, str(exc), str(exc),
                                             "template"))
        self.budget.refund(len(todo) - len(sendable))
        items = [(prompt, self.params(template.params, e)) for _, e, prompt, template in sendable]
        provider = self.caller.provider
        if provider.capabilities.batching and len(items) > 1:
            size = max(1, int(getattr(provider, "batch_size", 16)))
            groups = await asyncio.gather(*(
                self.caller.call_many(items[i:i + size]) for i in range(0, len(items), size)))
            outcomes = [o for group in groups for o in group]
        else:
            outcomes = list(await asyncio.gather(*(self.caller.call(*item) for item in items)))
        for (cand, e, prompt, _), outcome in zip(sendable, outcomes, strict=True):
            self._put(cand, await self._grade(e, prompt, outcome), prompt.as_text())

    def params(self, params: Params, example: Example) -> Params:
        """The call's parameters, each level over the one before as in eval: the model config,
        the prompt's front matter, the suite prompt entry's ``config``; asking for logprobs
        where they serve."""
        params = self.caller.provider.config_params.merged(params).merged(self.prompt_params)
        if not self._logprobs or example.reference is None or not example.reference.strip():
            return params
        return params.merged(self._logprobs)

    async def _grade(
        self, example: Example, prompt: RenderedPrompt, outcome: Completion | ProviderError
    ) -> ExampleScore:
        if isinstance(outcome, ProviderError):
            return ExampleScore(example.index, False, 0.0, None, str(outcome), str(outcome),
                                outcome.kind)
        test = example.test
        ctx = answer_context(
            outcome, vars=test.vars, prompt_text=prompt.as_text(),
            provider_id=self.caller.provider.id, params=self.params(Params(), example),
            base_dir=self.base_dir,
            grader=self.graders.for_test(test.options) if self.graders and test.checks else None,
        )
        # The one grading path (as in eval); cross-prompt checks were refused at load.
        graded = await grade_cell(test.checks, ctx, threshold=test.threshold,
                                  options=test.options, cross_prompt=False)
        if graded.error is not None:  # no verdict (a failed grader call...): an error, not a 0
            error = graded.error
            return ExampleScore(example.index, False, 0.0, outcome.text, error.message,
                                error.message if error.detail is None else error.record,
                                error.kind)
        grade = graded.grade
        assert grade is not None
        gold = gold_logprob(example.reference, outcome.text, outcome.logprobs)
        return ExampleScore(example.index, grade.passed, grade.score, outcome.text, grade.reason,
                            gold_logprob=gold)
