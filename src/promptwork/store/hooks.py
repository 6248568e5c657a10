"""Webhooks in the store: subscriptions, the deliveries due, every attempt, and the run events.

* :func:`add_webhook`, :func:`list_webhooks`, :func:`remove_webhook`: subscriptions. A webhook
  receives the events recorded after it was added (``after_event``), of the kinds it names.
* :func:`due_deliveries`: (webhook, event) pairs to send now: never tried, or failed with a
  retry due. :func:`record_attempt` logs each attempt; :func:`delivery_log` reads them back.
* :func:`record_run_events`: when a run finishes, ``run.finished`` and, where a run is
  significantly worse than its labelled baseline, ``run.regressed`` (see its docstring).
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, and_, bindparam, case, func, insert, select, update
from sqlalchemy.engine import Engine

from promptwork.errors import ConfigError
from promptwork.stats import compare_pass_fail
from promptwork.store import schema
from promptwork.store.events import EVENT_KINDS, record_event

__all__ = ["BASELINE_LABEL", "Attempt", "Delivery", "Webhook", "add_webhook", "delivery_log",
           "due_deliveries", "label_target", "list_webhooks", "record_attempt", "record_run_events",
           "remove_webhook"]

#: The label whose version's runs are the baseline of ``run.regressed``.
BASELINE_LABEL = "production"
#: How many complete runs of the same suite are searched for the baseline.
_BASELINE_SEARCH = 50


@dataclass(frozen=True, slots=True)
class Webhook:
    """A subscription (its secret is only read to sign deliveries)."""

    id: int
    url: str
    events: tuple[str, ...]
    created_at: datetime
    active: bool


@dataclass(frozen=True, slots=True)
class Delivery:
    """An event due for one webhook: ``attempts`` made so far."""

    webhook_id: int
    url: str
    secret: str
    event_id: int
    kind: str
    payload: dict[str, Any]
    created_at: datetime
    attempts: int


@dataclass(frozen=True, slots=True)
class Attempt:
    """One logged delivery attempt."""

    id: int
    webhook_id: int
    event_id: int
    kind: str
    attempt: int
    at: datetime
    ok: bool
    status_code: int | None
    error: str | None
    next_at: datetime | None


def add_webhook(engine: Engine, url: str, events: Iterable[str]) -> tuple[Webhook, str]:
    """Subscribe ``url`` to ``events``; returns the webhook and its secret (shown once).

    Raises:
        ConfigError: A URL that is not http(s), or an unknown event kind.
    """
    kinds = tuple(dict.fromkeys(e.strip() for e in events if e.strip()))
    unknown = [k for k in kinds if k not in EVENT_KINDS]
    if unknown or not kinds:
        raise ConfigError(f"unknown event kind {', '.join(unknown) or '(none given)'}; "
                          f"known: {', '.join(EVENT_KINDS)}")
    if not url.startswith(("http://", "https://")):
        raise ConfigError(f"a webhook URL must start with http:// or https://, got {url!r}")
    secret = "whsec_" + secrets.token_urlsafe(32)
    now = datetime.now(UTC)
    with engine.begin() as conn:
        last = conn.execute(select(func.max(schema.hook_events.c.id))).scalar_one_or_none()
        result = conn.execute(insert(schema.webhooks).values(
            url=url, events=list(kinds), secret=secret, after_event=int(last or 0),
            created_at=now))
        key = result.inserted_primary_key
    return Webhook(int(key[0]) if key else 0, url, kinds, now, True), secret


def list_webhooks(engine: Engine, removed: bool = False) -> list[Webhook]:
    """The webhooks, oldest first (removed ones too when ``removed``)."""
    w = schema.webhooks
    query = select(w.c.id, w.c.url, w.c.events, w.c.created_at, w.c.removed_at).order_by(w.c.id)
    if not removed:
        query = query.where(w.c.removed_at.is_(None))
    with engine.connect() as conn:
        rows = conn.execute(query).mappings().all()
    return [Webhook(int(r["id"]), r["url"], tuple(r["events"]), r["created_at"],
                    r["removed_at"] is None) for r in rows]


def remove_webhook(engine: Engine, webhook_id: int) -> None:
    """Stop delivering to a webhook (its delivery log is kept).

    Raises:
        ConfigError: No such active webhook.
    """
    w = schema.webhooks
    with engine.begin() as conn:
        done = conn.execute(update(w).where(w.c.id == webhook_id, w.c.removed_at.is_(None))
                            .values(removed_at=datetime.now(UTC))).rowcount
    if not done:
        raise ConfigError(f"no webhook {webhook_id} (see: promptwork hooks list)")


def due_deliveries(engine: Engine, now: datetime | None = None, limit: int = 200
                   ) -> list[Delivery]:
    """Deliveries to attempt now, oldest event first: never tried, or a failed attempt whose
    retry is due (not yet delivered, not given up)."""
    now = now or datetime.now(UTC)
    w, e, d = schema.webhooks, schema.hook_events, schema.hook_deliveries
    finished = case((d.c.ok.is_(True), 1), (d.c.next_at.is_(None), 1), else_=0)
    state = (select(d.c.webhook_id, d.c.event_id, func.count().label("attempts"),
                    func.max(finished).label("finished"), func.max(d.c.next_at).label("next_at"))
             .group_by(d.c.webhook_id, d.c.event_id).subquery())
    query = (
        select(w.c.id, w.c.url, w.c.secret, w.c.events, e.c.id.label("event_id"), e.c.kind,
               e.c.payload, e.c.created_at, state.c.attempts, state.c.finished, state.c.next_at)
        .join(e, e.c.id > w.c.after_event)
        .outerjoin(state, and_(state.c.webhook_id == w.c.id, state.c.event_id == e.c.id))
        .where(w.c.removed_at.is_(None), func.coalesce(state.c.finished, 0) == 0)
        .order_by(e.c.id, w.c.id)
    )
    out: list[Delivery] = []
    with engine.connect() as conn:
        for r in conn.execute(query).mappings():
            if r["kind"] not in r["events"]:
                continue
            nxt = r["next_at"]
            if nxt is not None and _aware(nxt) > now:
                continue
            out.append(Delivery(int(r["id"]), r["url"], r["secret"], int(r["event_id"]),
                                r["kind"], dict(r["payload"]), r["created_at"],
                                int(r["attempts"] or 0)))
            if len(out) >= limit:
                break
    return out


def _aware(moment: datetime) -> datetime:
    """SQLite returns naive datetimes: they are UTC."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def record_attempt(engine: Engine, delivery: Delivery, ok: bool, status_code: int | None,
                   error: str | None, next_at: datetime | None) -> None:
    """Log one attempt; ``next_at`` is when to retry (None: delivered, or given up)."""
    with engine.begin() as conn:
        conn.execute(insert(schema.hook_deliveries).values(
            webhook_id=delivery.webhook_id, event_id=delivery.event_id,
            attempt=delivery.attempts + 1, at=datetime.now(UTC), ok=ok, status_code=status_code,
            error=error[:500] if error else None, next_at=None if ok else next_at))


