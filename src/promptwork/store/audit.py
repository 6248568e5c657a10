"""The audit log: who moved which label, who ran which prompt or started which evaluation.

Entries are appended by whoever acts (the REST API with the token's name as the actor) and
never changed. They hold names and hashes, never secrets or variable values. Label moves are
read from the event outbox (``label.moved``, recorded by :mod:`promptwork.library.lock` with
who moved the label), so they are in the log however the label was moved, without a second
copy.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.engine import Engine

from promptwork.store import schema

__all__ = ["LABEL_MOVED", "AuditEntry", "audit", "audit_entries"]

LABEL_MOVED = "label.moved"


@dataclass(frozen=True, slots=True)
class AuditEntry:
    """One line of the audit log."""

    id: int
    at: datetime
    actor: str
    action: str
    subject: str
    detail: dict[str, Any] | None


def audit(engine: Engine, actor: str, action: str, subject: str,
          detail: Mapping[str, Any] | None = None) -> None:
    """Append an entry (``action``: ``label.moved``, ``prompt.run``, ``eval.started``...)."""
    with engine.begin() as conn:
        conn.execute(insert(schema.audit_log).values(
            at=datetime.now(UTC), actor=actor, action=action, subject=subject,
            detail=dict(detail) if detail is not None else None))


def audit_entries(engine: Engine, limit: int = 100, action: str | None = None) -> list[AuditEntry]:
    """The newest entries first (only ``action`` ones when given), label moves included."""
    a, e = schema.audit_log, schema.hook_events
    out: list[AuditEntry] = []
    with engine.connect() as conn:
        if action != LABEL_MOVED:
            query = select(a).order_by(a.c.id.desc()).limit(limit)
            if action:
                query = query.where(a.c.action == action)
            out += [AuditEntry(int(r["id"]), _aware(r["at"]), r["actor"], r["action"],
                               r["subject"], r["detail"])
                    for r in conn.execute(query).mappings()]
        if action in (None, LABEL_MOVED):
            moves = (select(e.c.id, e.c.created_at, e.c.payload).where(e.c.kind == LABEL_MOVED)
                     .order_by(e.c.id.desc()).limit(limit))
            for r in conn.execute(moves).mappings():
                p = dict(r["payload"])
                out.append(AuditEntry(int(r["id"]), _aware(r["created_at"]),
                                      str(p.get("who") or "?"), LABEL_MOVED,
                                      f"{p.get('name')}:{p.get('label')}", p))
    out.sort(key=lambda entry: entry.at, reverse=True)
    return out[:limit]


def _aware(moment: datetime) -> datetime:
    """SQLite returns naive datetimes: they are UTC."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
