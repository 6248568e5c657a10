"""Queries behind the matrix of one run: a page of its tests, their cells, per-column numbers.

Paging is by key (``test_idx``), never by loading the run: :func:`page_of_tests` walks the
``(run_id, test_idx)`` index in order, grouping a test's cells and keeping the tests that pass
the filters, and stops after a page (plus one, to know whether there is a next page). In the
"all" mode, its cost is that of one page whatever the run's size; a filter costs the tests it
skips to fill the page. :func:`cells_of_tests` reads the cells of the page's tests through the same
index; :func:`column_numbers` aggregates each prompt x model column in the database from two
partial indexes (``ix_results_answered`` and ``ix_results_errors``, migration 0007) without
reading a table row, the latency percentiles by two ordered lookups along the first.

Regular-expression search uses SQLite's ``REGEXP`` (SQLAlchemy registers Python's ``re`` on
SQLite connections) and PostgreSQL's ``~``.
"""

from __future__ import annotations

import math
import re
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from sqlalchemy import (
    ColumnElement,
    String,
    and_,
    bindparam,
    case,
    cast,
    func,
    literal,
    literal_column,
    or_,
    select,
    text,
    type_coerce,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.exc import DBAPIError, OperationalError

from promptwork.errors import ConfigError
from promptwork.store import schema
from promptwork.store.store import Store

__all__ = [
    "MODES",
    "ColumnNumbers",
    "MatrixFilter",
    "Mode",
    "cells_of_tests",
    "column_metrics",
    "column_numbers",
    "page_of_tests",
    "rated_cells",
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
            _refuse_slow_pattern(self.search)


#: Unbounded quantifiers (``*``, ``+``, ``{n,}``) a search pattern may hold: each one can
#: multiply the steps of a failing match by the answer's length.
MAX_UNBOUNDED = 3
#: How long one matrix query with a regular expression may run (SQLite: interrupted after).
SEARCH_TIMEOUT_S = 10.0


def _refuse_slow_pattern(pattern: str) -> None:
    """Refuse what makes a backtracking matcher (SQLite's REGEXP is Python's ``re``) take
    exponential time on a hostile answer: a quantifier over a quantifier or an alternation
    (``(a+)+``, ``(a|aa)*``), backreferences, and more than :data:`MAX_UNBOUNDED` unbounded
    quantifiers."""
    from re import _constants as sre  # type: ignore[attr-defined]
    from re import _parser  # type: ignore[attr-defined]

    repeats = (sre.MAX_REPEAT, sre.MIN_REPEAT, getattr(sre, "POSSESSIVE_REPEAT", sre.MAX_REPEAT))
    unbounded = 0

    def walk(items: Any, inside: bool) -> None:
        nonlocal unbounded
        for op, av in items:
            if op in repeats:
                _low, high, body = av
                if high == sre.MAXREPEAT:
                    unbounded += 1
                if inside and high > 1:
                    raise ConfigError("the search pattern nests quantifiers (like (a+)+), "
                                      "which can take forever on some answers; simplify it")
                walk(body, inside or high > 1)
            elif op is sre.BRANCH:
                if inside:
                    raise ConfigError("the search pattern repeats an alternation (like "
                                      "(a|ab)*), which can take forever on some answers; "
                                      "simplify it")
                for branch in av[1]:
                    walk(branch, inside)
            elif op in (sre.GROUPREF, sre.GROUPREF_EXISTS):
                raise ConfigError("backreferences are not allowed in a search pattern")
            elif op is sre.SUBPATTERN:
                walk(av[3], inside)
            elif op in (sre.ASSERT, sre.ASSERT_NOT):
                walk(av[1], inside)
            elif op is getattr(sre, "ATOMIC_GROUP", None):
                walk(av, inside)

    walk(_parser.parse(pattern), False)
    if unbounded > MAX_UNBOUNDED:
        raise ConfigError(f"a search pattern may hold at most {MAX_UNBOUNDED} unbounded "
                          "quantifiers (*, +, {n,})")


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
    if store.engine.dialect.name == "sqlite":
        # SQLite's LIKE ignores ASCII case, the only case its lower() folds: the same matches
        # without lower() and CAST on every row (a third less time on a whole-run search).
        # A NULL haystack is no match.
        plain = [type_coerce(res.c.vars, String), res.c.output, res.c.description]
        return or_(*(h.like(needle, escape="\\") for h in plain))
    return or_(*(_text(h).like(needle, escape="\\") for h in haystacks))


def _ran_check(store: Store, name: str) -> ColumnElement[Any]:
    """A cell whose grading holds, at any depth, a check result whose ``type`` or ``metric``
    is ``name`` (ignoring case): read from the JSON's structure, not its text."""
    res = schema.results
    wanted = name.strip().lower()
    postgres = store.engine.dialect.name == "postgresql"
    if postgres:
        found = []
        for path in ("lax $.**.type", "lax $.**.metric"):
            node = func.jsonb_path_query(cast(res.c.grading, JSONB),
                                         literal_column(f"'{path}'::jsonpath")).column_valued("node")
            text_of = node.op("#>>")(literal_column("'{}'"))  # a JSON string as text
            found.append(select(node).where(func.lower(text_of) == wanted).exists())
        structural: ColumnElement[Any] = or_(*found)
    else:
        tree = func.json_tree(res.c.grading).table_valued("key", "atom")
        structural = (select(literal(1)).select_from(tree)
                      .where(tree.c.key.in_(("type", "metric")), func.lower(tree.c.atom) == wanted)
                      .exists())
    if not wanted.isascii() or '"' in wanted or "\\" in wanted:
        return structural  # the name may be escaped in the JSON text: no text pre-filter
    # Only the cells whose JSON text holds the name are parsed (a whole-run miss is a scan of
    # text, as a search is); LIKE ignores ASCII case on SQLite, as ILIKE does on PostgreSQL.
    needle = f"%{_escape_like(wanted)}%"
    grading = cast(res.c.grading, String)
    holds = grading.ilike(needle, escape="\\") if postgres else grading.like(needle, escape="\\")
    return and_(holds, structural)


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
        having.append(_count(_ran_check(store, flt.check)) > 0)
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
        if flt.regex and flt.search:
            tests = _bounded(conn, query, SEARCH_TIMEOUT_S)
        else:
            tests = [int(t) for t in conn.execute(query).scalars()]
    more = len(tests) > limit
    tests = tests[:limit]
    return sorted(tests), more


def _bounded(conn: Any, query: Any, seconds: float) -> list[int]:
    """Run a regular-expression search, stopped with a ConfigError after ``seconds``: SQLite
    through its progress handler (between rows), PostgreSQL by ``statement_timeout``."""
    dialect = conn.dialect.name
    if dialect == "postgresql":
        with conn.begin():
            conn.execute(text(f"SET LOCAL statement_timeout = {max(1, int(seconds * 1000))}"))
            try:
                return [int(t) for t in conn.execute(query).scalars()]
            except DBAPIError as exc:
                if "statement timeout" not in str(exc).lower():
                    raise
                raise _too_long(seconds) from None
    if dialect != "sqlite":
        return [int(t) for t in conn.execute(query).scalars()]
    raw = conn.connection.driver_connection
    deadline = time.monotonic() + seconds
    raw.set_progress_handler(lambda: int(time.monotonic() > deadline), 100)
    try:
        return [int(t) for t in conn.execute(query).scalars()]
    except OperationalError as exc:
        if "interrupted" not in str(exc).lower():
            raise
        raise _too_long(seconds) from None
    finally:
        raw.set_progress_handler(None, 0)


def _too_long(seconds: float) -> ConfigError:
    return ConfigError(f"the regular-expression search took over {seconds:g} s and was "
                       "stopped; use a simpler pattern or a plain text search")


def cells_of_tests(store: Store, run_id: str, tests: Sequence[int]) -> list[dict[str, Any]]:
    """Every stored cell of these tests, in matrix order (test, prompt, model, repeat)."""
    if not tests:
        return []
    res = schema.results
    query = (select(res).where(res.c.run_id == run_id, res.c.test_idx.in_(list(tests)))
             .order_by(res.c.test_idx, res.c.prompt_idx, res.c.provider_idx, res.c.repeat_idx))
    with store.engine.connect() as conn:
        return [dict(row) for row in conn.execute(query).mappings()]


def rated_cells(store: Store, run_id: str,
                tests: Sequence[int]) -> dict[tuple[int, int, int, int], tuple[bool, ...]]:
    """The human verdicts on the cells of these tests, in one query: per cell ``(test, prompt,
    model, repeat)``, the pass/fail of each rater's latest rating that is not withdrawn."""
    if not tests:
        return {}
    rt = schema.ratings
    latest = (select(func.max(rt.c.id))
              .where(rt.c.run_id == run_id, rt.c.test_idx.in_(list(tests)),
                     rt.c.withdrawn_at.is_(None))
              .group_by(rt.c.test_idx, rt.c.prompt_idx, rt.c.provider_idx, rt.c.repeat_idx,
                        rt.c.rater))
    query = (select(rt.c.test_idx, rt.c.prompt_idx, rt.c.provider_idx, rt.c.repeat_idx,
                    rt.c.passed)
             .where(rt.c.id.in_(latest)).order_by(rt.c.id))
    out: dict[tuple[int, int, int, int], tuple[bool, ...]] = {}
    with store.engine.connect() as conn:
        for t, p, m, r, passed in conn.execute(query):
            key = (int(t), int(p), int(m), int(r))
            out[key] = (*out.get(key, ()), bool(passed))
    return out


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
    :func:`promptwork.stats.percentile`), in column order.

    The answered cells are summed from ``ix_results_answered`` alone and the errors counted from
    ``ix_results_errors`` (partial indexes, migration 0007): no table row is read, so a 100,000-cell
    run costs milliseconds; each percentile is one walk along the same index.
    """
    res = schema.results
    answered = (
        select(
            res.c.prompt_idx, res.c.provider_idx,
            _count(res.c.success.is_(True)).label("passes"),
            _count(res.c.success.is_(False)).label("fails"),
            func.sum(func.coalesce(res.c.score, 0.0)).label("score_sum"),
            func.sum(func.coalesce(res.c.prompt_tokens, 0)).label("pt"),
            func.sum(func.coalesce(res.c.completion_tokens, 0)).label("ct"),
            func.sum(func.coalesce(res.c.cost, 0.0)).label("cost"),
            _count(res.c.cost.is_(None)).label("unpriced"),
            _count(res.c.cached.is_(True)).label("cached"),
            func.count(res.c.latency_ms).label("timed"),
        )
        .where(res.c.run_id == run_id, res.c.error.is_(None))
        .group_by(res.c.prompt_idx, res.c.provider_idx)
    )
    failed = (
        select(res.c.prompt_idx, res.c.provider_idx, func.count().label("errors"))
        .where(res.c.run_id == run_id, res.c.error.is_not(None))
        .group_by(res.c.prompt_idx, res.c.provider_idx)
    )
    out = []
    with store.engine.connect() as conn:
        rows = {(int(r["prompt_idx"]), int(r["provider_idx"])): r
                for r in conn.execute(answered).mappings()}
        errors = {(int(r["prompt_idx"]), int(r["provider_idx"])): int(r["errors"])
                  for r in conn.execute(failed).mappings()}
        for p, m in sorted(set(rows) | set(errors)):
            row: Any = rows.get((p, m), {})
            timed = int(row.get("timed") or 0)
            p50 = _percentile(conn, run_id, p, m, timed, 50)
            p95 = _percentile(conn, run_id, p, m, timed, 95)
            out.append(ColumnNumbers(
                p, m, int(row.get("passes") or 0), int(row.get("fails") or 0),
                errors.get((p, m), 0), float(row.get("score_sum") or 0.0),
                int(row.get("pt") or 0), int(row.get("ct") or 0), float(row.get("cost") or 0.0),
                not row.get("unpriced"), int(row.get("cached") or 0), p50, p95))
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


_METRICS_SQL = {
    "sqlite": """
        SELECT r.prompt_idx, r.provider_idx, json_extract(c.value, '$.metric') AS metric,
               SUM(COALESCE(json_extract(c.value, '$.score'), 0.0)) AS total, COUNT(*) AS n
        FROM results AS r, json_each(r.grading, '$.components') AS c
        WHERE r.run_id = :run_id AND r.error IS NULL AND r.grading LIKE '%"metric"%'
          AND json_type(r.grading, '$.components') = 'array'
          AND COALESCE(json_extract(c.value, '$.metric'), '') != ''
        GROUP BY r.prompt_idx, r.provider_idx, metric
        ORDER BY r.prompt_idx, r.provider_idx, MIN(r.test_idx), MIN(c.key)""",
    "postgresql": """
        SELECT r.prompt_idx, r.provider_idx, c.value ->> 'metric' AS metric,
               SUM(COALESCE((c.value ->> 'score')::float, 0.0)) AS total, COUNT(*) AS n
        FROM results AS r
        CROSS JOIN LATERAL json_array_elements(CASE
            WHEN json_typeof(r.grading -> 'components') = 'array'
            THEN r.grading -> 'components' ELSE '[]'::json END) WITH ORDINALITY AS c(value, key)
        WHERE r.run_id = :run_id AND r.error IS NULL AND r.grading::text LIKE '%"metric"%'
          AND COALESCE(c.value ->> 'metric', '') != ''
        GROUP BY r.prompt_idx, r.provider_idx, metric
        ORDER BY r.prompt_idx, r.provider_idx, MIN(r.test_idx), MIN(c.key)""",
}


def column_metrics(store: Store, run_id: str) -> dict[tuple[int, int], dict[str, float]]:
    """Each column's mean score per named metric, over the components of its graded cells that
    name one (as :func:`promptwork.report.summary.summarize` counts them), computed in the
    database; metrics in the order the column's first cells name them."""
    sql = _METRICS_SQL.get(store.engine.dialect.name)
    out: dict[tuple[int, int], dict[str, float]] = {}
    with store.engine.connect() as conn:
        if sql is not None:
            rows = conn.execute(text(sql).bindparams(bindparam("run_id", run_id)))
            for p, m, metric, total, n in rows:
                if n:
                    out.setdefault((int(p), int(m)), {})[str(metric)] = float(total) / int(n)
            return out
        res = schema.results  # another database: stream the gradings, never the whole rows
        sums: dict[tuple[int, int], dict[str, list[float]]] = {}
        query = (select(res.c.prompt_idx, res.c.provider_idx, res.c.grading)
                 .where(res.c.run_id == run_id, res.c.error.is_(None))
                 .order_by(res.c.prompt_idx, res.c.provider_idx, res.c.test_idx))
        for p, m, grading in conn.execution_options(stream_results=True).execute(query):
            for comp in (grading or {}).get("components", []) or []:
                if comp.get("metric"):
                    acc = sums.setdefault((int(p), int(m)), {}).setdefault(
                        str(comp["metric"]), [0.0, 0.0])
                    acc[0] += float(comp.get("score") or 0.0)
                    acc[1] += 1
    return {k: {name: t / n for name, (t, n) in v.items()} for k, v in sums.items()}