def delivery_log(engine: Engine, limit: int = 50, webhook_id: int | None = None) -> list[Attempt]:
    """The newest attempts first."""
    d, e = schema.hook_deliveries, schema.hook_events
    query = (select(d, e.c.kind).join(e, e.c.id == d.c.event_id)
             .order_by(d.c.id.desc()).limit(limit))
    if webhook_id is not None:
        query = query.where(d.c.webhook_id == webhook_id)
    with engine.connect() as conn:
        rows = conn.execute(query).mappings().all()
    return [Attempt(int(r["id"]), int(r["webhook_id"]), int(r["event_id"]), r["kind"],
                    int(r["attempt"]), r["at"], bool(r["ok"]), r["status_code"], r["error"],
                    r["next_at"]) for r in rows]


# -- run events ------------------------------------------------------------------------------

#: Finds the version hash that a label points at for a prompt identity (None: no such label).
LabelLookup = Callable[[Engine, str, str], "str | None"]


def record_run_events(engine: Engine, run_id: str, labels: LabelLookup | None = None) -> None:
    """Record ``run.finished`` for a finished run, and ``run.regressed`` for each prompt x model
    significantly worse than its baseline.

    The baseline of a prompt of an evaluation run: the version its ``production`` label points
    at, as run by the latest *complete* evaluation run of the same suite file (other than this
    one) that used that version. Optimization runs are not checked. The cells of this run's
    prompt and of that version are paired on the same model (provider id), test index, repeat
    and variables; error cells are left out. The run regressed when McNemar's exact test
    (:func:`promptwork.stats.compare_pass_fail`) finds a significant difference (p < 0.05)
    with more regressions (baseline passed, this run failed) than fixes.
    Nothing is recorded for a prompt without a ``production`` label or without a baseline run.
    """
    r, res = schema.runs, schema.results
    with engine.connect() as conn:
        run = conn.execute(select(r).where(r.c.id == run_id)).mappings().first()
        if run is None:
            return
        counts = conn.execute(select(
            func.count(),
            func.sum(case((and_(res.c.error.is_(None), res.c.success.is_(True)), 1), else_=0)),
            func.sum(case((res.c.error.is_not(None), 1), else_=0)),
        ).where(res.c.run_id == run_id)).one()
    cells, passed, errors = int(counts[0]), int(counts[1] or 0), int(counts[2] or 0)
    kind = (run["settings"] or {}).get("kind") or "eval"
    record_event(engine, "run.finished", {
        "run_id": run_id, "kind": kind,
        "status": run["status"], "suite": run["suite_path"],
        "description": run["description"], "cells": cells, "passed": passed,
        "failed": cells - passed - errors, "errors": errors})
    if run["status"] != "complete" or not run["suite_path"] or kind != "eval":
        return  # an optimization's candidates are meant to differ: no regression check
    lookup = labels or _store_label
    for pi, prompt in enumerate((run["settings"] or {}).get("prompts", [])):
        key = str(prompt.get("label") or "")
        target = lookup(engine, key, BASELINE_LABEL) if key else None
        if not target:
            continue
        found = _baseline_run(engine, dict(run), target)
        if found is None:
            continue
        base_id, bi = found
        for model, cmp_payload in _paired(engine, run_id, pi, base_id, bi).items():
            cmp = compare_pass_fail(cmp_payload[0], cmp_payload[1])
            if cmp.significant and cmp.b > cmp.c:
                record_event(engine, "run.regressed", {
                    "run_id": run_id, "baseline_run_id": base_id, "prompt": key,
                    "version": prompt.get("hash"), "baseline_version": target,
                    "label": BASELINE_LABEL, "model": model, "n": cmp.n,
                    "regressions": cmp.b, "fixes": cmp.c, "p_value": cmp.p_value,
                    "verdict": cmp.verdict})


