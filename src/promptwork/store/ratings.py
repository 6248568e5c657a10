"""Human ratings of result cells: stored next to the automated verdicts, never replacing them.

A rating is one rater's pass/fail on one cell of a run (prompt x model x test x repeat), with an
optional score from 0 to 1 and a comment. Rating a cell again adds a row: the latest row per
(cell, rater) counts. Withdrawing marks that rater's rows of the cell withdrawn (kept as
history, no longer counted). The functions take the :class:`~promptwork.store.store.Store` and a
full run id (``store.get_run(prefix).id`` resolves a prefix), so the CLI and the web routes call
the same ones.

* :func:`add_rating`, :func:`withdraw_rating`: write.
* :func:`run_ratings`: the ratings that count, for a run.
* :func:`cell_ratings`: the ratings that count, for one cell (one per rater).
* :func:`rated_results`: those ratings joined with their cells' stored results.
* :func:`with_ratings`: a run's result rows with a ``ratings`` list on the rated ones (exports).
* :func:`resolve_rater`: the rater's name, from an argument or the config file.
"""

from __future__ import annotations

import getpass
import math
import os
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import and_, func, insert, select, update

from promptwork.cases import CellKey
from promptwork.errors import ConfigError
from promptwork.secrets import config_table
from promptwork.store import schema
from promptwork.store.store import Store

__all__ = [
    "RATING_COLUMNS",
    "RatedResult",
    "Rating",
    "add_rating",
    "cell_ratings",
    "rated_results",
    "rating_columns",
    "resolve_rater",
    "run_ratings",
    "with_ratings",
    "withdraw_rating",
]

#: The flat rating columns of the CSV export and ``EvalRun.to_pandas()``.
RATING_COLUMNS = ("rating_pass", "rating_score", "rating_comment", "rater")
RATER_MAX = 100
COMMENT_MAX = 10_000


@dataclass(frozen=True, slots=True)
class Rating:
    """One rater's current rating of one cell.

    Attributes:
        id: Row id (later ratings have larger ids).
        run_id: The run.
        cell: The cell rated.
        passed: The rater's verdict.
        score: Optional score from 0 to 1.
        comment: Optional comment.
        rater: Who rated.
        created_at: When.
    """

    id: int
    run_id: str
    cell: CellKey
    passed: bool
    score: float | None
    comment: str | None
    rater: str
    created_at: datetime

    def to_dict(self) -> dict[str, Any]:
        return {"pass": self.passed, "score": self.score, "comment": self.comment,
                "rater": self.rater, "created_at": self.created_at.isoformat()}


@dataclass(frozen=True, slots=True)
class RatedResult:
    """A current rating with its cell's stored result row (``row``: as ``Store.results``)."""

    rating: Rating
    row: Mapping[str, Any]

    @property
    def automated(self) -> bool | None:
        """The automated verdict of the cell; ``None`` for an error cell (no verdict)."""
        if self.row.get("error") is not None:
            return None
        return bool(self.row.get("success"))


def _now() -> datetime:
    return datetime.now(UTC)


def _clean_rater(rater: str) -> str:
    name = " ".join(rater.split())
    if not name:
        raise ConfigError("the rater's name is empty")
    if len(name) > RATER_MAX or any(ord(ch) < 32 or 127 <= ord(ch) < 160 for ch in name):
        raise ConfigError(f"the rater's name must be at most {RATER_MAX} printable characters")
    return name


def resolve_rater(rater: str | None = None, env: Mapping[str, str] | None = None) -> str:
    """The rater's name: ``rater`` if given, else ``[ui] rater`` of the config file
    (``~/.config/promptwork/config.toml``), else the login name.

    Raises:
        ConfigError: An empty or unprintable name, a ``rater`` that is not text, or an unreadable
            config file.
    """
    if rater is not None:
        return _clean_rater(rater)
    configured = config_table("ui", env).get("rater")
    if configured is not None:
        if not isinstance(configured, str):
            raise ConfigError("[ui] rater in the config file must be text")
        return _clean_rater(configured)
    env = os.environ if env is None else env
    try:
        login = env.get("USER") or env.get("USERNAME") or getpass.getuser()
    except (KeyError, OSError):  # no login name (a container without a passwd entry)
        login = ""
    return _clean_rater(login or "anonymous")


