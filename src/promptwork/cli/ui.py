"""``promptwork ui``: serve the web workbench over the store (uvicorn)."""

from __future__ import annotations

import secrets
import webbrowser

import click

from promptwork.cli.output import console
from promptwork.cli.runs import open_store
from promptwork.secrets import Secrets

#: Where the access token may be set (environment, or the ``[keys]`` table of the config file).
TOKEN_VAR = "PROMPTWORK_UI_TOKEN"  # noqa: S105 (a variable name)


@click.command("ui")
@click.option("-C", "--dir", "folder", default=".", metavar="DIR",
              help="Folder whose .promptwork/ store to use (default: here).")
@click.option("--db", metavar="URL", help="Store URL (default: SQLite in .promptwork/).")
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to bind; any other than loopback requires the access token.")
@click.option("--port", default=8484, show_default=True, type=click.IntRange(1, 65535))
@click.option("--open", "open_browser", is_flag=True, help="Open the workbench in a browser.")
def ui_command(folder: str, db: str | None, host: str, port: int, open_browser: bool) -> None:
    """Serve the web workbench: runs, matrices and cells, over the same store as the CLI.

    Bound to 127.0.0.1 by default. Bound to another address, every request needs an access
    token: $PROMPTWORK_UI_TOKEN (or PROMPTWORK_UI_TOKEN in the config file's [keys]), else a new
    one printed here.
    """
    import uvicorn  # imported here: the other commands never load the web stack

    from promptwork.web.app import create_app
    from promptwork.web.security import WebSettings, is_loopback

    store = open_store(folder, db)
    url = store.url
    store.close()
    token = None
    if not is_loopback(host):
        token = Secrets().get(TOKEN_VAR) or secrets.token_urlsafe(24)
    settings = WebSettings(host=host, port=port, token=token)
    app = create_app(url, settings, root=folder)
    shown_host = f"[{host}]" if ":" in host else host
    address = f"http://{shown_host}:{port}/" + (f"?token={token}" if token else "")
    out = console(stderr=True)
    out.print(f"promptwork workbench on {address} (store: {app.state.store.display_url})",
              markup=False, soft_wrap=True)
    if token:
        out.print("bound to a non-loopback address: the URL above holds the access token",
                  style="yellow", markup=False)
    if open_browser:
        webbrowser.open(address)
    uvicorn.run(app, host=host, port=port, log_level="warning", server_header=False)
