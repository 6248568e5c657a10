"""The result store: runs, every result cell, prompt versions and the call cache."""

from __future__ import annotations

import contextlib
import json
import secrets as _random
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, bindparam, delete, func, insert, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError, OperationalError

from promptwork.cases import CellKey, CellResult
from promptwork.checks.base import CheckResult
from promptwork.errors import ConfigError
from promptwork.store import schema
from promptwork.store.db import default_url, open_engine
from promptwork.store.owner import current_owner, run_status

_INSERT_RESULT = insert(schema.results)
# Prepared once: building the statement per lookup costs more than the lookup itself.
_CACHE_GET = select(schema.cache_entries.c.value).where(
    schema.cache_entries.c.key == bindparam("k"))


def _now() -> datetime:
    return datetime.now(UTC)


def new_run_id() -> str:
    """A sortable, unique run id: ``20261123-2231-ab12cd``."""
    return _now().strftime("%Y%m%d-%H%M%S-") + _random.token_hex(3)


@dataclass(frozen=True)
class RunRecord:
    """A run as stored."""

    id: str
    created_at: datetime
    finished_at: datetime | None
    status: str
    description: str | None
    suite_path: str | None
    fingerprint: str
    total_cells: int
    settings: dict[str, Any]
    summary: dict[str, Any] | None
    done_cells: int = 0

    @property
    def shown_status(self) -> str:
        """The status to show: ``interrupted`` for a ``running`` run whose process on this
        machine is gone (see :mod:`promptwork.store.owner`)."""
        return run_status(self.status, self.settings)


