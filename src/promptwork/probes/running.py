"""Running probes: the paraphrases, the one ordinary run of originals + derived cells, then the
figures (kept with the run for the workbench). The Python API of ``promptwork probe``."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from promptwork.evaluation import EvalRun, aevaluate
from promptwork.events import Subscriber
from promptwork.probes.base import Probe, ProbeReport
from promptwork.probes.measure import measure_run, report_dict
from promptwork.probes.paraphrase import write_paraphrases
from promptwork.probes.plan import ProbePlan, plan_probes
from promptwork.providers.base import Provider
from promptwork.runner import RunConfig
from promptwork.store import Store
from promptwork.store.probes import run_cells, save_probe_reports
from promptwork.suite import Suite


@dataclass
class ProbeRun:
    """A finished probe run: the stored run, its plan and each probe's figures per column."""

    run: EvalRun
    plan: ProbePlan
    reports: list[ProbeReport]
    paraphrase_calls: int = 0

    @property
    def data(self) -> list[dict[str, Any]]:
        """The reports as JSON-able data."""
        return [report_dict(r) for r in self.reports]

    @property
    def failed(self) -> list[ProbeReport]:
        """The reports over their threshold."""
        return [r for r in self.reports if r.passed is False]


async def arun_probes(
    suite: Suite, probes: Sequence[Probe], *, db: str | None = None,
    config: RunConfig | None = None, resume: str | None = None, max_tests: int | None = None,
    fail_over: float | None = None, subscribers: Iterable[Subscriber] = (),
    providers: dict[int, Provider] | None = None,
) -> ProbeRun:
    """Derive, run (through the Runner, like ``eval``) and measure ``probes`` on ``suite``."""
    config = config or RunConfig()
    originals = list(suite.tests)[:max_tests] if max_tests else list(suite.tests)
    store = Store.for_folder(suite.base_dir, db)
    try:
        calls = await write_paraphrases(probes, originals, store if config.use_cache else None)
    finally:
        store.close()
    plan = plan_probes(suite, probes, max_tests)
    run = await aevaluate(plan.suite, db=db, config=config, resume=resume,
                          subscribers=subscribers, providers=providers)
    reports = measure_run(plan, run_cells(run.store, run.id), run.prompt_labels,
                          run.provider_labels, fail_over)
    save_probe_reports(run.store, run.id, [report_dict(r) for r in reports])
    return ProbeRun(run, plan, reports, calls)