def _cell_exists(store: Store, run_id: str, cell: CellKey) -> bool:
    res = schema.results
    query = select(res.c.id).where(
        res.c.run_id == run_id, res.c.prompt_idx == cell.prompt,
        res.c.provider_idx == cell.provider, res.c.test_idx == cell.test,
        res.c.repeat_idx == cell.repeat)
    with store.engine.connect() as conn:
        return conn.execute(query.limit(1)).first() is not None


def add_rating(
    store: Store,
    run_id: str,
    cell: CellKey,
    *,
    passed: bool,
    rater: str,
    score: float | None = None,
    comment: str | None = None,
) -> Rating:
    """Record a rater's rating of a stored cell (it replaces their earlier one of that cell).

    Raises:
        ConfigError: No such cell in the run, a score outside 0-1, an empty rater name or an
            over-long comment.
    """
    rater = _clean_rater(rater)
    if score is not None and (not math.isfinite(score) or not 0 <= score <= 1):
        raise ConfigError(f"a rating's score must be between 0 and 1, got {score:g}")
    comment = (comment or "").strip() or None
    if comment is not None and len(comment) > COMMENT_MAX:
        raise ConfigError(f"a rating's comment must be at most {COMMENT_MAX} characters")
    if not _cell_exists(store, run_id, cell):
        raise ConfigError(
            f"run {run_id} has no stored cell {cell.prompt}:{cell.provider}:{cell.test}:"
            f"{cell.repeat} (prompt:model:test:repeat)")
    created = _now()
    with store.engine.begin() as conn:
        new_id = conn.execute(insert(schema.ratings).values(
            run_id=run_id, prompt_idx=cell.prompt, provider_idx=cell.provider,
            test_idx=cell.test, repeat_idx=cell.repeat, passed=bool(passed),
            score=None if score is None else float(score), comment=comment, rater=rater,
            created_at=created)).inserted_primary_key
    return Rating(int(new_id[0]) if new_id else 0, run_id, cell, bool(passed), score, comment,
                  rater, created)


def withdraw_rating(store: Store, run_id: str, cell: CellKey, rater: str) -> int:
    """Withdraw a rater's rating of a cell (kept as history, no longer counted).

    Returns:
        How many rows were withdrawn (0 when the rater had no current rating of the cell).
    """
    rt = schema.ratings
    with store.engine.begin() as conn:
        result = conn.execute(update(rt).where(
            rt.c.run_id == run_id, rt.c.prompt_idx == cell.prompt,
            rt.c.provider_idx == cell.provider, rt.c.test_idx == cell.test,
            rt.c.repeat_idx == cell.repeat, rt.c.rater == _clean_rater(rater),
            rt.c.withdrawn_at.is_(None),
        ).values(withdrawn_at=_now()))
    return int(result.rowcount or 0)


def _current_ids(run_ids: Sequence[str] | None, rater: str | None) -> Any:
    """The ids of the ratings that count: the latest non-withdrawn row per (cell, rater)."""
    rt = schema.ratings
    latest = select(func.max(rt.c.id)).where(rt.c.withdrawn_at.is_(None))
    if run_ids is not None:
        latest = latest.where(rt.c.run_id.in_(list(run_ids)))
    if rater is not None:
        latest = latest.where(rt.c.rater == rater)
    return latest.group_by(rt.c.run_id, rt.c.prompt_idx, rt.c.provider_idx, rt.c.test_idx,
                           rt.c.repeat_idx, rt.c.rater)


def _rating(row: Mapping[str, Any]) -> Rating:
    return Rating(
        int(row["id"]), str(row["run_id"]),
        CellKey(int(row["prompt_idx"]), int(row["provider_idx"]), int(row["test_idx"]),
                int(row["repeat_idx"])),
        bool(row["passed"]), None if row["score"] is None else float(row["score"]),
        row["comment"], str(row["rater"]), _aware(row["created_at"]))


