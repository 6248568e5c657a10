"""The runs page: every run newest first (searchable, paged), rename, delete, live progress.

``GET /runs?q=TEXT&page=N`` lists; ``POST /runs/{id}/rename`` (form ``description``) and
``POST /runs/{id}/delete`` change the store (the security middleware checks Origin and the CSRF
token); ``GET /runs/{id}/progress`` streams ``progress`` events (``{"done", "total", "status"}``)
while a run is being written, polling the store once a second.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import RedirectResponse, Response
from sse_starlette.sse import EventSourceResponse

from promptwork.store.queries import run_overviews
from promptwork.store.runedits import delete_run, rename_run
from promptwork.web.pages import page, store_of

__all__ = ["router"]

router = APIRouter()

PAGE_SIZE = 25
POLL_S = 1.0


@router.get("/", include_in_schema=False)
def home() -> Response:
    return RedirectResponse("/runs", status_code=303)


@router.get("/runs")
def runs_page(request: Request, q: Annotated[str, Query(max_length=200)] = "",
              page_no: Annotated[int, Query(alias="page", ge=1, le=100_000)] = 1) -> Response:
    """The run list."""
    found = run_overviews(store_of(request), PAGE_SIZE + 1, offset=(page_no - 1) * PAGE_SIZE,
                          search=q.strip() or None)
    more = len(found) > PAGE_SIZE

    def link(n: int) -> str:
        params = {k: v for k, v in (("q", q), ("page", str(n))) if v and v != "1"}
        return "/runs" + (f"?{urlencode(params)}" if params else "")

    return page(request, "web/runs.html", title="promptwork runs", runs=found[:PAGE_SIZE],
                q=q, page_no=page_no, next_url=link(page_no + 1) if more else "",
                prev_url=link(page_no - 1) if page_no > 1 else "")


@router.post("/runs/{run_id}/rename")
def rename(request: Request, run_id: str,
           description: Annotated[str, Form(max_length=500)] = "") -> Response:
    """Set a run's description."""
    rename_run(store_of(request), run_id, description)
    return RedirectResponse("/runs", status_code=303)


@router.post("/runs/{run_id}/delete")
def delete(request: Request, run_id: str) -> Response:
    """Delete a run and its results."""
    delete_run(store_of(request), run_id)
    return RedirectResponse("/runs", status_code=303)


@router.get("/runs/{run_id}/progress")
async def progress(request: Request, run_id: str) -> Response:
    """Server-Sent Events: the run's stored cells until it stops running."""
    store = store_of(request)
    record = await asyncio.to_thread(store.get_run, run_id)

    async def events() -> AsyncIterator[dict[str, str]]:
        last = None
        while True:
            run = await asyncio.to_thread(store.get_run, record.id)
            now = {"done": run.done_cells, "total": run.total_cells,
                   "status": run.shown_status}
            if now != last:
                yield {"event": "progress", "data": json.dumps(now)}
                last = now
            if run.shown_status != "running" or await request.is_disconnected():
                return
            await asyncio.sleep(POLL_S)

    return EventSourceResponse(events(), ping=15)
