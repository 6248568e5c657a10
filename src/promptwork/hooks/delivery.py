"""Delivering the outbox to webhooks: signed JSON, retried with exponential backoff.

Each (webhook, event) pair is delivered until the receiver answers 2xx, at most
``max_attempts`` times, waiting ``base_s * factor ** (attempt - 1)`` seconds after each failed
attempt; every attempt (status code or error) is logged in the store (``promptwork hooks log``).
Deliveries are at least once: a receiver should ignore an ``X-Promptwork-Delivery`` id it has
already seen. Both ``promptwork serve`` (a background task, :func:`deliver_forever`) and
``promptwork hooks deliver`` (cron, CI) send the deliveries due.

Body::

    {"id": 12, "type": "run.finished", "created_at": "2026-12-07T10:00:00+00:00",
     "data": {...the event's payload...}}
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import httpx
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError

from promptwork.hooks.signing import EVENT_HEADER, ID_HEADER, SIGNATURE_HEADER, signature_header
from promptwork.store.hooks import Delivery, due_deliveries, record_attempt

__all__ = ["DeliveryPolicy", "DeliveryReport", "deliver_due", "deliver_forever", "event_body"]


@dataclass(frozen=True)
class DeliveryPolicy:
    """How deliveries are retried.

    Attributes:
        max_attempts: Attempts before giving up on one delivery.
        base_s: Wait after the first failed attempt (seconds).
        factor: Each further wait is this many times longer.
        timeout_s: Time allowed for one attempt.
    """

    max_attempts: int = 6
    base_s: float = 30.0
    factor: float = 2.0
    timeout_s: float = 10.0

    def wait(self, attempt: int) -> float:
        """Seconds to wait after failed attempt number ``attempt`` (from 1)."""
        return float(self.base_s * self.factor ** (attempt - 1))


@dataclass
class DeliveryReport:
    """What one pass did."""

    delivered: int = 0
    failed: int = 0  # to be retried
    gave_up: int = 0


def event_body(delivery: Delivery) -> bytes:
    """The JSON body of a delivery."""
    created = delivery.created_at
    if created.tzinfo is None:
        created = created.replace(tzinfo=UTC)
    return json.dumps({"id": delivery.event_id, "type": delivery.kind,
                       "created_at": created.isoformat(), "data": delivery.payload},
                      sort_keys=True, separators=(",", ":")).encode()


def deliver_due(engine: Engine, policy: DeliveryPolicy | None = None,
                client: httpx.Client | None = None) -> DeliveryReport:
    """Send every delivery due now, once each; log each attempt."""
    policy = policy or DeliveryPolicy()
    report = DeliveryReport()
    own = client is None
    http = client or httpx.Client(timeout=policy.timeout_s, follow_redirects=False)
    try:
        for delivery in due_deliveries(engine):
            body = event_body(delivery)
            status: int | None = None
            error: str | None = None
            try:
                response = http.post(delivery.url, content=body, headers={
                    "Content-Type": "application/json",
                    "User-Agent": "promptwork-webhooks",
                    EVENT_HEADER: delivery.kind,
                    ID_HEADER: f"{delivery.webhook_id}-{delivery.event_id}",
                    SIGNATURE_HEADER: signature_header(delivery.secret, body),
                })
                status = response.status_code
                ok = 200 <= status < 300
                if not ok:
                    error = f"HTTP {status}"
            except httpx.HTTPError as exc:
                ok, error = False, f"{type(exc).__name__}: {exc}"
            attempt = delivery.attempts + 1
            retry = not ok and attempt < policy.max_attempts
            next_at = (datetime.now(UTC) + timedelta(seconds=policy.wait(attempt))
                       if retry else None)
            record_attempt(engine, delivery, ok, status, error, next_at)
            if ok:
                report.delivered += 1
            elif retry:
                report.failed += 1
            else:
                report.gave_up += 1
    finally:
        if own:
            http.close()
    return report


async def deliver_forever(engine: Engine, policy: DeliveryPolicy | None = None,
                          every_s: float = 5.0) -> None:
    """Deliver what is due every ``every_s`` seconds until cancelled (``promptwork serve``)."""
    while True:
        with contextlib.suppress(SQLAlchemyError):  # the store is busy: try at the next pass
            await asyncio.to_thread(deliver_due, engine, policy)
        await asyncio.sleep(every_s)
