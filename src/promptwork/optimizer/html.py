"""The optimization report as one self-contained, offline HTML page.

It is the workbench's optimization page (:mod:`promptwork.views.optimizations`,
``partials/optimization.html``) in the static form of the run report
(:mod:`promptwork.report.html`): the view model is built from the very settings a stored
optimization keeps (:meth:`OptimizeResult.report_record`), so the page, the workbench and the
store show the same numbers, and it is rendered by the one autoescaped template environment
(:mod:`promptwork.templating`): ``report/optimization.html`` on ``base.html`` with
``standalone=True`` (inline CSS, a CSP meta that forbids scripts and every fetch). Prompt texts,
notes, components and labels are untrusted (a proposer model wrote some of them): the
templates escape them all.
"""

from __future__ import annotations

from datetime import UTC, datetime

from markupsafe import Markup

from promptwork.optimizer.result import OptimizeResult
from promptwork.report.html import CSP
from promptwork.store import RunRecord
from promptwork.store.versions import VersionText
from promptwork.templating import environment
from promptwork.version import __version__
from promptwork.views.optimizations import OptimizationView, optimization_view
from promptwork.views.prompts import VersionDiff
from promptwork.views.textdiff import line_diff

__all__ = ["render_html", "result_view"]


def result_view(result: OptimizeResult) -> OptimizationView:
    """The view model of ``result``, from the settings its stored run holds (the same as the
    workbench's page; no cell counts: the page needs no store). A result that was not stored
    gets the same settings built here, its candidates numbered in race order and keyed by the
    hash of their body."""
    settings = result.stored_settings
    if not settings.get("optimize"):
        prompts: list[dict[str, str]] = []
        seen: set[str] = set()
        for scored in [*(s for s in result.history if s.candidate.hash == result.seed.hash),
                       *result.history]:
            cand = scored.candidate
            if cand.hash not in seen:
                seen.add(cand.hash)
                prompts.append({"label": f"#{len(prompts)} {cand.note}", "hash": cand.hash})
        settings = {"kind": "optimize", "prompts": prompts,
                    "optimize": {**result.provenance(), **result.report_record()}}
    now = datetime.now(UTC)
    record = RunRecord(id=result.run_id or "", created_at=now, finished_at=now,
                       status="complete", description=None, suite_path=result.plan.suite_path,
                       fingerprint="", total_cells=0, settings=settings, summary=None)
    seed = VersionText(result.seed.hash, "seed", result.seed.body, now)
    best = VersionText(result.best.hash, "best", result.best.body, now)
    return optimization_view(record, None,
                             VersionDiff(seed, best, line_diff(seed.text, best.text)))


def render_html(result: OptimizeResult) -> str:
    """The report of ``result``: provenance, score-vs-calls chart, seed vs best on the test
    split, diff, ablation and candidates, as one HTML document."""
    return environment().get_template("report/optimization.html").render(
        standalone=True, csp=Markup(CSP),  # noqa: S704 (our constant, quotes kept)
        csrf_token="", extra_style="", version=__version__,
        title=f"promptwork optimize: {result.plan.prompt_label}",
        improved=result.improved, view=result_view(result))
