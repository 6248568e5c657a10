"""``promptwork runs`` (list, show, compare) and ``promptwork cache clear``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click
from rich.table import Table

from promptwork.cli.output import console, safe_text
from promptwork.evaluation import EvalRun
from promptwork.report.compare import compare_columns, render_comparison, select_column
from promptwork.report.terminal import matrix_table, metrics_table, summary_table
from promptwork.store import Store
from promptwork.suite import SUITE_NAMES

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
    """List, show and compare stored runs."""


@runs_group.command("list")
@_dir
@_db
@click.option("-n", "--limit", default=20, show_default=True)
def list_runs(folder: str, db: str | None, limit: int) -> None:
    """The newest runs."""
    store = open_store(folder, db)
    table = Table(title=f"runs in {store.display_url}")
    for col in ("run", "created", "status", "cells", "description"):
        table.add_column(col)
    for r in store.list_runs(limit):
        table.add_row(r.id, r.created_at.strftime("%Y-%m-%d %H:%M:%S"), r.status,
                      f"{r.done_cells}/{r.total_cells}", safe_text(r.description or ""))
    console().print(table)


@runs_group.command("show")
@click.argument("run_id", required=False)
@_dir
@_db
@click.option("--max-rows", default=50, show_default=True)
def show_run(run_id: str | None, folder: str, db: str | None, max_rows: int) -> None:
    """The matrix and summary of RUN (default: the latest)."""
    store = open_store(folder, db)
    run = EvalRun(store.get_run(run_id).id, store)
    out = console()
    rec = run.record
    out.print(f"run {rec.id} ({rec.status}, {rec.done_cells}/{rec.total_cells} cells)",
              markup=False)
    out.print(matrix_table(run.rows(), run.prompt_labels, run.provider_labels, max_rows))
    out.print(summary_table(run.columns()))
    reports = run.dataset_metrics()
    if reports:
        out.print(metrics_table(reports, run.prompt_labels, run.provider_labels))


def _column(spec: str | None) -> tuple[int, int] | None:
    if spec is None:
        return None
    prompt, _, provider = spec.partition(":")
    try:
        return int(prompt), int(provider or 0)
    except ValueError:
        raise click.BadParameter(f"{spec!r}: use PROMPT_INDEX:PROVIDER_INDEX, e.g. 1:0") from None


@runs_group.command("compare")
@click.argument("run_a")
@click.argument("run_b", required=False)
@click.option("--a", "col_a", metavar="P:M", help="Column of run A (prompt:provider index).")
@click.option("--b", "col_b", metavar="P:M", help="Column of run B (prompt:provider index).")
@_dir
@_db
def compare_runs(run_a: str, run_b: str | None, col_a: str | None, col_b: str | None,
                 folder: str, db: str | None) -> None:
    """Paired per-test comparison of two runs, or of two columns of one run.

    Exact McNemar test on pass/fail and a paired bootstrap on scores, with the regressions and
    fixes listed. Examples: `runs compare RUN_A RUN_B`, `runs compare RUN --a 0:0 --b 1:0`.
    """
    store = open_store(folder, db)
    a = store.get_run(run_a).id
    b = store.get_run(run_b).id if run_b else a
    ca, cb = _column(col_a), _column(col_b)
    if a == b and (ca is None or cb is None or ca == cb):
        raise click.UsageError("comparing a run with itself: give RUN_B, or --a and --b columns")
    rows_a: list[Any] = list(store.results(a))
    rows_b: list[Any] = list(store.results(b))
    if ca is not None:
        rows_a = list(select_column(rows_a, *ca))
    if cb is not None:
        rows_b = list(select_column(rows_b, *cb))
    comparison = compare_columns(rows_a, rows_b, label_a=_label(store, a, ca),
                                 label_b=_label(store, b, cb))
    console().print(render_comparison(comparison))


def _label(store: Store, run_id: str, column: tuple[int, int] | None) -> str:
    """``RUN``, or ``RUN`` and the column's prompt and model labels (a column that does not
    exist is bad input)."""
    if column is None:
        return run_id
    run = EvalRun(run_id, store)
    prompts, providers = run.prompt_labels, run.provider_labels
    p, m = column
    if not (0 <= p < len(prompts) and 0 <= m < len(providers)):
        raise click.BadParameter(
            f"run {run_id} has prompts 0-{len(prompts) - 1} and models 0-{len(providers) - 1}; "
            f"there is no column {p}:{m}")
    return f"{run_id} {prompts[p]} \u00d7 {providers[m]}"


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