def _aware(moment: datetime) -> datetime:
    """SQLite returns naive datetimes: they were stored in UTC."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def run_ratings(store: Store, run_id: str, rater: str | None = None) -> list[Rating]:
    """The ratings that count in a run (one per cell and rater), in matrix order.

    Args:
        store: The store.
        run_id: The run (full id).
        rater: Only this rater's.
    """
    rt = schema.ratings
    query = (select(rt).where(rt.c.id.in_(_current_ids([run_id], rater)))
             .order_by(rt.c.test_idx, rt.c.prompt_idx, rt.c.provider_idx, rt.c.repeat_idx,
                       rt.c.rater))
    with store.engine.connect() as conn:
        return [_rating(dict(row)) for row in conn.execute(query).mappings()]


def cell_ratings(store: Store, run_id: str, cell: CellKey) -> list[Rating]:
    """The ratings that count on one cell (one per rater), latest first."""
    rt = schema.ratings
    query = (select(rt).where(
        rt.c.run_id == run_id, rt.c.prompt_idx == cell.prompt,
        rt.c.provider_idx == cell.provider, rt.c.test_idx == cell.test,
        rt.c.repeat_idx == cell.repeat, rt.c.withdrawn_at.is_(None)).order_by(rt.c.id.desc()))
    latest: dict[str, Rating] = {}
    with store.engine.connect() as conn:
        for row in conn.execute(query).mappings():
            latest.setdefault(str(row["rater"]), _rating(dict(row)))
    return list(latest.values())


def rated_results(store: Store, run_ids: Sequence[str] | None = None,
                  rater: str | None = None) -> list[RatedResult]:
    """Current ratings joined with their cells' stored results, in run then matrix order.

    Args:
        store: The store.
        run_ids: These runs (full ids); every run when ``None``.
        rater: Only this rater's ratings.
    """
    rt, res = schema.ratings, schema.results
    rating_cols = [c.label(f"r_{c.name}") for c in rt.c]
    query = (
        select(res, *rating_cols)
        .join(rt, and_(res.c.run_id == rt.c.run_id, res.c.prompt_idx == rt.c.prompt_idx,
                       res.c.provider_idx == rt.c.provider_idx, res.c.test_idx == rt.c.test_idx,
                       res.c.repeat_idx == rt.c.repeat_idx))
        .where(rt.c.id.in_(_current_ids(run_ids, rater)))
        .order_by(rt.c.run_id, rt.c.test_idx, rt.c.prompt_idx, rt.c.provider_idx,
                  rt.c.repeat_idx, rt.c.rater)
    )
    out = []
    with store.engine.connect() as conn:
        for row in conn.execute(query).mappings():
            data = dict(row)
            rating = _rating({c.name: data.pop(f"r_{c.name}") for c in rt.c})
            out.append(RatedResult(rating, data))
    return out


def with_ratings(store: Store, run_id: str,
                 rows: Iterable[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    """``rows`` (result rows of the run) with ``row["ratings"]`` on the rated ones: a list of
    :meth:`Rating.to_dict`, latest first. Unrated rows pass through unchanged."""
    by_cell: dict[tuple[int, int, int, int], list[Rating]] = {}
    for rating in run_ratings(store, run_id):
        c = rating.cell
        by_cell.setdefault((c.prompt, c.provider, c.test, c.repeat), []).append(rating)
    for row in rows:
        found = by_cell.get((row["prompt_idx"], row["provider_idx"], row["test_idx"],
                             row["repeat_idx"])) if by_cell else None
        if found:
            row = {**row, "ratings": [r.to_dict() for r in
                                      sorted(found, key=lambda r: r.id, reverse=True)]}
        yield row


def rating_columns(row: Mapping[str, Any]) -> dict[str, Any]:
    """The flat rating columns (:data:`RATING_COLUMNS`) of a row from :func:`with_ratings`:
    its latest rating's (all ``None`` when unrated). A cell rated by several people shows the
    latest; the JSON exports hold every rater's."""
    ratings = row.get("ratings") or []
    if not ratings:
        return dict.fromkeys(RATING_COLUMNS)
    latest = ratings[0]
    return {"rating_pass": latest["pass"], "rating_score": latest["score"],
            "rating_comment": latest["comment"], "rater": latest["rater"]}
