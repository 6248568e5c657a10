"""The workbench application: :func:`create_app` builds it over a store.

Routes (one module per page group): ``runs`` (the run list, rename, delete, live progress),
``matrix`` (one run's matrix), ``cells`` (one cell). Static files (vendored htmx, the CSS,
``app.js``) are served from ``/static``. Every request passes through
:class:`promptwork.web.security.SecurityMiddleware`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import PlainTextResponse, Response
from fastapi.staticfiles import StaticFiles

from promptwork.errors import ConfigError
from promptwork.jobs import JobManager
from promptwork.playground import Playground
from promptwork.store import Store
from promptwork.templating import environment
from promptwork.web import cells, compare, matrix, optimizations, probes, prompts, ratings, runs
from promptwork.web import playground as playground_pages
from promptwork.web.pages import page
from promptwork.web.security import SecurityMiddleware, WebSettings

__all__ = ["create_app"]

STATIC = Path(__file__).parent / "static"


def create_app(store_url: str, settings: WebSettings | None = None,
               root: str | Path | None = None) -> FastAPI:
    """The workbench over the store at ``store_url``.

    Args:
        store_url: SQLAlchemy URL of the store (SQLite file or PostgreSQL).
        settings: How it is served (bound host and port, token); loopback:8484 by default.
        root: The folder whose prompt and suite files the playground may open, write and run
            (default: the current directory).
    """
    settings = settings or WebSettings()
    store = Store(store_url)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        yield
        await app.state.jobs.aclose()  # running suites: left interrupted, resumable
        await app.state.playground.aclose()
        store.close()

    app = FastAPI(title="promptwork", docs_url=None, redoc_url=None, openapi_url=None,
                  lifespan=lifespan)
    app.state.store = store
    app.state.settings = settings
    # The folder whose prompt and suite files the playground and "Run on suite" may use.
    folder = Path(root) if root is not None else Path.cwd()
    app.state.playground = Playground(folder, store)
    app.state.jobs = JobManager(store, folder)
    app.include_router(runs.router)
    app.include_router(matrix.router)
    app.include_router(cells.router)
    app.include_router(probes.router)
    app.include_router(playground_pages.router)
    app.include_router(compare.router)
    app.include_router(prompts.router)
    app.include_router(optimizations.router)
    app.include_router(ratings.router)

    @app.get("/static/style.css", include_in_schema=False)
    def shared_style() -> Response:
        source, _, _ = environment().loader.get_source(  # type: ignore[union-attr]
            environment(), "style.css")
        return Response(source, media_type="text/css")

    app.mount("/static", StaticFiles(directory=STATIC), name="static")

    @app.exception_handler(ConfigError)
    async def config_error(request: Request, exc: ConfigError) -> Response:
        if request.headers.get("hx-request"):
            return PlainTextResponse(str(exc), status_code=400)
        missing = any(s in str(exc) for s in ("no run", "no cell", "no prompt", "no job"))
        return page(request, "web/error.html", status_code=404 if missing else 400,
                    title="error", message=str(exc))

    app.add_middleware(SecurityMiddleware, settings=settings)
    return app
