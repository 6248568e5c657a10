"""The optimization pages: ``GET /optimizations`` (the stored optimize runs, newest first,
paged by ``page``) and ``GET /optimizations/{run}`` (one optimization: its provenance, the
best score against task-model calls with every candidate as a dot, the candidates, seed vs best
on the test split with 95% intervals and a plain verdict, and the ablation)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from promptwork.views.optimizations import build_optimization, optimizations_page
from promptwork.web.pages import page, store_of

__all__ = ["router"]

router = APIRouter()

PAGE_SIZE = 50


@router.get("/optimizations")
def optimization_list(request: Request,
                      page_no: Annotated[int, Query(alias="page", ge=1, le=100_000)] = 1
                      ) -> Response:
    """The stored optimizations."""
    found = optimizations_page(store_of(request), PAGE_SIZE + 1, (page_no - 1) * PAGE_SIZE)
    return page(request, "web/optimizations.html", title="optimizations",
                items=found[:PAGE_SIZE], page_no=page_no,
                next_url=f"/optimizations?page={page_no + 1}" if len(found) > PAGE_SIZE else "",
                prev_url=(f"/optimizations?page={page_no - 1}" if page_no > 2
                          else "/optimizations" if page_no == 2 else ""))


@router.get("/optimizations/{run_id}")
def optimization_detail(request: Request, run_id: str) -> Response:
    """One optimization."""
    view = build_optimization(store_of(request), run_id)
    return page(request, "web/optimization.html", title=f"optimization {view.item.run_id}",
                view=view)
