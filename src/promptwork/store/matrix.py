"""Queries behind the matrix of one run: a page of its tests, their cells, per-column numbers.

Paging is by key (``test_idx``), never by loading the run: :func:`page_of_tests` walks the
``(run_id, test_idx)`` index in order, grouping a test's cells and keeping the tests that pass
the filters, and stops after a page (plus one, to know whether there is a next page). In the
"all" mode, its cost is that of one page whatever the run's size; a filter costs the tests it
skips to fill the page. :func:`cells_of_tests` reads the cells of the page's tests through the same
index; :func:`column_numbers` aggregates each prompt x model column in the database
(``ix_results_column``, migration 0005), the latency percentiles by two ordered lookups.

Regular-expression search uses SQLite's ``REGEXP`` (SQLAlchemy registers Python's ``re`` on
SQLite connections) and PostgreSQL's ``~``.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from sqlalchemy import (
    ColumnElement,
    String,
    and_,
    case,
    cast,
    func,
    literal,
    or_,
    select,
)

from promptwork.errors import ConfigError
from promptwork.store import schema
from promptwork.store.store import Store

__all__ = [
    "MODES",
    "ColumnNumbers",
    "MatrixFilter",
    "Mode",
    "cells_of_tests",
    "column_numbers",
    "page_of_tests",
]

Mode = Literal["all", "failures", "passes", "errors", "different"]
MODES: tuple[Mode, ...] = ("all", "failures", "passes", "errors", "different")
MAX_PATTERN = 200


@dataclass(frozen=True)
class MatrixFilter:
    """Which tests a matrix page shows.

    Attributes:
        mode: ``all``; ``failures`` (a visible cell failed its checks); ``passes`` (every
            visible cell passed); ``errors`` (a visible cell is an error); ``different`` (the
            visible cells' answers are not all the same).
        search: Text looked for in the vars and answers of the visible cells (case-insensitive).
        regex: Read ``search`` as a regular expression (case-insensitive too).
        check: Keep tests whose visible cells ran this check type or named metric.
        columns: Visible columns ``(prompt_idx, provider_idx)``; empty: all.
    """

    mode: Mode = "all"
    search: str = ""
    regex: bool = False
    check: str = ""
    columns: tuple[tuple[int, int], ...] = ()

    def validate(self) -> None:
        """Raises ConfigError for an unknown mode or a bad regular expression."""
        if self.mode not in MODES:
            raise ConfigError(f"unknown mode {self.mode!r}; use one of {', '.join(MODES)}")
        if self.regex and self.search:
            if len(self.search) > MAX_PATTERN:
                raise ConfigError(f"a search pattern has at most {MAX_PATTERN} characters")
            try:
                re.compile(self.search)
            except re.error as exc:
                raise ConfigError(f"invalid regular expression: {exc}") from None


def _text(column: Any) -> ColumnElement[Any]:
    return func.lower(func.coalesce(cast(column, String), ""))


def _matches(store: Store, flt: MatrixFilter) -> ColumnElement[Any]:
    res = schema.results
    haystacks = [cast(res.c.vars, String), res.c.output, res.c.description]
    if flt.regex:
        pattern = flt.search
        if store.engine.dialect.name == "postgresql":
            return or_(*(func.coalesce(h, "").op("~*")(pattern) for h in haystacks))
        return or_(*(func.coalesce(h, "").regexp_match(f"(?i){pattern}") for h in haystacks))
    needle = f"%{_escape_like(flt.search.lower())}%"
    return or_(*(_text(h).like(needle, escape="\\") for h in haystacks))


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _count(condition: ColumnElement[Any]) -> ColumnElement[Any]:
    return func.sum(case((condition, 1), else_=0))


def page_of_tests(
    store: Store,
    run_id: str,
    flt: MatrixFilter,
    *,
    after: int | None = None,
    before: int | None = None,
    limit: int = 50,
) -> tuple[list[int], bool]:
    """The ``test_idx`` of one page of tests, ascending, and whether more lie beyond it.

    Args:
        store: The store.
        run_id: The run (full id).
        flt: The filters (validated here).
        after: Tests after this index (the next page).
        before: Tests before this index (the previous page; "more" then means earlier ones).
        limit: Tests per page.

    Raises:
        ConfigError: A bad filter.
    """
    flt.validate()
    res = schema.results
    ok = res.c.error.is_(None)
    query = select(res.c.test_idx).where(res.c.run_id == run_id)
    if flt.columns:
        query = query.where(or_(*(and_(res.c.prompt_idx == p, res.c.provider_idx == m)
                                  for p, m in flt.columns)))
    having: list[ColumnElement[Any]] = []
    if flt.mode == "failures":
        having.append(_count(and_(ok, res.c.success.is_(False))) > 0)
    elif flt.mode == "passes":
        having.append(_count(or_(res.c.error.is_not(None), res.c.success.is_(False))) == 0)
    elif flt.mode == "errors":
        having.append(_count(res.c.error.is_not(None)) > 0)
    elif flt.mode == "different":
        having.append(func.count(func.distinct(
            func.coalesce(res.c.output, literal("\x00error:") + func.coalesce(res.c.error, ""))
        )) > 1)
    if flt.search:
        having.append(_count(_matches(store, flt)) > 0)
    if flt.check:
        name = flt.check.replace('"', "")
        grading = cast(res.c.grading, String)
        having.append(_count(or_(
            grading.like(f'%"type": "{_escape_like(name)}"%', escape="\\"),
            grading.like(f'%"metric": "{_escape_like(name)}"%', escape="\\"),
        )) > 0)
    if after is not None:
        query = query.where(res.c.test_idx > after)
    if before is not None:
        query = query.where(res.c.test_idx < before)
    query = query.group_by(res.c.test_idx)
    if having:
        query = query.having(and_(*having))
    order = res.c.test_idx.desc() if before is not None else res.c.test_idx
    query = query.order_by(order).limit(limit + 1)
    with store.engine.connect() as conn:
        tests = [int(t) for t in conn.execute(query).scalars()]
    more = len(tests) > limit
    tests = tests[:limit]
    return sorted(tests), more


def cells_of_tests(store: Store, run_id: str, tests: Sequence[int]) -> list[dict[str, Any]]:
    """Every stored cell of these tests, in matrix order (test, prompt, model, repeat)."""
    if not tests:
        return []
    res = schema.results
    query = (select(res).where(res.c.run_id == run_id, res.c.test_idx.in_(list(tests)))
             .order_by(res.c.test_idx, res.c.prompt_idx, res.c.provider_idx, res.c.repeat_idx))
    with store.engine.connect() as conn:
        return [dict(row) for row in conn.execute(query).mappings()]


@dataclass(frozen=True)
class ColumnNumbers:
    """Aggregates of one prompt x model column, computed in the database."""

    prompt_idx: int
    provider_idx: int
    passes: int
    fails: int
    errors: int
    score_sum: float
    prompt_tokens: int
    completion_tokens: int
    cost: float
    cost_known: bool
    cached: int
    p50_ms: float | None
    p95_ms: float | None


def column_numbers(store: Store, run_id: str) -> list[ColumnNumbers]:
    """Per-column counts, sums and latency percentiles (linear interpolation, as
    :func:`promptwork.stats.percentile`), in column order."""
    res = schema.results
    ok = res.c.error.is_(None)
    query = (
        select(
            res.c.prompt_idx, res.c.provider_idx,
            _count(and_(ok, res.c.success.is_(True))).label("passes"),
            _count(and_(ok, res.c.success.is_(False))).label("fails"),
            _count(res.c.error.is_not(None)).label("errors"),
            func.sum(case((ok, func.coalesce(res.c.score, 0.0)), else_=0.0)).label("score_sum"),
            func.sum(case((ok, func.coalesce(res.c.prompt_tokens, 0)), else_=0)).label("pt"),
            func.sum(case((ok, func.coalesce(res.c.completion_tokens, 0)), else_=0)).label("ct"),
            func.sum(case((ok, func.coalesce(res.c.cost, 0.0)), else_=0.0)).label("cost"),
            _count(and_(ok, res.c.cost.is_(None))).label("unpriced"),
            _count(and_(ok, res.c.cached.is_(True))).label("cached"),
            _count(and_(ok, res.c.latency_ms.is_not(None))).label("timed"),
        )
        .where(res.c.run_id == run_id)
        .group_by(res.c.prompt_idx, res.c.provider_idx)
        .order_by(res.c.prompt_idx, res.c.provider_idx)
    )
    out = []
    with store.engine.connect() as conn:
        for row in conn.execute(query).mappings():
            p, m, timed = int(row["prompt_idx"]), int(row["provider_idx"]), int(row["timed"])
            p50 = _percentile(conn, run_id, p, m, timed, 50)
            p95 = _percentile(conn, run_id, p, m, timed, 95)
            out.append(ColumnNumbers(
                p, m, int(row["passes"] or 0), int(row["fails"] or 0), int(row["errors"] or 0),
                float(row["score_sum"] or 0.0), int(row["pt"] or 0), int(row["ct"] or 0),
                float(row["cost"] or 0.0), not row["unpriced"], int(row["cached"] or 0),
                p50, p95))
    return out


def _percentile(conn: Any, run_id: str, prompt: int, provider: int, n: int,
                q: float) -> float | None:
    if n == 0:
        return None
    res = schema.results
    rank = (n - 1) * q / 100.0
    lo = math.floor(rank)
    query = (select(res.c.latency_ms)
             .where(res.c.run_id == run_id, res.c.prompt_idx == prompt,
                    res.c.provider_idx == provider, res.c.error.is_(None),
                    res.c.latency_ms.is_not(None))
             .order_by(res.c.latency_ms).offset(lo).limit(2))
    values = [float(v) for v in conn.execute(query).scalars()]
    if not values:
        return None
    if len(values) == 1:
        return values[0]
    return values[0] + (values[1] - values[0]) * (rank - lo)
