"""``promptwork serve``: the REST API that serves the prompt library to applications."""

from __future__ import annotations

from pathlib import Path

import click

from promptwork.cli.output import console
from promptwork.store.db import default_url


@click.command("serve")
@click.option("--db", metavar="URL", help="Store URL (default: SQLite in .promptwork/).")
@click.option("-C", "--dir", "folder", default=".", metavar="DIR",
              help="Folder whose .promptwork/ store to use, and whose suites POST /v1/evals "
                   "may run (default: here).")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8800, show_default=True, type=int, help="Port to listen on.")
@click.option("--rate", default=20.0, show_default=True, type=float,
              help="Requests a second allowed per token (0: no limit).")
@click.option("--burst", default=60, show_default=True, type=int,
              help="Requests a token may make at once before the rate applies.")
@click.option("--no-deliver", is_flag=True,
              help="Do not deliver webhooks from this process (use `promptwork hooks deliver`).")
def serve_command(db: str | None, folder: str, host: str, port: int, rate: float, burst: int,
                  no_deliver: bool) -> None:
    """Serve prompts over HTTP (OpenAPI schema at /openapi.json).

    Every request needs `Authorization: Bearer TOKEN` (promptwork tokens create).
    """
    import uvicorn

    from promptwork.serve.app import ServeSettings, create_app

    settings = ServeSettings(rate=rate or None, burst=burst,
                             deliver_every_s=None if no_deliver else 5.0,
                             root=Path(folder).resolve(), host=host, port=port)
    app = create_app(db or default_url(folder), settings)
    console(stderr=True).print(f"serving prompts on http://{host}:{port} "
                               f"(OpenAPI: /openapi.json)")
    uvicorn.run(app, host=host, port=port, log_level="warning")
