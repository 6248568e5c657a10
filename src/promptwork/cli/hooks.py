"""``promptwork hooks``: outgoing webhooks for automations (Zapier, Make, any HTTP tool)."""

from __future__ import annotations

import click
from rich.table import Table

from promptwork.cli.output import console
from promptwork.cli.tokens import db_option, dir_option
from promptwork.store import Store
from promptwork.store.events import EVENT_KINDS
from promptwork.store.hooks import add_webhook, delivery_log, list_webhooks, remove_webhook


@click.group("hooks")
def hooks_group() -> None:
    """Add, list and remove webhooks; deliver pending events; show the delivery log."""


@hooks_group.command("add")
@click.argument("url")
@click.option("--events", required=True, metavar="KINDS",
              help=f"Comma-separated event kinds: {','.join(EVENT_KINDS)}.")
@dir_option
@db_option
def add_command(url: str, events: str, folder: str, db: str | None) -> None:
    """Send events to URL, signed; prints the signing secret once."""
    hook, secret = add_webhook(Store.for_folder(folder, db).engine, url, events.split(","))
    click.echo(secret)
    console(stderr=True).print(
        f"webhook {hook.id} added for {', '.join(hook.events)}; the secret above signs its "
        "deliveries (X-Promptwork-Signature) and is shown only now")


@hooks_group.command("list")
@dir_option
@db_option
def list_command(folder: str, db: str | None) -> None:
    """The webhooks (never their secrets)."""
    table = Table("id", "url", "events", "added")
    for h in list_webhooks(Store.for_folder(folder, db).engine):
        table.add_row(str(h.id), h.url, ", ".join(h.events),
                      h.created_at.strftime("%Y-%m-%d %H:%M"))
    console().print(table)


@hooks_group.command("remove")
@click.argument("hook_id", type=int)
@dir_option
@db_option
def remove_command(hook_id: int, folder: str, db: str | None) -> None:
    """Stop delivering to webhook HOOK_ID (its log is kept)."""
    remove_webhook(Store.for_folder(folder, db).engine, hook_id)
    console().print(f"webhook {hook_id} removed")


@hooks_group.command("deliver")
@click.option("--retry-base", default=30.0, show_default=True, type=float,
              help="Seconds before the first retry; each later one waits twice as long.")
@click.option("--max-attempts", default=6, show_default=True, type=int,
              help="Attempts before giving up on a delivery.")
@dir_option
@db_option
def deliver_command(retry_base: float, max_attempts: int, folder: str, db: str | None) -> None:
    """Send the deliveries due now (for cron or CI); exit 1 if any failed."""
    from promptwork.hooks.delivery import DeliveryPolicy, deliver_due

    report = deliver_due(Store.for_folder(folder, db).engine,
                         DeliveryPolicy(max_attempts=max_attempts, base_s=retry_base))
    console().print(f"{report.delivered} delivered, {report.failed} failed (to retry), "
                    f"{report.gave_up} given up")
    if report.failed or report.gave_up:
        raise click.exceptions.Exit(1)


@hooks_group.command("log")
@click.option("--hook", "hook_id", type=int, help="Only this webhook's attempts.")
@click.option("-n", "--limit", default=50, show_default=True, type=int)
@dir_option
@db_option
def log_command(hook_id: int | None, limit: int, folder: str, db: str | None) -> None:
    """Every delivery attempt, newest first."""
    table = Table("when", "hook", "event", "kind", "attempt", "result", "next try")
    for a in delivery_log(Store.for_folder(folder, db).engine, limit, hook_id):
        result = f"ok {a.status_code}" if a.ok else (a.error or "failed")
        nxt = a.next_at.strftime("%H:%M:%S") if a.next_at else ("" if a.ok else "given up")
        table.add_row(a.at.strftime("%Y-%m-%d %H:%M:%S"), str(a.webhook_id), str(a.event_id),
                      a.kind, str(a.attempt), result, nxt)
    console().print(table)