class Store:
    """Persists runs and results in SQLite (default) or PostgreSQL.

    Args:
        url: SQLAlchemy URL; ``sqlite:///path.db`` or ``postgresql://user@host/db``.
    """

    def __init__(self, url: str):
        self.url = url
        try:
            self.engine = open_engine(url)
        except OperationalError as exc:
            raise ConfigError(f"cannot open the store: {exc.orig}") from None
        #: The URL to show people: without its password.
        self.display_url = self.engine.url.render_as_string(hide_password=True)
        self._known_prompts: set[str] = set()

    @classmethod
    def for_folder(cls, folder: str | Path, url: str | None = None) -> Store:
        """The store given by ``url``, else the SQLite file in ``folder/.promptwork/``."""
        return cls(url or default_url(folder))

    def close(self) -> None:
        self.engine.dispose()

    # -- prompts -----------------------------------------------------------------------------

    def save_prompt(self, text: str, label: str, content_hash: str) -> str:
        """Store a prompt version once; return its hash."""
        if content_hash in self._known_prompts:
            return content_hash
        with self.engine.begin() as conn:
            exists = conn.execute(
                select(schema.prompts.c.hash).where(schema.prompts.c.hash == content_hash)
            ).first()
            if exists is None:
                # Another process may store it first.
                with contextlib.suppress(IntegrityError):
                    conn.execute(insert(schema.prompts).values(
                        hash=content_hash, label=label, text=text, created_at=_now()))
        self._known_prompts.add(content_hash)
        return content_hash

    def save_prompts(self, prompts: Sequence[tuple[str, str, str]]) -> None:
        """Store several prompt versions ``(text, label, hash)`` in one transaction."""
        with self.engine.begin() as conn:
            added = self._add_prompts(conn, prompts)
        self._known_prompts.update(added)

    def _add_prompts(self, conn: Connection, prompts: Sequence[tuple[str, str, str]]) -> list[str]:
        """Insert the versions the store lacks; returns the hashes checked (known once the
        transaction commits)."""
        todo = {h: (text, label) for text, label, h in prompts if h not in self._known_prompts}
        if not todo:
            return []
        table = schema.prompts
        have = set(conn.execute(select(table.c.hash).where(table.c.hash.in_(list(todo))))
                   .scalars())
        rows = [{"hash": h, "label": label, "text": text, "created_at": _now()}
                for h, (text, label) in todo.items() if h not in have]
        if rows:
            # Another process may store the same version in between: not an error.
            if conn.dialect.name == "sqlite":
                conn.execute(sqlite_insert(table).on_conflict_do_nothing(), rows)
            elif conn.dialect.name == "postgresql":
                conn.execute(pg_insert(table).on_conflict_do_nothing(), rows)
            else:
                conn.execute(insert(table), rows)
        return list(todo)

    def prompt_text(self, content_hash: str) -> str | None:
        with self.engine.connect() as conn:
            row = conn.execute(
                select(schema.prompts.c.text).where(schema.prompts.c.hash == content_hash)
            ).first()
        return None if row is None else str(row[0])

    # -- runs --------------------------------------------------------------------------------

    def create_run(
        self,
        fingerprint: str,
        total_cells: int,
        settings: Mapping[str, Any],
        description: str | None = None,
        suite_path: str | None = None,
        run_id: str | None = None,
        prompts: Sequence[tuple[str, str, str]] = (),
    ) -> str:
        """Record a new run, and its prompt versions ``(text, label, hash)``, in one
        transaction; returns the run id. This process is recorded as its owner
        (``settings["owner"]``, see :mod:`promptwork.store.owner`)."""
        run_id = run_id or new_run_id()
        settings = {**settings, "owner": current_owner()}
        with self.engine.begin() as conn:
            added = self._add_prompts(conn, prompts)
            conn.execute(insert(schema.runs).values(
                id=run_id, created_at=_now(), status="running", description=description,
                suite_path=suite_path, fingerprint=fingerprint, total_cells=total_cells,
                settings=dict(settings),
            ))
        self._known_prompts.update(added)
        return run_id

    def finish_run(self, run_id: str, status: str, summary: Mapping[str, Any] | None) -> None:
        with self.engine.begin() as conn:
            conn.execute(update(schema.runs).where(schema.runs.c.id == run_id).values(
                status=status, finished_at=_now(),
                summary=dict(summary) if summary is not None else None))
        from promptwork.store.hooks import record_run_events  # imports stats: only when used

        record_run_events(self.engine, run_id)  # run.finished (and run.regressed) for webhooks

    def update_run(
        self,
        run_id: str,
        *,
        settings: Mapping[str, Any] | None = None,
        total_cells: int | None = None,
        description: str | None = None,
    ) -> None:
        """Replace a run's settings, cell count or description (a run whose prompts are only
        known as it goes, such as an optimization's candidates)."""
        values: dict[str, Any] = {}
        if settings is not None:
            values["settings"] = dict(settings)
            if "owner" not in settings:  # keep who runs it
                owner = self.get_run(run_id).settings.get("owner")
                if owner is not None:
                    values["settings"]["owner"] = owner
        if total_cells is not None:
            values["total_cells"] = total_cells
        if description is not None:
            values["description"] = description
        if values:
            with self.engine.begin() as conn:
                conn.execute(update(schema.runs).where(schema.runs.c.id == run_id).values(
                    **values))

    def unfinished_runs(self, limit: int = 50) -> list[RunRecord]:
        """The newest runs that did not complete (running, interrupted or failed)."""
        r = schema.runs
        query = (select(r).where(r.c.status != "complete")
                 .order_by(r.c.created_at.desc(), r.c.id.desc()).limit(limit))
        with self.engine.connect() as conn:
            return [RunRecord(**dict(row)) for row in conn.execute(query).mappings()]

    def set_status(self, run_id: str, status: str) -> None:
        """Change a run's status; ``running`` (a resumed run) makes this process its owner."""
        values: dict[str, Any] = {"status": status}
        if status == "running":
            values["settings"] = {**self.get_run(run_id).settings, "owner": current_owner()}
        with self.engine.begin() as conn:
            conn.execute(update(schema.runs).where(schema.runs.c.id == run_id).values(**values))

    def get_run(self, run_id: str | None = None) -> RunRecord:
        """A run by id (a unique prefix is enough), or the newest run when ``run_id`` is None."""
        r = schema.runs
        query = select(r).order_by(r.c.created_at.desc(), r.c.id.desc())
        if run_id:
            literal_id = run_id.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
            query = query.where(r.c.id.like(f"{literal_id}%", escape="\\"))
        with self.engine.connect() as conn:
            rows = conn.execute(query.limit(2)).mappings().all()
            if not rows:
                raise ConfigError(
                    f"no run {run_id!r} in {self.display_url}" if run_id
                    else f"no runs in {self.display_url}"
                )
            if run_id and len(rows) > 1 and rows[0]["id"] != run_id:
                raise ConfigError(f"run id prefix {run_id!r} is ambiguous; give more characters")
            row = rows[0]
            done = conn.execute(
                select(func.count()).select_from(schema.results).where(
                    schema.results.c.run_id == row["id"])
            ).scalar_one()
        return RunRecord(**dict(row), done_cells=int(done))

    def list_runs(self, limit: int = 20) -> list[RunRecord]:
        r, res = schema.runs, schema.results
        counts = (
            select(res.c.run_id, func.count().label("n")).group_by(res.c.run_id).subquery()
        )
        query = (
            select(r, func.coalesce(counts.c.n, 0).label("done_cells"))
            .outerjoin(counts, counts.c.run_id == r.c.id)
            .order_by(r.c.created_at.desc(), r.c.id.desc())
            .limit(limit)
        )
        with self.engine.connect() as conn:
            return [RunRecord(**dict(row)) for row in conn.execute(query).mappings()]

    # -- results -----------------------------------------------------------------------------

    def add_result(self, run_id: str, cell: CellResult, prompt_hash: str, provider_id: str) -> bool:
        """Write one finished cell and commit at once. Returns False if it was already stored."""
        try:
            with self.engine.begin() as conn:
                # One prepared statement with bound parameters: building insert().values()
                # per row costs more than the write itself.
                conn.execute(_INSERT_RESULT, _row(run_id, cell, prompt_hash, provider_id))
        except IntegrityError:
            return False
        return True

    def add_results(self, run_id: str, cells: list[tuple[CellResult, str, str]]) -> None:
        """Write several cells in one transaction (cells served from the cache: losing them in a
        crash costs no model call); falls back to one by one on a duplicate."""
        if not cells:
            return
        rows = [_row(run_id, cell, prompt_hash, provider) for cell, prompt_hash, provider in cells]
        try:
            with self.engine.begin() as conn:
                conn.execute(_INSERT_RESULT, rows)
        except IntegrityError:
            for cell, prompt_hash, provider in cells:
                self.add_result(run_id, cell, prompt_hash, provider)

    def update_grade(self, run_id: str, key: CellKey, grade: CheckResult) -> None:
        """Replace a stored cell's grade (cross-cell checks such as ``select-best``)."""
        res = schema.results
        with self.engine.begin() as conn:
            conn.execute(update(res).where(
                res.c.run_id == run_id, res.c.prompt_idx == key.prompt,
                res.c.provider_idx == key.provider, res.c.test_idx == key.test,
                res.c.repeat_idx == key.repeat, res.c.error.is_(None),
            ).values(success=grade.passed, score=grade.score, grading=grade.to_dict()))

    def set_error(self, run_id: str, key: CellKey, error: str, kind: str) -> None:
        """Turn a stored cell into an error (a cross-cell check whose grader call failed): no
        verdict, no score; ``--resume`` redoes it."""
        res = schema.results
        with self.engine.begin() as conn:
            conn.execute(update(res).where(
                res.c.run_id == run_id, res.c.prompt_idx == key.prompt,
                res.c.provider_idx == key.provider, res.c.test_idx == key.test,
                res.c.repeat_idx == key.repeat,
            ).values(error=error, error_kind=kind, success=False, score=None, grading=None))

    def drop_errors(self, run_id: str) -> int:
        """Delete a run's error cells so that a resumed run redoes them; returns how many."""
        res = schema.results
        with self.engine.begin() as conn:
            return int(conn.execute(delete(res).where(
                res.c.run_id == run_id, res.c.error.is_not(None))).rowcount or 0)

    def done_keys(self, run_id: str) -> set[CellKey]:
        res = schema.results
        query = select(res.c.prompt_idx, res.c.provider_idx, res.c.test_idx, res.c.repeat_idx)
        with self.engine.connect() as conn:
            return {CellKey(*row) for row in conn.execute(query.where(res.c.run_id == run_id))}

    def test_results(self, run_id: str, tests: Sequence[int]) -> list[dict[str, Any]]:
        """Stored result rows of some tests of a run (index, output, error, grading)."""
        res = schema.results
        query = select(res.c.prompt_idx, res.c.provider_idx, res.c.test_idx, res.c.repeat_idx,
                       res.c.output, res.c.error, res.c.grading).where(
            res.c.run_id == run_id, res.c.test_idx.in_(list(tests)))
        with self.engine.connect() as conn:
            return [dict(row) for row in conn.execute(query).mappings()]

    def recorded_latencies(self, provider_id: str, limit: int = 500) -> list[float]:
        """Latencies (ms) of the latest answered calls to ``provider_id`` that reached the
        model (cache hits and errors left out), newest first; for time forecasts."""
        res = schema.results
        query = (select(res.c.latency_ms)
                 .where(res.c.provider_id == provider_id, res.c.cached.is_(False),
                        res.c.error.is_(None), res.c.latency_ms.is_not(None))
                 .order_by(res.c.id.desc()).limit(limit))
        with self.engine.connect() as conn:
            return [float(row[0]) for row in conn.execute(query)]

    def results(self, run_id: str) -> Iterator[dict[str, Any]]:
        """Stored result rows of a run, in matrix order, streamed."""
        res = schema.results
        query = (
            select(res).where(res.c.run_id == run_id)
            .order_by(res.c.test_idx, res.c.prompt_idx, res.c.provider_idx, res.c.repeat_idx)
            .execution_options(yield_per=1000)
        )
        with self.engine.connect() as conn:
            for row in conn.execute(query).mappings():
                yield dict(row)

    # -- cache -------------------------------------------------------------------------------

    def cache_get(self, key: str) -> dict[str, Any] | None:
        """A cached value, or None (a corrupt entry counts as a miss)."""
        with self.engine.connect() as conn:
            row = conn.execute(_CACHE_GET, {"k": key}).first()
        if row is None:
            return None
        try:
            value = json.loads(row[0])
        except (TypeError, ValueError):
            return None
        return value if isinstance(value, dict) else None

    def cache_put(self, key: str, value: Mapping[str, Any]) -> None:
        table = schema.cache_entries
        values = {"key": key, "value": json.dumps(value), "created_at": _now()}
        dialect = self.engine.dialect.name
        with self.engine.begin() as conn:
            if dialect == "sqlite":
                conn.execute(sqlite_insert(table).values(**values).on_conflict_do_update(
                    index_elements=["key"], set_={"value": values["value"]}))
            elif dialect == "postgresql":
                conn.execute(pg_insert(table).values(**values).on_conflict_do_update(
                    index_elements=["key"], set_={"value": values["value"]}))
            else:
                conn.execute(delete(table).where(table.c.key == key))
                conn.execute(insert(table).values(**values))

    def cache_clear(self) -> int:
        with self.engine.begin() as conn:
            return int(conn.execute(delete(schema.cache_entries)).rowcount or 0)

    def cache_count(self) -> int:
        with self.engine.connect() as conn:
            return int(conn.execute(
                select(func.count()).select_from(schema.cache_entries)).scalar_one())


