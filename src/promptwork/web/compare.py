"""The compare page: ``GET /compare?a=RUN&b=RUN`` (or ``?a=RUN&ca=COL&cb=COL``: two columns of
one run). All its state is in the URL: columns, ``flips`` (all, regressions, fixes), ``q``
(text search), ``pair``, ``page`` and ``test``/``repeat`` (the answers diffed)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from promptwork.store.queries import run_overviews
from promptwork.views.compare import FLIP_FILTERS, build_compare
from promptwork.web.pages import page, store_of

__all__ = ["router"]

router = APIRouter()


@router.get("/compare")
def compare_page(request: Request, a: str = "", b: str = "", ca: str = "", cb: str = "",
                 flips: str = "all", q: str = "", pair: int | None = None, page_no: int = 0,
                 test: int | None = None, repeat: int = 0) -> Response:
    """A baseline (A) against a run or column (B): deltas, verdicts, flipped tests, a diff."""
    store = store_of(request)
    runs = run_overviews(store, limit=50)
    view = None
    if a and (b or ca or cb):  # a baseline alone (the matrix page's link): choose B first
        view = build_compare(store, a, b or None, ca or None, cb or None, flips=flips, search=q,
                             pair=pair, page=page_no, diff_test=test, diff_repeat=repeat)
    state = {"a": a, "b": b, "ca": ca, "cb": cb, "flips": flips, "q": q}
    return page(request, "web/compare.html", title="compare", view=view, runs=runs,
                state=state, filters=FLIP_FILTERS)
