"""``promptwork runs ratings`` (human ratings next to the automated verdicts, and how far each
model-graded check agrees with them) and ``promptwork runs rate`` (rate one cell)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

import click
from rich.table import Table
from rich.text import Text

from promptwork.cases import CellKey
from promptwork.cli.output import console
from promptwork.errors import ConfigError
from promptwork.report.promptfoo_json import label_at
from promptwork.report.ratings import write_ratings
from promptwork.report.terminal import one_line, status_of
from promptwork.store import Store
from promptwork.store.ratings import (
    RatedResult,
    add_rating,
    rated_results,
    resolve_rater,
    withdraw_rating,
)
from promptwork.suite import SUITE_NAMES
from promptwork.views.judges import JudgesView, judges_view

_db = click.option("--db", metavar="URL", help="Store URL (default: SQLite in .promptwork/).")
_dir = click.option("-C", "--dir", "folder", default=".", metavar="DIR",
                    help="Folder whose .promptwork/ store to use (default: here).")
_CELL = re.compile(r"\s*(\d+):(\d+):(\d+)(?::(\d+))?\s*")


def _open_store(folder: str, db: str | None) -> Store:
    path = Path(folder)
    if path.is_file() and path.name in SUITE_NAMES:
        path = path.parent
    return Store.for_folder(path, db)


def parse_cell(text: str) -> CellKey:
    """``P:M:T`` or ``P:M:T:R`` (prompt, model, test, repeat indices, from 0) as a cell key."""
    match = _CELL.fullmatch(text)
    if match is None:
        raise ConfigError(f"--cell must be PROMPT:MODEL:TEST[:REPEAT] indices (from 0), "
                          f"got {text!r}")
    p, m, t, r = match.groups()
    return CellKey(int(p), int(m), int(t), int(r or 0))


@click.command("rate")
@click.argument("run_id")
@click.option("--cell", "cell_text", required=True, metavar="P:M:T[:R]",
              help="The cell: prompt, model, test (and repeat) indices, from 0.")
@click.option("--pass/--fail", "passed", default=None, help="Your verdict.")
@click.option("--score", type=float, help="Optional score from 0 to 1.")
@click.option("--comment", help="Optional comment.")
@click.option("--rater", metavar="NAME",
              help="Who rates (default: [ui] rater in the config file, else the login name).")
@click.option("--withdraw", is_flag=True, help="Withdraw your rating of the cell instead.")
@_dir
@_db
def rate_command(run_id: str, cell_text: str, passed: bool | None, score: float | None,
                 comment: str | None, rater: str | None, withdraw: bool, folder: str,
                 db: str | None) -> None:
    """Rate one cell of RUN by hand: kept next to the automated verdict, never replacing it.

    Rating a cell again replaces your earlier rating of it; --withdraw removes it.
    """
    cell = parse_cell(cell_text)
    name = resolve_rater(rater)
    store = _open_store(folder, db)
    record = store.get_run(run_id)
    out = console()
    where = f"{cell.prompt}:{cell.provider}:{cell.test}:{cell.repeat}"
    if withdraw:
        if passed is not None or score is not None or comment is not None:
            raise ConfigError("--withdraw takes no --pass/--fail, --score or --comment")
        n = withdraw_rating(store, record.id, cell, name)
        out.print(f"withdrew {name}'s rating of cell {where} of run {record.id}" if n else
                  f"{name} has no rating of cell {where} of run {record.id}", markup=False)
        return
    if passed is None:
        raise ConfigError("say --pass or --fail")
    add_rating(store, record.id, cell, passed=passed, rater=name, score=score, comment=comment)
    verdict = "pass" if passed else "fail"
    out.print(f"rated cell {where} of run {record.id}: {verdict} by {name}", markup=False)


@click.command("ratings")
@click.argument("run_id", required=False)
@click.option("-o", "--output", "outputs", multiple=True, metavar="FILE",
              help="Write the ratings with the automated verdicts: .csv, or .json with the "
                   "judge table (repeatable).")
@click.option("--rater", metavar="NAME", help="Only this rater's ratings.")
@click.option("--max-rows", default=50, show_default=True, help="Ratings shown.")
@_dir
@_db
def ratings_command(run_id: str | None, outputs: tuple[str, ...], rater: str | None,
                    max_rows: int, folder: str, db: str | None) -> None:
    """The human ratings of RUN (default: the latest) next to the automated verdicts, and how far
    each model-graded check (per grading model) agrees with them: accuracy, Cohen's kappa with
    a 95% interval, the confusion matrix and the number of cells."""
    store = _open_store(folder, db)
    record = store.get_run(run_id)
    prompts = [str(p.get("label")) for p in record.settings.get("prompts", [])]
    models = [str(p.get("label")) for p in record.settings.get("providers", [])]
    rated = rated_results(store, [record.id], rater)
    judges = judges_view(rated, (record.id,))
    out = console()
    if not rated:
        out.print(f"run {record.id} has no ratings; rate cells with 'promptwork runs rate "
                  f"{record.id} --cell P:M:T --pass' (or in 'promptwork ui')", markup=False)
    else:
        out.print(ratings_table(rated, prompts, models, max_rows))
        out.print(judges_table(judges))
    err = console(stderr=True)
    for target in outputs:
        path = write_ratings(Path(target), rated, judges, prompts, models)
        err.print(f"wrote {path}", style="dim", markup=False)


_STYLE = {"PASS": "green", "FAIL": "red", "ERROR": "yellow"}
#: Fewer cells than this behind a kappa: its asymptotic interval is only a rough guide.
SMALL_N = 30


def ratings_table(rated: Sequence[RatedResult], prompts: Sequence[str], models: Sequence[str],
                  max_rows: int = 50) -> Table:
    """Each rating with the automated verdict of its cell."""
    table = Table(title=f"{len(rated)} human rating{'s' if len(rated) != 1 else ''}")
    for col in ("cell", "prompt", "model", "answer", "checks", "human", "score", "rater",
                "comment"):
        table.add_column(col)
    for item in rated[:max_rows]:
        r, c = item.rating, item.rating.cell
        status = status_of(item.row)
        human = "PASS" if r.passed else "FAIL"
        agree = item.automated is not None and item.automated == r.passed
        table.add_row(
            f"{c.prompt}:{c.provider}:{c.test}:{c.repeat}",
            Text(one_line(label_at(prompts, c.prompt), 24)),
            Text(one_line(label_at(models, c.provider), 24)),
            Text(one_line(item.row.get("output") or item.row.get("error") or "", 40)),
            Text(status, style=_STYLE[status]),
            Text(human + ("" if agree or item.automated is None else " ≠"), style=_STYLE[human]),
            "" if r.score is None else f"{r.score:.2f}",
            Text(one_line(r.rater, 20)),
            Text(one_line(r.comment or "", 40)),
        )
    if len(rated) > max_rows:
        table.caption = f"{len(rated) - max_rows} more not shown (--max-rows)"
    return table


def judges_table(view: JudgesView) -> Table | Text:
    """Agreement of each model-graded check x grader with the human ratings."""
    if not view.judges:
        return Text("no model-graded check on the rated cells: no judge agreement to show",
                    style="dim")
    notes = ["kappa: Cohen's, 95% interval from its analytic (large-sample) standard error",
             "J/H: judge/human verdict, +: pass, -: fail"]
    if any(j.n < SMALL_N for j in view.judges):
        notes.append(f"under {SMALL_N} cells the interval is rough")
    if view.tied_cells:
        notes.append(f"{view.tied_cells} cell{'s' if view.tied_cells != 1 else ''} with tied "
                     "raters left out")
    table = Table(title="judges against human ratings", caption="; ".join(notes))
    for col in ("check", "grader", "n", "accuracy", "kappa [95% CI]", "J+H+", "J+H-", "J-H+",
                "J-H-"):
        table.add_column(col, justify="left" if col in ("check", "grader") else "right")
    for judge in view.judges:
        a = judge.agreement
        kappa = "n/a" if a.kappa is None else f"{a.kappa:.2f}"
        if a.kappa_ci95 is not None:
            kappa += f" [{a.kappa_ci95[0]:.2f}, {a.kappa_ci95[1]:.2f}]"
        cm = a.confusion
        table.add_row(Text(judge.check_type), Text(one_line(judge.grader, 40)), str(a.n),
                      "n/a" if a.accuracy is None else f"{a.accuracy:.1%}", kappa,
                      str(cm.both_pass), str(cm.judge_only), str(cm.human_only),
                      str(cm.both_fail))
    return table