def _row(run_id: str, cell: CellResult, prompt_hash: str, provider_id: str) -> dict[str, Any]:
    """The results-table row of one cell."""
    c = cell.completion
    grade = cell.grade
    return {
        "run_id": run_id,
        "prompt_idx": cell.key.prompt,
        "provider_idx": cell.key.provider,
        "test_idx": cell.key.test,
        "repeat_idx": cell.key.repeat,
        "prompt_hash": prompt_hash,
        "provider_id": provider_id,
        "vars": _jsonable(cell.vars),
        "prompt_text": cell.prompt_text,
        "output": c.text if c is not None else None,
        "error": cell.error,
        "error_kind": cell.error_kind,
        "success": cell.passed,
        "score": cell.score,  # None for an error: it has no verdict
        "grading": grade.to_dict() if grade is not None and cell.error is None else (
            {"traceback": cell.error_detail} if cell.error_detail else None),
        "latency_ms": c.latency_ms if c is not None else None,
        "cost": c.cost if c is not None else None,
        "prompt_tokens": c.usage.prompt_tokens if c is not None else None,
        "completion_tokens": c.usage.completion_tokens if c is not None else None,
        "cached": bool(c.cached) if c is not None else False,
        "finish_reason": c.finish_reason if c is not None else None,
        "created_at": _now(),
        "params": dict(cell.params),
        "description": cell.description,
        **_probe_columns(cell),
    }


def _probe_columns(cell: CellResult) -> dict[str, Any]:
    """The probe columns of a cell (NULL for a cell of the suite's own tests)."""
    tag = cell.probe
    return {"probe_kind": tag.kind if tag else None, "probe_origin": tag.origin if tag else None,
            "probe_transform": tag.transform if tag else None,
            "probe_group": tag.group if tag else None}


def _jsonable(value: Any) -> Any:
    """Coerce to JSON-able data (values from YAML may be dates, sets...)."""
    return json.loads(json.dumps(value, default=str))
