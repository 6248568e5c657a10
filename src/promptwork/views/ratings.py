"""Human ratings as view models: a cell's ratings beside its automated verdict, the rating queue
of a run, and the judges page across runs.

The ratings come from :mod:`promptwork.store.ratings` (the current one per rater and cell), the
queue's steps from :mod:`promptwork.store.ratequeue` (one indexed lookup each), the agreement
numbers from :mod:`promptwork.views.judges`. Text is cleaned here; the templates escape it.
"""

from __future__ import annotations

from dataclasses import dataclass

from promptwork.cases import CellKey
from promptwork.errors import ConfigError
from promptwork.report.terminal import clean, status_of
from promptwork.store import RunRecord, Store
from promptwork.store.matrix import cells_of_tests
from promptwork.store.ratequeue import cell_count, first_cell, next_unrated, rated_count, step
from promptwork.store.ratings import RatedResult, Rating, cell_ratings, rated_results
from promptwork.views.cell import CellDetail, build_cell_view
from promptwork.views.judges import JudgesView, judges_view, run_judges

__all__ = ["CellRatings", "JudgesPage", "QueueView", "RatingLine", "RunJudges", "automated_of",
           "build_cell_ratings", "build_judges_page", "build_queue_view", "cell_path",
           "parse_position", "position_of", "queue_url"]


def cell_path(run_id: str, cell: CellKey) -> str:
    """The cell page's path."""
    return f"/runs/{run_id}/cells/{cell.test}/{cell.prompt}/{cell.provider}/{cell.repeat}"


def position_of(cell: CellKey) -> str:
    """A queue position as its URL writes it: ``test.prompt.model.repeat``."""
    return f"{cell.test}.{cell.prompt}.{cell.provider}.{cell.repeat}"


def parse_position(text: str) -> CellKey:
    """The cell of a queue position ``test.prompt.model.repeat`` (the repeat may be left out).

    Raises:
        ConfigError: Not four (or three) whole numbers separated by dots.
    """
    parts = text.strip().split(".")
    if len(parts) == 3:
        parts.append("0")
    if len(parts) != 4 or not all(p.isdigit() and len(p) < 10 for p in parts):
        raise ConfigError(f"a queue position is test.prompt.model.repeat (four whole numbers), "
                          f"got {clean(text)[:40]!r}")
    test, prompt, provider, repeat = (int(p) for p in parts)
    return CellKey(prompt, provider, test, repeat)


@dataclass(frozen=True)
class RatingLine:
    """One rater's current rating of a cell."""

    rater: str
    verdict: str
    score: str
    comment: str
    when: str
    mine: bool


def _line(rating: Rating, rater: str) -> RatingLine:
    return RatingLine(
        clean(rating.rater), "PASS" if rating.passed else "FAIL",
        "" if rating.score is None else f"{rating.score:.2f}", clean(rating.comment or ""),
        rating.created_at.strftime("%Y-%m-%d %H:%M UTC"), rating.rater == rater)


@dataclass(frozen=True)
class CellRatings:
    """A cell's human ratings next to its automated verdict, and the rating form's values.

    Attributes:
        automated: The automated verdict (``PASS``, ``FAIL`` or ``ERROR``), never replaced.
        automated_score: Its score (empty for an error).
        lines: Every rater's current rating, latest first.
        mine: The current rater's, if any.
        rater: Who rates now.
        action: Where the form posts a rating.
        withdraw_action: Where the form posts a withdrawal.
    """

    automated: str
    automated_score: str
    lines: tuple[RatingLine, ...]
    mine: RatingLine | None
    rater: str
    action: str
    withdraw_action: str

    @property
    def my_score(self) -> str:
        return self.mine.score if self.mine else ""

    @property
    def my_comment(self) -> str:
        return self.mine.comment if self.mine else ""

    @property
    def my_verdict(self) -> str:
        return self.mine.verdict.lower() if self.mine else ""


