"""``promptwork tokens``: API tokens for ``promptwork serve`` (stored hashed, shown once)."""

from __future__ import annotations

import click
from rich.table import Table

from promptwork.cli.output import console
from promptwork.store import Store
from promptwork.store.tokens import SCOPES, create_token, list_tokens, revoke_token

#: The store options of the serving commands (tokens, hooks).
db_option = click.option("--db", metavar="URL",
                         help="Store URL (default: SQLite in .promptwork/).")
dir_option = click.option("-C", "--dir", "folder", default=".", metavar="DIR",
                          help="Folder whose .promptwork/ store to use (default: here).")


@click.group("tokens")
def tokens_group() -> None:
    """Create, list and revoke API tokens (sent as `Authorization: Bearer TOKEN`)."""


@tokens_group.command("create")
@click.option("--scope", type=click.Choice(SCOPES), required=True,
              help="read: get, search, render; run: also run prompts and suites; admin: all.")
@click.option("--name", help="A name to recognise it by (default: SCOPE-token).")
@dir_option
@db_option
def create_command(scope: str, name: str | None, folder: str, db: str | None) -> None:
    """Create a token and print it once (only its hash is stored)."""
    info, text = create_token(Store.for_folder(folder, db).engine, scope, name)
    click.echo(text)
    console(stderr=True).print(f"token {info.id} ({info.name}, scope {info.scope}) created; "
                               "it is shown only now: keep it somewhere safe")


@tokens_group.command("list")
@dir_option
@db_option
def list_command(folder: str, db: str | None) -> None:
    """The tokens (never their text): id, name, scope, first characters, state."""
    table = Table("id", "name", "scope", "starts with", "created", "state")
    for t in list_tokens(Store.for_folder(folder, db).engine):
        table.add_row(str(t.id), t.name, t.scope, t.prefix + "…",
                      t.created_at.strftime("%Y-%m-%d %H:%M"),
                      "active" if t.active else "revoked")
    console().print(table)


@tokens_group.command("revoke")
@click.argument("token")
@dir_option
@db_option
def revoke_command(token: str, folder: str, db: str | None) -> None:
    """Revoke TOKEN (its id, name or first characters): refused at once by the server."""
    info = revoke_token(Store.for_folder(folder, db).engine, token)
    console().print(f"token {info.id} ({info.name}) revoked")
