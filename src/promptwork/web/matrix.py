"""The matrix page of one run: ``GET /runs/{id}``.

Its URL holds its state: ``mode`` (all, failures, passes, errors, different), ``q`` (search in
vars and answers), ``re=1`` (``q`` is a regular expression), ``check`` (a check type or named
metric), ``cols`` (visible columns as ``P.M`` pairs, comma-separated), ``n`` (tests per page),
and the paging key ``after`` or ``before`` (a ``test_idx``). With the ``HX-Request`` header
(htmx) only the matrix partial is sent back.
"""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from promptwork.errors import ConfigError
from promptwork.store.matrix import MODES, MatrixFilter, Mode
from promptwork.views.judges import run_judges
from promptwork.views.matrix import PAGE_SIZES, MatrixView, build_matrix_view
from promptwork.web.pages import page, store_of

__all__ = ["matrix_url", "router"]

router = APIRouter()


def _columns(text: str) -> tuple[tuple[int, int], ...]:
    out = []
    for part in text.split(","):
        p, dot, m = part.strip().partition(".")
        if dot and p.isdigit() and m.isdigit():
            out.append((int(p), int(m)))
    return tuple(out)


def matrix_url(view: MatrixView, **changes: str | int | None) -> str:
    """The matrix URL of ``view`` with some parameters changed (None removes one)."""
    flt = view.filter
    params: dict[str, str | int | None] = {
        "mode": flt.mode if flt.mode != "all" else None, "q": flt.search or None,
        "re": 1 if flt.regex else None, "check": flt.check or None,
        "cols": ",".join(f"{p}.{m}" for p, m in flt.columns) or None,
        "n": view.limit if view.limit != 50 else None}
    params.update(changes)
    kept = {k: str(v) for k, v in params.items() if v is not None and v != ""}
    return f"/runs/{view.run.id}" + (f"?{urlencode(kept)}" if kept else "")


@router.get("/runs/{run_id}")
def matrix_page(
    request: Request,
    run_id: str,
    mode: Annotated[str, Query(max_length=20)] = "all",
    q: Annotated[str, Query(max_length=200)] = "",
    re: Annotated[str, Query(max_length=5)] = "",
    check: Annotated[str, Query(max_length=200)] = "",
    cols: Annotated[str, Query(max_length=2000)] = "",
    col: Annotated[list[str] | None, Query(max_length=20)] = None,
    n: Annotated[int, Query(ge=1, le=500)] = 50,
    after: Annotated[int | None, Query(ge=-1)] = None,
    before: Annotated[int | None, Query(ge=0)] = None,
) -> Response:
    """One page of the run's matrix."""
    store = store_of(request)
    run = store.get_run(run_id)
    if mode not in MODES:
        raise ConfigError(f"unknown mode {mode!r}; use one of {', '.join(MODES)}")
    chosen: Mode = mode  # narrowed by the check above
    flt = MatrixFilter(chosen, q.strip(), re in ("1", "on", "true"), check.strip(),
                       _columns(",".join(col) if col else cols))
    view = build_matrix_view(store, run, flt, after=after, before=before, limit=n)
    partial = bool(request.headers.get("hx-request")
                   and request.headers.get("hx-target") == "matrix")
    template = "partials/matrix.html" if partial else "web/matrix.html"
    judges = None if partial else run_judges(store, [run.id])
    return page(request, template, title=f"run {run.id}", view=view, modes=MODES,
                page_sizes=PAGE_SIZES, url=lambda **kw: matrix_url(view, **kw), judges=judges)
