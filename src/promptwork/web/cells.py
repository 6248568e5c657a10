"""The cell page: ``GET /runs/{id}/cells/{test}/{prompt}/{provider}/{repeat}``."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from promptwork.cases import CellKey
from promptwork.views.cell import build_cell_view
from promptwork.views.ratings import build_cell_ratings
from promptwork.web.pages import page, store_of
from promptwork.web.rater import current_rater

__all__ = ["router"]

router = APIRouter()


@router.get("/runs/{run_id}/cells/{test}/{prompt}/{provider}/{repeat}")
def cell_page(request: Request, run_id: str, test: int, prompt: int, provider: int,
              repeat: int) -> Response:
    """Everything about one cell, and the same test in the other columns."""
    store = store_of(request)
    run = store.get_run(run_id)
    cell = build_cell_view(store, run, test, prompt, provider, repeat)
    ratings = build_cell_ratings(store, run.id, CellKey(prompt, provider, test, repeat),
                                 cell.status, cell.score, current_rater(request))
    return page(request, "web/cell.html", title=f"run {run.id} test #{test}", cell=cell,
                ratings=ratings, next_path=request.url.path)
