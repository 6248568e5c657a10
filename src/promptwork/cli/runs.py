"""``promptwork runs`` (list, show, compare) and ``promptwork cache clear``."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import click
from rich.table import Table
from rich.text import Text

from promptwork.cli.output import console
from promptwork.cli.ratings import rate_command, ratings_command
from promptwork.errors import ConfigError
from promptwork.evaluation import EvalRun
from promptwork.report.columns import resolve_model, resolve_prompt
from promptwork.report.compare import render_comparison
from promptwork.report.export import export
from promptwork.report.runcompare import USAGE
from promptwork.report.summary import RATE_MEANING, summarize
from promptwork.report.terminal import matrix_table, metrics_table, one_line, summary_table
from promptwork.report.winner import judge_winner, mark_winner, winner_line
from promptwork.store import Store
from promptwork.store.queries import Verdict, result_rows, run_overviews
from promptwork.store.ratings import with_ratings
from promptwork.suite import SUITE_NAMES
from promptwork.views.compare import ComparePair, build_compare

_db = click.option("--db", metavar="URL", help="Store URL (default: SQLite in .promptwork/).")
_dir = click.option("-C", "--dir", "folder", default=".", metavar="DIR",
                    help="Folder whose .promptwork/ store to use (default: here).")


def open_store(folder: str, db: str | None) -> Store:
    path = Path(folder)
    if path.is_file() and path.name in SUITE_NAMES:
        path = path.parent
    return Store.for_folder(path, db)


@click.group("runs")
def runs_group() -> None:
    """List, show, compare and rate stored runs."""


runs_group.add_command(ratings_command)
runs_group.add_command(rate_command)


@runs_group.command("list")
@_dir
@_db
@click.option("-n", "--limit", default=20, show_default=True, help="Runs shown.")
@click.option("-s", "--search", metavar="TEXT",
              help="Only runs whose id, description or suite path contains TEXT.")
def list_runs(folder: str, db: str | None, limit: int, search: str | None) -> None:
    """The newest runs: status, pass rate, cells, errors and cost.

    A run whose process died is shown as interrupted: `promptwork eval --resume RUN` finishes it.
    """
    store = open_store(folder, db)
    table = Table(title=f"runs in {store.display_url}", caption=RATE_MEANING)
    for col in ("run", "created", "status", "pass rate", "cells", "errors", "cost",
                "description"):
        table.add_column(col, justify="right" if col in ("pass rate", "errors", "cost") else "left")
    for r in run_overviews(store, limit, search=search):
        rate = "n/a" if r.pass_rate is None else f"{r.pass_rate:.1%}"
        cost = "n/a" if not r.cost_known else f"${r.cost:.4f}" if r.cost < 1 else f"${r.cost:,.2f}"
        status = Text(r.status, style=_STATUS_STYLE.get(r.status, ""))
        table.add_row(r.id, r.created_at.strftime("%Y-%m-%d %H:%M:%S"), status, rate,
                      f"{r.done_cells}/{r.total_cells}", str(r.errors), cost,
                      Text(one_line(r.description or "", 60)))
    console().print(table)


_STATUS_STYLE = {"complete": "green", "interrupted": "yellow", "failed": "red", "running": "cyan"}


@runs_group.command("show")
@click.argument("run_id", required=False)
@_dir
@_db
@click.option("--max-rows", default=50, show_default=True, help="Tests shown in the matrix.")
@click.option("-o", "--output", "outputs", multiple=True, metavar="FILE",
              help="Export the stored run (no re-run): .json .jsonl .csv .md .xml (JUnit) "
                   ".html (repeatable); the filters apply.")
@click.option("--failed", is_flag=True, help="Only cells whose checks failed.")
@click.option("--errors", is_flag=True, help="Only error cells (no verdict).")
@click.option("--passed", is_flag=True, help="Only cells whose checks passed.")
@click.option("--prompt", "prompt_name", metavar="LABEL", help="Only this prompt (label or index).")
@click.option("--model", "model_name", metavar="LABEL",
              help="Only this model (label, provider id or index).")
def show_run(run_id: str | None, folder: str, db: str | None, max_rows: int,
             outputs: tuple[str, ...], failed: bool, errors: bool, passed: bool,
             prompt_name: str | None, model_name: str | None) -> None:
    """The matrix and summary of RUN (default: the latest), and its exports.

    --failed, --errors and --passed keep those cells (together: any of them); --prompt and
    --model keep one prompt or model. The summary covers the chosen prompts and models.
    """
    store = open_store(folder, db)
    record = store.get_run(run_id)
    run = EvalRun(record.id, store)
    prompts, models = run.prompt_labels, run.provider_labels
    ids = [str(p.get("id")) for p in record.settings.get("providers", [])]
    p_idx = None if prompt_name is None else resolve_prompt(prompt_name, prompts)
    m_idx = None if model_name is None else resolve_model(model_name, models, ids)
    wanted: tuple[tuple[Verdict, bool], ...] = (("failed", failed), ("error", errors),
                                                 ("passed", passed))
    verdicts = [v for v, on in wanted if on]

    def rows() -> Iterator[dict[str, Any]]:
        return result_rows(store, record.id, verdicts=verdicts, prompt_idx=p_idx,
                           provider_idx=m_idx)

    def chosen() -> Iterator[dict[str, Any]]:
        return result_rows(store, record.id, prompt_idx=p_idx, provider_idx=m_idx)

    columns = summarize(chosen(), prompts, models)
    winner = judge_winner(chosen(), columns)
    mark_winner(columns, winner)
    out = console()
    status = record.shown_status
    out.print(f"run {record.id} ({status}, {record.done_cells}/{record.total_cells} cells)",
              markup=False)
    if status != record.status:
        out.print(f"its process is gone: finish it with 'promptwork eval --resume {record.id}'",
                  style="yellow", markup=False)
    shown = [f"{v} cells" for v in verdicts]
    if p_idx is not None:
        shown.append(f"prompt {prompts[p_idx]}")
    if m_idx is not None:
        shown.append(f"model {models[m_idx]}")
    if shown:
        out.print("showing only: " + ", ".join(shown), style="dim", markup=False)
    out.print(matrix_table(rows(), prompts, models, max_rows))
    out.print(summary_table(columns))
    if winner is not None:
        out.print(winner_line(winner))
    # Dataset metrics are computed over the whole run: shown and exported only unfiltered.
    reports = run.dataset_metrics() if not verdicts and p_idx is None and m_idx is None else []
    if reports:
        out.print(metrics_table(reports, prompts, models))
    err = console(stderr=True)
    for target in outputs:  # with the human ratings of the rated cells
        path = export(Path(target), record, with_ratings(store, record.id, rows()), prompts,
                      models, columns, dataset=reports)
        err.print(f"wrote {path}", style="dim", markup=False)


@runs_group.command("compare")
@click.argument("run_a", required=False)
@click.argument("run_b", required=False)
@click.option("--a", "col_a", metavar="COLUMN",
              help="Column of run A: prompt label, model label, PROMPT@MODEL, or P:M indices.")
@click.option("--b", "col_b", metavar="COLUMN", help="Column of run B (the same forms).")
@click.option("--json", "as_json", is_flag=True, help="Print the comparison as JSON.")
@_dir
@_db
def compare_runs(run_a: str | None, run_b: str | None, col_a: str | None, col_b: str | None,
                 as_json: bool, folder: str, db: str | None) -> None:
    """Paired per-test comparison of two runs, or of two columns of one run.

    Exact McNemar test on pass/fail and a paired bootstrap on scores, with the regressions and
    fixes listed, and a warning when the two sides' checks, data or parameters differ.

    \b
    Examples:
      promptwork runs compare RUN_A RUN_B
      promptwork runs compare RUN --a instruction --b few-shot
      promptwork runs compare RUN --a instruction@gemma --b instruction@smollm2
      promptwork runs compare RUN --a 1:0 --b 2:0
    """
    if run_a is None:
        raise ConfigError(f"say what to compare.\n{USAGE}")
    view = build_compare(open_store(folder, db), run_a, run_b, col_a, col_b)
    out = console()
    if as_json:
        doc = view.result.to_dict()
        for pair, shown in zip(doc["pairs"], view.pairs, strict=True):
            pair["plain"] = shown.plain
        out.print_json(json.dumps(doc, default=str))
        return
    out.print(_compare_table(view.pairs))
    for pair in view.pairs:
        out.rule()
        for warning in pair.warnings:
            out.print(Text("warning: " + one_line(warning, 600), style="bold yellow"))
        out.print(render_comparison(pair.comparison))


def _compare_table(pairs: tuple[ComparePair, ...]) -> Table:
    """One row per compared pair, as the workbench's compare page shows them."""
    table = Table(title="A (baseline) against B")
    for name in ("A", "B", "Pairs", "Pass rate A → B", "Δ", "Mean score A → B", "Δ [95% CI]",
                 "Regr.", "Fixes"):
        table.add_column(name, overflow="fold", justify="left" if name in "AB" else "right")
    table.add_column("Verdict", no_wrap=True,  # the phrase whole, the labels fold instead
                     min_width=max((len(p.plain) for p in pairs), default=7))
    colour = {"better": "green", "worse": "red"}
    for p in pairs:
        rate = p.pass_rate
        rates = "" if rate.a is None or rate.b is None else f"{rate.a:.0%} → {rate.b:.0%}"
        rate_change = "" if rate.change is None else f"{100 * rate.change:+.1f} pts"
        score = p.score
        scores = "" if score.a is None or score.b is None else f"{score.a:.3f} → {score.b:.3f}"
        score_change = "" if score.change is None else f"{score.change:+.3f}"
        if score_change and p.score_interval is not None:
            score_change += f" [{p.score_interval[0]:+.3f}, {p.score_interval[1]:+.3f}]"
        table.add_row(
            Text(one_line(p.label_a, 60)), Text(one_line(p.label_b, 60)), str(p.pairs), rates,
            Text(rate_change, style=colour.get(rate.direction, "")), scores,
            Text(score_change, style=colour.get(score.direction, "")), str(p.regressions),
            str(p.fixes), Text(p.plain, style="bold" if p.significant else ""))
    return table


@click.group("cache")
def cache_group() -> None:
    """Manage the cache of model calls."""


@cache_group.command("clear")
@_dir
@_db
def clear_cache(folder: str, db: str | None) -> None:
    """Delete every cached model answer."""
    n = open_store(folder, db).cache_clear()
    console().print(f"removed {n} cached answers", markup=False)
