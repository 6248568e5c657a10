"""Probe figures for people: the terminal table (Rich), the JSON document and the HTML report
(one page through the shared templates: ``partials/probes.html``).

Works on the JSON-able report dictionaries (:func:`promptwork.probes.measure.report_dict`), so
the workbench shows the figures kept with a run the same way.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from markupsafe import Markup
from rich.table import Table

from promptwork.report.html import CSP
from promptwork.report.terminal import clean, one_line
from promptwork.stats import format_p
from promptwork.templating import environment
from promptwork.version import __version__

OUTPUT_LIMIT = 300


@dataclass(frozen=True)
class ProbeView:
    """One probe x column, formatted."""

    kind: str
    column: str
    metric: str
    n: int
    rate: str
    interval: str
    p_value: str
    threshold: str
    verdict: str
    verdict_class: str
    notes: tuple[str, ...]
    groups: tuple[dict[str, Any], ...]
    worst: tuple[dict[str, Any], ...]


def _pct(x: float | None) -> str:
    return "n/a" if x is None else f"{x:.1%}"


def _p(p: float | None) -> str:
    return "n/a" if p is None else format_p(p).removeprefix("=")


def _status(passed: bool | None) -> str:
    return "ERROR" if passed is None else "PASS" if passed else "FAIL"


def probe_view(report: Mapping[str, Any]) -> ProbeView:
    """A report dictionary as the rows the table and the HTML show."""
    passed = report.get("passed")
    verdict = "no threshold" if passed is None else "pass" if passed else "FAIL"
    groups = tuple({"group": clean(g["group"]), "n": g["n"], "rate": _pct(g["rate"]),
                    "interval": f"{_pct(g['low'])} to {_pct(g['high'])}",
                    "p_value": _p(g.get("p_value"))} for g in report.get("groups") or ())
    worst = tuple({**w, "transform": clean(w.get("transform") or ""),
                   "output": one_line(w.get("error") or w.get("output") or "", OUTPUT_LIMIT),
                   "original_output": one_line(w.get("original_output") or "", OUTPUT_LIMIT),
                   "status": _status(w.get("passed")),
                   "original_status": _status(w.get("original_passed"))}
                  for w in report.get("worst") or ())
    threshold = report.get("threshold")
    return ProbeView(
        clean(report["kind"]), clean(report["column"]), clean(report["metric"]), report["n"],
        _pct(report["rate"]), f"{_pct(report['low'])} to {_pct(report['high'])}",
        _p(report.get("p_value")), "" if threshold is None else f"{threshold:g}", verdict,
        "" if passed is None else "pass" if passed else "fail",
        tuple(clean(n) for n in report.get("notes") or ()), groups, worst)


def probes_table(reports: Sequence[Mapping[str, Any]]) -> Table:
    """The terminal table: one row per probe x column."""
    table = Table(title="Probes", title_justify="left")
    for name in ("probe", "prompt / model", "metric", "n", "rate", "95% interval",
                 "p (paired)", "threshold", "verdict"):
        table.add_column(name, justify="right" if name in ("n", "rate", "p (paired)") else "left")
    for view in (probe_view(r) for r in reports):
        style = "red" if view.verdict == "FAIL" else "green" if view.verdict == "pass" else ""
        table.add_row(view.kind, view.column, view.metric, str(view.n), view.rate,
                      view.interval, view.p_value, view.threshold or "-", view.verdict,
                      style=style)
    return table


def probe_lines(reports: Sequence[Mapping[str, Any]]) -> list[str]:
    """The notes, groups and worst examples under the table, as plain lines."""
    lines: list[str] = []
    for view in (probe_view(r) for r in reports):
        lines.append(f"{view.kind} · {view.column}:")
        lines += [f"  {note}" for note in view.notes]
        lines += [f"  {g['group']}: {g['rate']} ({g['interval']}, n={g['n']}, p {g['p_value']})"
                  for g in view.groups[:12]]
        if len(view.groups) > 12:
            lines.append(f"  ... {len(view.groups) - 12} more groups (see the JSON/HTML report)")
        for w in view.worst[:3]:
            lines.append(f"  worst: test #{w['origin']} {w['transform']}: "
                         f"{w['original_status']} -> {w['status']}: {one_line(w['output'], 80)}")
    return lines


def probes_json(reports: Sequence[Mapping[str, Any]], run_id: str) -> str:
    """The JSON document of ``-o report.json``."""
    failed = [f"{r['kind']} · {r['column']}" for r in reports if r.get("passed") is False]
    return json.dumps({"run": run_id, "probes": list(reports), "failed": failed},
                      indent=2, ensure_ascii=False, default=str)


def probes_html(reports: Sequence[Mapping[str, Any]], run_id: str) -> str:
    """The standalone HTML report of ``-o report.html``."""
    return environment().get_template("report/probes.html").render(
        standalone=True, csp=Markup(CSP),  # noqa: S704 (our constant, quotes kept)
        csrf_token="", extra_style="", version=__version__,
        title=f"promptwork probes, run {run_id}", run_id=run_id,
        probes=[probe_view(r) for r in reports], cell_base="")


def write_probe_report(path: Path, reports: Sequence[Mapping[str, Any]], run_id: str) -> None:
    """Write ``.json`` or ``.html`` (ConfigError-free: the CLI checks the suffix first)."""
    text = probes_html(reports, run_id) if path.suffix.lower() in (".html", ".htm") else (
        probes_json(reports, run_id))
    path.write_text(text, encoding="utf-8")