def _baseline_run(engine: Engine, run: Mapping[str, Any], target: str) -> tuple[str, int] | None:
    """The latest other complete run of the same suite that used version ``target``, and the
    index of that version in it."""
    r = schema.runs
    query = (select(r.c.id, r.c.settings)
             .where(r.c.suite_path == run["suite_path"], r.c.status == "complete",
                    r.c.id != run["id"], r.c.created_at <= run["created_at"])
             .order_by(r.c.created_at.desc(), r.c.id.desc()).limit(_BASELINE_SEARCH))
    with engine.connect() as conn:
        for row in conn.execute(query).mappings():
            if ((row["settings"] or {}).get("kind") or "eval") != "eval":
                continue
            for bi, p in enumerate((row["settings"] or {}).get("prompts", [])):
                if p.get("hash") == target:
                    return str(row["id"]), bi
    return None


def _paired(engine: Engine, run_id: str, pi: int, base_id: str, bi: int
            ) -> dict[str, tuple[list[bool], list[bool]]]:
    """Per model: the baseline's and the run's verdicts on the same tests, in the same order."""
    res = schema.results
    cols = (res.c.provider_id, res.c.test_idx, res.c.repeat_idx, res.c.vars, res.c.success)

    def verdicts(rid: str, idx: int) -> dict[tuple[str, int, int, str], bool]:
        with engine.connect() as conn:
            rows = conn.execute(select(*cols).where(
                res.c.run_id == rid, res.c.prompt_idx == idx, res.c.error.is_(None))).all()
        return {(str(m), int(t), int(k), json.dumps(v, sort_keys=True)): bool(ok)
                for m, t, k, v, ok in rows}

    base, new = verdicts(base_id, bi), verdicts(run_id, pi)
    out: dict[str, tuple[list[bool], list[bool]]] = {}
    for key in sorted(base.keys() & new.keys()):
        a, b = out.setdefault(key[0], ([], []))
        a.append(base[key])
        b.append(new[key])
    return out


#: Prepared once: a server looks a label up on every request that names one.
_LABEL = select(schema.library_labels.c.hash, schema.library_labels.c.path).where(
    schema.library_labels.c.name == bindparam("n"), schema.library_labels.c.label == bindparam("l"))


def label_target(bind: Engine | Connection, name: str, label: str
                 ) -> tuple[str, str | None] | None:
    """The version hash ``name``'s ``label`` points at and its file's path (the store's mirror
    of the library's ``prompts.lock.yaml``), or None: a lookup cheap enough for every request
    (``bind``: an engine, or an open connection whose transaction is ended after the read)."""
    if isinstance(bind, Connection):
        try:
            row = bind.execute(_LABEL, {"n": name, "l": label}).first()
        finally:
            bind.rollback()
    else:
        with bind.connect() as conn:
            row = conn.execute(_LABEL, {"n": name, "l": label}).first()
    return None if row is None else (str(row[0]), row[1])


def _store_label(engine: Engine, name: str, label: str) -> str | None:
    found = label_target(engine, name, label)
    return found[0] if found else None