def build_cell_ratings(store: Store, run_id: str, cell: CellKey, automated: str,
                       automated_score: str, rater: str) -> CellRatings:
    """The ratings of one stored cell of a run (full id), seen by ``rater``."""
    lines = tuple(_line(r, rater) for r in cell_ratings(store, run_id, cell))
    path = cell_path(run_id, cell)
    return CellRatings(automated, automated_score, lines,
                       next((line for line in lines if line.mine), None), clean(rater),
                       f"{path}/rating", f"{path}/rating/withdraw")


@dataclass(frozen=True)
class QueueView:
    """One step of a run's rating queue.

    Attributes:
        run: The run.
        cell: The cell shown (``None`` when the run has no cells).
        ratings: Its ratings and the form.
        position: The cell's position (``test.prompt.model.repeat``).
        prev_url: The previous cell's queue URL (``""`` at the start).
        next_url: The next cell's (``""`` at the end).
        next_unrated_url: Where a rating moves on to: the next cell the rater has not rated,
            else the next cell, else this one.
        rated: Cells the rater has rated in the run.
        total: Cells in the run.
        judges: The run's judge agreement.
    """

    run: RunRecord
    cell: CellDetail | None
    ratings: CellRatings | None
    position: str
    prev_url: str
    next_url: str
    next_unrated_url: str
    rated: int
    total: int
    judges: JudgesView


def queue_url(run_id: str, cell: CellKey) -> str:
    """The queue page of ``run_id`` at ``cell``."""
    return f"/runs/{run_id}/rate?cell={position_of(cell)}"


def build_queue_view(store: Store, run: RunRecord, rater: str,
                     position: str | None = None) -> QueueView:
    """The queue of ``run`` at ``position`` (default: the rater's first unrated cell, else the
    first cell).

    Raises:
        ConfigError: A malformed position, or one that names no stored cell of the run.
    """
    if position:
        key: CellKey | None = parse_position(position)
    else:
        key = next_unrated(store, run.id, rater) or first_cell(store, run.id)
    judges = run_judges(store, [run.id])
    total = cell_count(store, run.id)
    if key is None:
        return QueueView(run, None, None, "", "", "", "", 0, 0, judges)
    detail = build_cell_view(store, run, key.test, key.prompt, key.provider, key.repeat)
    ratings = build_cell_ratings(store, run.id, key, detail.status, detail.score, rater)
    before, after = step(store, run.id, key, "previous"), step(store, run.id, key, "next")
    onward = next_unrated(store, run.id, rater, after=key) or after or key
    return QueueView(
        run, detail, ratings, position_of(key),
        queue_url(run.id, before) if before else "", queue_url(run.id, after) if after else "",
        queue_url(run.id, onward), rated_count(store, run.id, rater), total, judges)


def automated_of(store: Store, run_id: str, cell: CellKey) -> tuple[str, str]:
    """The automated verdict and score of a stored cell.

    Raises:
        ConfigError: No such cell.
    """
    for row in cells_of_tests(store, run_id, [cell.test]):
        if (row["prompt_idx"], row["provider_idx"], row["repeat_idx"]) == (
                cell.prompt, cell.provider, cell.repeat):
            status = status_of(row)
            return status, "" if status == "ERROR" else f"{float(row.get('score') or 0):.2f}"
    raise ConfigError(f"run {run_id} has no cell test {cell.test}, prompt {cell.prompt}, "
                      f"model {cell.provider}, repeat {cell.repeat}")


@dataclass(frozen=True)
class RunJudges:
    """One run's judge table on the judges page."""

    run: RunRecord
    view: JudgesView


@dataclass(frozen=True)
class JudgesPage:
    """The judges page: every rated run pooled, then run by run (newest first)."""

    pooled: JudgesView
    runs: tuple[RunJudges, ...]


def build_judges_page(store: Store) -> JudgesPage:
    """The judge agreement across every rated run, and per run."""
    rated = rated_results(store)
    by_run: dict[str, list[RatedResult]] = {}
    for item in rated:
        by_run.setdefault(item.rating.run_id, []).append(item)
    per_run = [RunJudges(store.get_run(run_id), judges_view(items, (run_id,)))
               for run_id, items in by_run.items()]
    per_run.sort(key=lambda r: (r.run.created_at, r.run.id), reverse=True)
    return JudgesPage(judges_view(rated), tuple(per_run))
