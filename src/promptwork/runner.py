"""The evaluation runner: prompts x providers x tests x repeats, run, graded and stored.

Cells are expanded lazily in windows of tests so that huge test files stream. Within a window the
cells of one prompt follow each other for each provider, so an embedded model reuses the KV cache
of the shared prefix, and a batching provider receives them as one group. Every finished cell is
written to the store at once; a resumed run skips the cells already stored.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Coroutine, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from promptwork.calls import CallPolicy, ModelCaller
from promptwork.cases import CellKey, CellResult, TestCase
from promptwork.checks.base import CheckContext, CheckResult, CheckSpec, aggregate
from promptwork.checks.judge import UNDECIDED, select_best
from promptwork.checks.registry import arun_check, render_value
from promptwork.errors import ConfigError, MissingVariableError, ProviderError, TemplateError
from promptwork.events import CellFinished, Event, Retrying, RunFinished, RunStarted, Subscriber
from promptwork.grading import GraderPool
from promptwork.providers.base import Provider
from promptwork.providers.registry import create_provider
from promptwork.store import Store
from promptwork.suite import PromptEntry, ProviderEntry, Suite, provider_allows
from promptwork.types import Completion, Params, RenderedPrompt

#: Tests expanded at a time; bounds memory and keeps one prompt's cells together.
WINDOW = 256
#: Leftover groups smaller than this are merged across prompts for batching providers.
MERGE_BELOW = 4
#: Default concurrency for embedded models (one call at a time per loaded model).
LOCAL_CONCURRENCY = 1


@dataclass
class RunConfig:
    """Options of one evaluation run (command-line flags override the suite's)."""

    max_concurrency: int | None = None
    repeat: int | None = None
    use_cache: bool = True
    policy: CallPolicy = field(default_factory=CallPolicy)
    window: int = WINDOW
    max_tests: int | None = None
    #: Embedded models decode one call at a time instead of in batches (``--sequential``).
    sequential: bool = False
    #: Grading providers by id, to inject fakes in tests.
    graders: dict[str, Provider] = field(default_factory=dict)


@dataclass
class _Pair:
    prompt: PromptEntry
    provider_entry: ProviderEntry
    provider: Provider
    caller: ModelCaller
    params: Params


class Runner:
    """Runs a suite.

    Args:
        suite: The validated suite.
        store: Where runs and results go (required: results are never only in memory).
        config: Run options.
        subscribers: Called with every :class:`Event` (progress bars, web UI...).
        providers: Provider instances by provider index, to inject fakes in tests.
    """

    def __init__(
        self,
        suite: Suite,
        store: Store,
        config: RunConfig | None = None,
        subscribers: Iterable[Subscriber] = (),
        providers: dict[int, Provider] | None = None,
    ):
        self.suite = suite
        self.store = store
        self.config = config or RunConfig()
        self.subscribers = list(subscribers)
        self._injected = providers or {}
        self.run_id: str | None = None
        #: Cells of tests with a ``select-best`` check, per test, until the window ends.
        self._compared: dict[int, list[tuple[CellKey, str, list[tuple[CheckSpec, CheckResult]]]]]
        self._compared = {}
        self.graders = GraderPool(
            store if self.config.use_cache and suite.options.cache else None,
            self.config.policy, suite.options.max_concurrency, self.config.graders)

    def emit(self, event: Event) -> None:
        for subscriber in self.subscribers:
            subscriber(event)

    # -- preparation: every input error before any model call --------------------------------

    def _providers(self) -> list[Provider]:
        return [
            self._injected.get(e.index) or create_provider(e.id, self._config_of(e), e.label)
            for e in self.suite.providers
        ]

    def _config_of(self, entry: ProviderEntry) -> dict[str, Any]:
        if self.config.sequential and entry.id.startswith("local:"):
            return {**entry.config, "decoding": "sequential"}
        return entry.config

    def _tests(self) -> Iterator[TestCase]:
        tests = iter(self.suite.tests)
        if self.config.max_tests is not None:
            return itertools.islice(tests, self.config.max_tests)
        return tests

    def _validate_tests(self) -> int:
        """Count tests and check that every prompt has its variables in every test."""
        missing: dict[str, list[str]] = {}
        count = 0
        for test in self._tests():
            count += 1
            for prompt in self.suite.prompts:
                for name in prompt.template.missing(test.vars):
                    rows = missing.setdefault(name, [])
                    if len(rows) < 5:
                        rows.append(test.source or f"tests[{test.index}]")
        if missing:
            raise MissingVariableError(sorted(missing), self.suite.path, where=missing)
        if count == 0:
            raise ConfigError("the suite has no tests", self.suite.path)
        return count

    def _pairs(self, providers: Sequence[Provider]) -> list[_Pair]:
        options = self.suite.options
        pairs = []
        for entry, provider in zip(self.suite.providers, providers, strict=True):
            is_local = entry.id.startswith("local:")
            concurrency = self.config.max_concurrency or (
                LOCAL_CONCURRENCY if is_local else options.max_concurrency
            )
            if options.delay_ms:
                concurrency = 1
            policy = self.config.policy
            if options.timeout_ms:
                policy = CallPolicy(**{**policy.__dict__, "timeout": options.timeout_ms / 1000})
            caller = ModelCaller(
                provider,
                cache=self.store if self.config.use_cache and options.cache else None,
                policy=policy,
                concurrency=concurrency,
                on_retry=self._on_retry,
            )
            for prompt in self.suite.prompts:
                if not provider_allows(entry, prompt):
                    continue
                params = prompt.template.params
                provider.check_params(params)
                pairs.append(_Pair(prompt, entry, provider, caller, params))
        return pairs

    def _on_retry(self, provider: str, attempt: int, wait: float, error: ProviderError) -> None:
        self.emit(Retrying(provider, attempt, wait, str(error)))

    def settings(self, providers: Sequence[Provider], repeat: int) -> dict[str, Any]:
        """What is recorded with the run: prompts, providers (and their decoding settings)."""
        return {
            "prompts": [{"label": p.label, "hash": p.template.content_hash,
                         "path": p.template.path} for p in self.suite.prompts],
            "providers": [{"id": e.id, "label": e.label, "settings": prov.describe()}
                          for e, prov in zip(self.suite.providers, providers, strict=True)],
            "repeat": repeat,
            "cache": self.config.use_cache and self.suite.options.cache,
            "metrics": self.suite.metrics,
        }

    # -- running -----------------------------------------------------------------------------

    async def run(self, resume: str | None = None) -> str:
        """Run (or resume) the suite; returns the run id."""
        n_tests = self._validate_tests()
        providers = self._providers()
        pairs = self._pairs(providers)
        repeat = self.config.repeat or self.suite.options.repeat
        total = n_tests * len(pairs) * repeat
        fingerprint = self.suite.fingerprint()
        prompts = [(p.template.raw, p.label, p.template.content_hash) for p in self.suite.prompts]
        done: set[CellKey] = set()
        if resume is not None:
            record = self.store.get_run(resume or None)
            if record.fingerprint != fingerprint:
                raise ConfigError(
                    f"the suite, a prompt or a data file changed since run {record.id}; "
                    "results would not match. Start a new run instead of resuming"
                )
            if record.total_cells != total or record.settings.get("repeat", repeat) != repeat:
                raise ConfigError(
                    f"run {record.id} has {record.total_cells} cells (repeat "
                    f"{record.settings.get('repeat')}); these options make {total} (repeat "
                    f"{repeat}): resume with the same --repeat and --max-tests, or start a new run"
                )
            run_id = record.id
            done = self.store.done_keys(run_id)
            self.store.set_status(run_id, "running")
            self.store.save_prompts(prompts)
        else:
            # The run and its prompt versions in one transaction.
            run_id = self.store.create_run(
                fingerprint, total, self.settings(providers, repeat), self.suite.description,
                str(self.suite.path) if self.suite.path else None, prompts=prompts,
            )
        self.run_id = run_id
        self.emit(RunStarted(run_id, total, len(done), self.settings(providers, repeat)))
        status = "failed"
        try:
            for window in _chunks(self._tests(), self.config.window):
                await self._run_window(run_id, window, pairs, repeat, done)
            status = "complete"
        except (asyncio.CancelledError, KeyboardInterrupt):
            status = "interrupted"
            raise
        finally:
            self.store.finish_run(run_id, status, None)
            for provider in providers:
                await provider.aclose()
            await self.graders.aclose()
            self.emit(RunFinished(run_id, status))
        return run_id

    async def _run_window(
        self, run_id: str, window: list[TestCase], pairs: Sequence[_Pair], repeat: int,
        done: set[CellKey],
    ) -> None:
        if done:
            self._recall_undecided(run_id, window)
        jobs: list[Coroutine[Any, Any, None]] = []
        # Small leftovers of several prompts on one batching provider are decoded together:
        # a lone cell gains nothing from a shared prefix but still shares the decode steps.
        leftovers: dict[int, list[tuple[_Pair, TestCase, int]]] = {}
        for pair in pairs:
            cells = [
                (pair, test, r) for test in window for r in range(repeat)
                if CellKey(pair.prompt.index, pair.provider_entry.index, test.index, r) not in done
            ]
            size = _batch_size(pair.provider)
            chunks = [cells[i:i + size] for i in range(0, len(cells), size)]
            if size > 1 and chunks and len(chunks[-1]) < MERGE_BELOW:
                leftovers.setdefault(pair.provider_entry.index, []).extend(chunks.pop())
            jobs.extend(self._run_group(run_id, chunk) for chunk in chunks)
        for small in leftovers.values():
            size = _batch_size(small[0][0].provider)
            jobs.extend(self._run_group(run_id, small[i:i + size])
                        for i in range(0, len(small), size))
        await asyncio.gather(*jobs)
        if self._compared:
            await self._select_best(run_id, {t.index: t for t in window})

    async def _run_group(
        self, run_id: str, cells: list[tuple[_Pair, TestCase, int]]
    ) -> None:
        """Run cells that share one provider (and usually one prompt) as one call group."""
        rendered: list[RenderedPrompt | TemplateError] = []
        for pair, test, _ in cells:
            try:
                rendered.append(pair.prompt.template.render(test.vars))
            except TemplateError as exc:
                rendered.append(exc)
        items = [(p, pair.params) for (pair, _, _), p in zip(cells, rendered, strict=True)
                 if isinstance(p, RenderedPrompt)]
        repeats = [r for (_, _, r), p in zip(cells, rendered, strict=True)
                   if isinstance(p, RenderedPrompt)]
        caller = cells[0][0].caller
        outcomes = iter(await caller.call_many(items, repeats) if items else [])
        delay = self.suite.options.delay_ms
        from_cache: list[tuple[CellResult, str, str]] = []
        for (pair, test, r), prompt in zip(cells, rendered, strict=True):
            key = CellKey(pair.prompt.index, pair.provider_entry.index, test.index, r)
            if isinstance(prompt, TemplateError):
                cell = CellResult(key, test.vars, error=str(prompt), error_kind="template")
            else:
                cell = await self._grade(key, test, prompt, next(outcomes), pair)
            row = (cell, pair.prompt.template.content_hash, pair.provider.id)
            if cell.completion is not None and cell.completion.cached:
                from_cache.append(row)  # free to redo: written together below
            else:
                self.store.add_result(run_id, *row)  # a model call's result: committed at once
            self.emit(CellFinished(cell, pair.prompt.label, pair.provider_entry.label))
        self.store.add_results(run_id, from_cache)
        if delay:
            await asyncio.sleep(delay / 1000)

    def _recall_undecided(self, run_id: str, window: list[TestCase]) -> None:
        """On resume: cells answered before the interruption whose ``select-best`` was not
        decided yet join this window's comparison, so the winner is chosen among all of a
        test's cells, not only those answered now."""
        tests = {t.index: t for t in window
                 if any(spec.type == "select-best" for spec in t.checks)}
        if not tests:
            return
        for row in self.store.test_results(run_id, list(tests)):
            grading = row["grading"]
            if row["error"] is not None or not isinstance(grading, dict):
                continue
            test = tests[row["test_idx"]]
            parts = [CheckResult.from_dict(c) for c in grading.get("components") or ()]
            if len(parts) != len(test.checks) or not any(
                    spec.type == "select-best" and part.reason == UNDECIDED
                    for spec, part in zip(test.checks, parts, strict=True)):
                continue
            key = CellKey(row["prompt_idx"], row["provider_idx"], row["test_idx"],
                          row["repeat_idx"])
            self._compared.setdefault(test.index, []).append(
                (key, row["output"] or "", list(zip(test.checks, parts, strict=True))))

    async def _select_best(self, run_id: str, tests: dict[int, TestCase]) -> None:
        """promptfoo's ``select-best``: one grader call per test (and repeat) picks the best
        output among its prompts and models; that cell passes the check, the others fail it."""
        compared, self._compared = self._compared, {}
        for test_index, cells in compared.items():
            test = tests[test_index]
            grader = self.graders.for_test(test.options)
            by_repeat: dict[int, list[tuple[CellKey, str, list[tuple[CheckSpec, CheckResult]]]]]
            by_repeat = {}
            for cell in cells:
                by_repeat.setdefault(cell[0].repeat, []).append(cell)
            for group in by_repeat.values():
                group.sort(key=lambda c: (c[0].prompt, c[0].provider))
                for n, (spec, _) in enumerate(group[0][2]):
                    if spec.type != "select-best":
                        continue
                    criteria = str(render_value(spec.value, test.vars))
                    provider = spec.config.get("provider")
                    try:
                        winner = await select_best([c[1] for c in group], criteria, grader,
                                                   provider if isinstance(provider, str) else None)
                        reason = None if winner is not None else "grader gave no valid choice"
                    except ProviderError as exc:
                        winner, reason = None, f"grader call failed: {exc}"
                    for i, (_key, _out, graded) in enumerate(group):
                        won = winner == i
                        graded[n] = (spec, CheckResult(
                            won, 1.0 if won else 0.0,
                            reason or ("chosen as the best output" if won
                                       else f"output {winner + 1 if winner is not None else '?'}"
                                       f" of {len(group)} was chosen"),
                            spec.metric, "select-best"))
                for key, _out, graded in group:
                    self.store.update_grade(run_id, key, self._final_grade(test, graded))

    async def _grade(
        self, key: CellKey, test: TestCase, prompt: RenderedPrompt,
        outcome: Completion | ProviderError, pair: _Pair,
    ) -> CellResult:
        text = prompt.as_text()
        if isinstance(outcome, ProviderError):
            return CellResult(key, test.vars, text, error=str(outcome), error_kind=outcome.kind)
        ctx = CheckContext(
            output=outcome.text,
            vars=test.vars,
            prompt_text=text,
            latency_ms=None if outcome.cached else outcome.latency_ms,
            cost=outcome.cost,
            logprobs=outcome.logprobs,
            provider_id=pair.provider.id,
            base_dir=self.suite.base_dir,
            grader=self.graders.for_test(test.options) if test.checks else None,
        )
        graded: list[tuple[CheckSpec, CheckResult]] = [
            (spec, await arun_check(spec, ctx)) for spec in test.checks
        ]
        if any(spec.type == "select-best" for spec in test.checks):
            # Decided across the prompts and models of this test once they have all answered.
            self._compared.setdefault(test.index, []).append((key, outcome.text, graded))
        grade = self._final_grade(test, graded)
        return CellResult(key, test.vars, text, outcome, grade)

    def _final_grade(
        self, test: TestCase, graded: list[tuple[CheckSpec, CheckResult]]
    ) -> CheckResult:
        grade = aggregate(graded)
        if test.threshold is not None:
            passed = grade.score >= test.threshold
            grade = CheckResult(passed, grade.score,
                                f"score {grade.score:.2f} vs threshold {test.threshold:g}; "
                                + grade.reason, grade.metric, grade.check_type, grade.components)
        return grade


def _batch_size(provider: Provider) -> int:
    if not provider.capabilities.batching:
        return 1
    return max(1, int(getattr(provider, "batch_size", 16)))


def _chunks(items: Iterator[TestCase], size: int) -> Iterator[list[TestCase]]:
    while True:
        chunk = list(itertools.islice(items, size))
        if not chunk:
            return
        yield chunk
