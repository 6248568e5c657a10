"""The evaluation runner: prompts x providers x tests x repeats, run, graded and stored.

Cells are expanded lazily in windows of tests so that huge test files stream. Within a window the
cells of one prompt follow each other for each provider, so an embedded model reuses the KV cache
of the shared prefix, and a batching provider receives them as one group. Every finished cell is
written to the store at once; a resumed run skips the cells already stored.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
from collections.abc import Coroutine, Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from sqlalchemy.exc import SQLAlchemyError

from promptwork.calls import CallPolicy, ModelCaller
from promptwork.cases import CellKey, CellResult, TestCase
from promptwork.chaining import StoredOutputs, store_as, windows, with_names
from promptwork.checks.base import CheckError, CheckResult, CheckSpec
from promptwork.checks.errors import GRADER
from promptwork.checks.grade import CROSS_PROMPT, UNDECIDED, answer_context, final_grade, grade_cell
from promptwork.checks.judge import select_best
from promptwork.checks.registry import MODEL_GRADED, render_value, value_variables
from promptwork.checks.selection import max_score_results
from promptwork.checks.similarity import MEASURING_CHECKS, run_settings
from promptwork.errors import (
    ConfigError,
    MissingVariableError,
    ParamError,
    ProviderError,
    TemplateError,
)
from promptwork.events import CellFinished, Event, Retrying, RunFinished, RunStarted, Subscriber
from promptwork.grading import GraderPool, provider_ref
from promptwork.inputcheck import check_test_inputs
from promptwork.limits import Limits, RunLimits
from promptwork.providers.base import Provider
from promptwork.providers.registry import create_provider
from promptwork.store import Store
from promptwork.store.columnfigures import store_column_figures
from promptwork.suite import (
    PromptEntry,
    ProviderEntry,
    Suite,
    effective_params,
    provider_allows,
)
from promptwork.suiteenv import applied as suite_env
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
    #: Embedded models decode with llama.cpp's stock kernels (``--fast-decoding``): faster, but
    #: an answer may depend on which cells share its batch.
    fast_decoding: bool = False
    #: Grading providers by id, to inject fakes in tests.
    graders: dict[str, Provider] = field(default_factory=dict)
    #: ``--max-calls`` / ``--max-cost``: the run stops cleanly (resumable) when one is reached.
    limits: Limits = field(default_factory=Limits)
    #: Generation parameters over every other level (command-line ``-p``).
    params: Params | None = None


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
        if suite.extensions is not None:  # promptfoo's hooks (promptwork.extensions)
            self.subscribers.append(suite.extensions.subscriber())
        self._injected = providers or {}
        self.run_id: str | None = None
        #: Cells of tests with a ``select-best`` check, per test, until the window ends.
        self._compared: dict[int, list[tuple[CellKey, str, list[tuple[CheckSpec, CheckResult]]]]]
        self._compared = {}
        self._stored = StoredOutputs()  # storeOutputAs values, fed to later tests
        #: Found by :meth:`_validate_tests`, for the recorded settings: one ``similar``-like
        #: check per distinct way of measuring, and whether a model-graded check names no grader.
        self._measuring: dict[str, CheckSpec] = {}
        self._default_graded = False
        limits = self.config.limits
        if suite.options.max_eval_time_ms is not None and limits.max_time_s is None:
            limits = replace(limits, max_time_s=suite.options.max_eval_time_ms / 1000)
        self.limits = RunLimits(limits)
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
        if self.config.fast_decoding and entry.id.startswith("local:"):
            return {**entry.config, "decoding": "fast"}
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
        stored: list[str] = []  # names earlier tests store with storeOutputAs
        for test in self._tests():
            count += 1
            for prompt in self.suite.prompts:
                check_test_inputs(prompt.template, test)
                for name in prompt.template.missing(with_names(test.vars, stored)):
                    rows = missing.setdefault(name, [])
                    if len(rows) < 5:
                        rows.append(test.source or f"tests[{test.index}]")
            known = with_names(test.vars, stored)
            # A check's files stay inside the suite folder (unless allowed), like every file://.
            self.suite.tests.confine_check_files(test, self.suite.path)
            for spec in test.checks:  # assert values are templates over the same vars
                self._note_check(spec, test)
                for name in sorted(value_variables(spec) - known.keys()):
                    rows = missing.setdefault(name, [])
                    if len(rows) < 5:
                        rows.append(f"{test.source or f'tests[{test.index}]'} {spec.name} value")
            stores = store_as(test)
            if stores is not None and stores not in stored:
                stored.append(stores)
        if missing:
            raise MissingVariableError(sorted(missing), self.suite.path, where=missing)
        if count == 0:
            raise ConfigError("the suite has no tests", self.suite.path)
        return count

    def _note_check(self, spec: CheckSpec, test: TestCase) -> None:
        """Remember what the run summary says about a check: how ``similar`` measures, and
        whether the default grader grades it (no grader on the check nor its test)."""
        if spec.type in MEASURING_CHECKS:
            way = repr((spec.type, spec.config.get("method"), spec.config.get("provider")))
            self._measuring.setdefault(way, spec)
        if spec.type in MODEL_GRADED and not self._default_graded:
            self._default_graded = (provider_ref(spec.config.get("provider")) is None
                                    and provider_ref(test.options.get("provider")) is None)

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
                params = effective_params(entry, prompt, self.config.params)
                try:
                    provider.check_params(params)
                except ParamError as exc:
                    raise ParamError(f"prompt {prompt.label!r} on provider {entry.label!r}: "
                                     f"{exc.message}", self.suite.path) from None
                pairs.append(_Pair(prompt, entry, provider, caller, params))
        return pairs

    def _limited(self, providers: list[Provider]) -> list[Provider]:
        """The providers, wrapped so that ``--max-calls``/``--max-cost`` hold
        (:mod:`promptwork.limits`); an unknown price with ``--max-cost`` fails here."""
        self.limits.check_prices(providers)
        return [self.limits.wrap(p) for p in providers]

    def _on_retry(self, provider: str, attempt: int, wait: float, error: ProviderError) -> None:
        self.emit(Retrying(provider, attempt, wait, str(error)))

    def settings(self, providers: Sequence[Provider], repeat: int) -> dict[str, Any]:
        """What is recorded with the run: prompts, providers (and their decoding settings), and
        the effective generation parameters of each provider x prompt."""
        return {
            "prompts": [{"label": p.label, "hash": p.template.content_hash,
                         "path": p.template.path} for p in self.suite.prompts],
            "providers": [{"id": e.id, "label": e.label, "settings": prov.describe()}
                          for e, prov in zip(self.suite.providers, providers, strict=True)],
            "params": [{"prompt": p.label, "provider": e.label,
                        "params": effective_params(e, p, self.config.params).given()}
                       for e in self.suite.providers for p in self.suite.prompts
                       if provider_allows(e, p)],
            "repeat": repeat,
            "cache": self.config.use_cache and self.suite.options.cache,
            "metrics": self.suite.metrics,
            # Model-graded checks that name no grader use this one (promptfoo's key rule);
            # ``default_grader_used``: whether any check of the suite does.
            "default_grader": self.graders.default.describe(),
            "default_grader_used": self._default_graded,
            # How similarity-measuring checks measure (``auto`` resolved on this machine).
            "similarity": run_settings(self._measuring.values()),
        }

    # -- running -----------------------------------------------------------------------------

    async def run(self, resume: str | None = None) -> str:
        """Run (or resume) the suite; returns the run id."""
        with suite_env(self.suite.env):  # promptfoo's ``env:``, for this run only
            return await self._run(resume)

    async def _run(self, resume: str | None) -> str:
        n_tests = self._validate_tests()
        providers = self._limited(self._providers())
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
            # Error cells (failed model or grader calls, ...) have no verdict: they are redone.
            self.store.drop_errors(run_id)
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
            for window in windows(self._tests(), self.config.window):
                await self._run_window(run_id, window, pairs, repeat, done)
                if self.limits.stopped:
                    break
            status = "interrupted" if self.limits.stopped else "complete"
        except (asyncio.CancelledError, KeyboardInterrupt):
            status = "interrupted"
            raise
        finally:
            self.store.finish_run(
                run_id, status, {"stopped": self.limits.stopped} if self.limits.stopped else None)
            # The matrix's column summary, once. A cache of what the store already holds: if
            # storing it fails, the run's first open computes it again; the run's own outcome
            # (or exception) must not be lost to it.
            with contextlib.suppress(SQLAlchemyError):
                store_column_figures(self.store, run_id)
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
        self._stored.remember(self.store, run_id, window)

    async def _run_group(
        self, run_id: str, cells: list[tuple[_Pair, TestCase, int]]
    ) -> None:
        """Run cells that share one provider (and usually one prompt) as one call group."""
        cells = [(pair, self._stored.test_for(pair.prompt.index, pair.provider_entry.index, test),
                  r) for pair, test, r in cells]
        rendered: list[RenderedPrompt | TemplateError] = []
        for pair, test, _ in cells:
            try:
                rendered.append(replace(pair.prompt.template.render(
                    test.vars, test.options.get("prefix", ""), test.options.get("suffix", ""),
                    {"id": pair.provider.id, "label": pair.provider_entry.label}),
                    vars=test.vars))  # file://provider.py gets them (promptfoo's context.vars)
            except TemplateError as exc:
                rendered.append(exc)
        items = [(p, pair.params) for (pair, _, _), p in zip(cells, rendered, strict=True)
                 if isinstance(p, RenderedPrompt)]
        repeats = [r + (t.probe.sample if t.probe is not None else 0)  # a probe's own sample
                   for (_, t, r), p in zip(cells, rendered, strict=True)
                   if isinstance(p, RenderedPrompt)]
        if self.suite.extensions is not None:
            for (_, test, _), prompt in zip(cells, rendered, strict=True):
                if isinstance(prompt, RenderedPrompt):
                    self.suite.extensions.before_each(test)
        caller = cells[0][0].caller
        outcomes = iter(await caller.call_many(items, repeats) if items else [])
        delay = self.suite.options.delay_ms
        from_cache: list[tuple[CellResult, str, str]] = []
        for (pair, test, r), prompt in zip(cells, rendered, strict=True):
            key = CellKey(pair.prompt.index, pair.provider_entry.index, test.index, r)
            if isinstance(prompt, TemplateError):
                cell = CellResult(key, test.vars, error=str(prompt), error_kind="template")
            else:
                outcome = next(outcomes)
                if self.limits.refused(outcome):
                    continue  # never sent (--max-calls/--max-cost): the run stops; resumable
                cell = await self._grade(key, test, prompt, outcome, pair)
            cell.params = pair.params.given()
            cell.description = test.description
            cell.probe = test.probe
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
                 if any(spec.type in CROSS_PROMPT for spec in t.checks)}
        if not tests:
            return
        for row in self.store.test_results(run_id, list(tests)):
            grading = row["grading"]
            if row["error"] is not None or not isinstance(grading, dict):
                continue
            test = tests[row["test_idx"]]
            parts = [CheckResult.from_dict(c) for c in grading.get("components") or ()]
            if len(parts) != len(test.checks) or not any(
                    spec.type in CROSS_PROMPT and part.reason == UNDECIDED
                    for spec, part in zip(test.checks, parts, strict=True)):
                continue
            key = CellKey(row["prompt_idx"], row["provider_idx"], row["test_idx"],
                          row["repeat_idx"])
            self._compared.setdefault(test.index, []).append(
                (key, row["output"] or "", list(zip(test.checks, parts, strict=True))))

    async def _select_best(self, run_id: str, tests: dict[int, TestCase]) -> None:
        """promptfoo's cross-prompt checks, per test (and repeat), among its prompts and models:
        ``select-best`` (one grader call picks the best output) and ``max-score`` (the output
        whose other checks score highest); the chosen cell passes the check, the others fail it."""
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
                failed: str | None = None
                for n, (spec, _) in enumerate(group[0][2]):
                    if spec.type == "max-score":  # decided from the other checks' scores
                        decided = max_score_results(spec, [graded for _k, _o, graded in group])
                        for (_key, _out, graded), result in zip(group, decided, strict=True):
                            if result is not None:
                                graded[n] = (spec, result)
                        continue
                    if spec.type != "select-best":
                        continue
                    criteria = str(render_value(spec.value, test.vars))
                    try:  # the check's provider goes whole: its config (base_url) counts
                        # and its (or its test's) rubricPrompt, as promptfoo passes it.
                        winner = await select_best(
                            [c[1] for c in group], criteria, grader, spec.config.get("provider"),
                            rubric_prompt=spec.config.get("rubricPrompt"), variables=test.vars,
                            base_dir=self.suite.base_dir)
                        reason = None if winner is not None else "grader gave no valid choice"
                    except ProviderError as exc:
                        failed = f"{spec.name}: grader call failed: {exc}"
                        break
                    except CheckError as exc:  # the user's rubricPrompt: the check fails
                        winner, reason = None, str(exc)
                    for i, (_key, _out, graded) in enumerate(group):
                        won = winner == i
                        graded[n] = (spec, CheckResult(
                            won, 1.0 if won else 0.0,
                            reason or ("chosen as the best output" if won
                                       else f"output {winner + 1 if winner is not None else '?'}"
                                       f" of {len(group)} was chosen"),
                            spec.metric, "select-best"))
                if failed is not None:  # no verdict: these cells are errors, redone by --resume
                    for key, _out, _graded in group:
                        self.store.set_error(run_id, key, failed, GRADER)
                    continue
                for key, _out, graded in group:
                    self.store.update_grade(run_id, key, final_grade(graded, test.threshold))

    async def _grade(
        self, key: CellKey, test: TestCase, prompt: RenderedPrompt,
        outcome: Completion | ProviderError, pair: _Pair,
    ) -> CellResult:
        text = prompt.as_text()
        if isinstance(outcome, ProviderError):
            return CellResult(key, test.vars, text, error=str(outcome), error_kind=outcome.kind)
        ctx = answer_context(
            outcome, vars=test.vars, prompt_text=text, provider_id=pair.provider.id,
            provider_config=pair.provider_entry.config, params=pair.params,
            base_dir=self.suite.base_dir,
            grader=self.graders.for_test(test.options) if test.checks else None,
        )
        graded = await grade_cell(test.checks, ctx, threshold=test.threshold,
                                  options=test.options)
        if graded.error is not None:
            return CellResult(key, test.vars, text, outcome, error=graded.error.message,
                              error_kind=graded.error.kind, error_detail=graded.error.detail)
        if graded.pending:
            # Decided across the prompts and models of this test once they have all answered.
            self._compared.setdefault(test.index, []).append(
                (key, graded.output, list(graded.checks)))
        return CellResult(key, test.vars, text, outcome, graded.grade)


def _batch_size(provider: Provider) -> int:
    if not provider.capabilities.batching:
        return 1
    return max(1, int(getattr(provider, "batch_size", 16)))
