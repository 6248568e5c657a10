"""The event outbox: what happened in the store that automations may want to hear of.

Whoever makes something happen (a run finishing, a label moving, a new prompt version) records
an event here, in the same store; delivering events to webhooks is :mod:`promptwork.hooks`'
job, so recording never waits on the network and an event is never lost when a receiver is down.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import insert
from sqlalchemy.engine import Engine

from promptwork.store import schema

#: The kinds of event a webhook can subscribe to.
EVENT_KINDS = ("run.finished", "run.regressed", "label.moved", "prompt.versioned")


def record_event(engine: Engine, kind: str, payload: Mapping[str, Any]) -> int:
    """Record one event in the outbox and return its id.

    Args:
        engine: The store's engine (``Store.engine``).
        kind: One of :data:`EVENT_KINDS`.
        payload: JSON-serialisable facts of the event (never secrets).
    """
    if kind not in EVENT_KINDS:
        raise ValueError(f"unknown event kind {kind!r}; known: {', '.join(EVENT_KINDS)}")
    with engine.begin() as conn:
        result = conn.execute(insert(schema.hook_events).values(
            kind=kind, payload=dict(payload), created_at=datetime.now(UTC)))
        key = result.inserted_primary_key
        return int(key[0]) if key else 0
