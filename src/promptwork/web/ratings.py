"""Human ratings in the workbench: rate a cell, withdraw, the rating queue, who rates, judges.

* ``POST /runs/{id}/cells/{test}/{prompt}/{model}/{repeat}/rating``: form ``verdict`` (``pass``
  or ``fail``), ``score`` (optional, 0 to 1), ``comment`` (optional), ``next`` (where to go
  after, a local path); it adds the current rater's rating (replacing their earlier one).
* ``POST .../rating/withdraw``: withdraws the current rater's rating of the cell.
* ``GET /runs/{id}/rate?cell=T.P.M.R``: the keyboard-driven rating queue (``app.js``): the
  position is in the URL; without one it opens on the rater's first unrated cell.
* ``GET /rater``, ``POST /rater`` (form ``name``, ``next``): who rates (a cookie).
* ``GET /judges``: the judges' agreement with the ratings, across runs and run by run.

The security middleware checks Origin and the CSRF token of every POST. A request that asks for
JSON (``Accept: application/json``, as ``app.js`` does) gets ``{"ok": true}`` or
``{"error": message}`` with status 400; a plain form post is redirected (303) or shown the
error page.
"""

from __future__ import annotations

import math
from typing import Annotated

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response

from promptwork.cases import CellKey
from promptwork.errors import ConfigError
from promptwork.store.ratings import COMMENT_MAX, add_rating, withdraw_rating
from promptwork.views.ratings import (
    automated_of,
    build_judges_page,
    build_queue_view,
    cell_path,
)
from promptwork.web.pages import page, store_of
from promptwork.web.rater import current_rater, set_rater_cookie

__all__ = ["router"]

router = APIRouter()

CELL = "/runs/{run_id}/cells/{test}/{prompt}/{provider}/{repeat}"


def _wants_json(request: Request) -> bool:
    return "application/json" in request.headers.get("accept", "")


def _local(path: str, fallback: str) -> str:
    """``path`` if it is a path of this app (no scheme, no host), else ``fallback``."""
    if path.startswith("/") and not path.startswith(("//", "/\\")) and "\n" not in path \
            and "\r" not in path:
        return path
    return fallback


def _done(request: Request, target: str, **data: object) -> Response:
    if _wants_json(request):
        return JSONResponse({"ok": True, **data})
    return RedirectResponse(target, status_code=303)


def _refused(request: Request, error: ConfigError) -> Response:
    if _wants_json(request):
        return JSONResponse({"error": str(error)}, status_code=400)
    raise error


def _score(text: str) -> float | None:
    text = text.strip()
    if not text:
        return None
    try:
        value = float(text)
    except ValueError:
        raise ConfigError(f"the score must be a number from 0 to 1 (or left empty), got "
                          f"{text[:40]!r}") from None
    if not math.isfinite(value) or not 0 <= value <= 1:
        raise ConfigError(f"the score must be a number from 0 to 1 (or left empty), got "
                          f"{text[:40]!r}")
    return value


@router.post(CELL + "/rating")
def rate_cell(
    request: Request, run_id: str, test: int, prompt: int, provider: int, repeat: int,
    verdict: Annotated[str, Form(max_length=10)] = "",
    score: Annotated[str, Form(max_length=50)] = "",
    comment: Annotated[str, Form(max_length=COMMENT_MAX + 100)] = "",
    next_path: Annotated[str, Form(alias="next", max_length=2000)] = "",
) -> Response:
    """Record the current rater's rating of a cell."""
    store = store_of(request)
    cell = CellKey(prompt, provider, test, repeat)
    try:
        run = store.get_run(run_id)
        if verdict not in ("pass", "fail"):
            raise ConfigError("choose pass or fail: a rating needs a verdict (keys p and f)")
        rating = add_rating(store, run.id, cell, passed=verdict == "pass",
                            rater=current_rater(request), score=_score(score),
                            comment=comment)
    except ConfigError as exc:
        return _refused(request, exc)
    return _done(request, _local(next_path, cell_path(run.id, cell)), rating=rating.to_dict())


@router.post(CELL + "/rating/withdraw")
def withdraw(
    request: Request, run_id: str, test: int, prompt: int, provider: int, repeat: int,
    next_path: Annotated[str, Form(alias="next", max_length=2000)] = "",
) -> Response:
    """Withdraw the current rater's rating of a cell."""
    store = store_of(request)
    cell = CellKey(prompt, provider, test, repeat)
    try:
        run = store.get_run(run_id)
        automated_of(store, run.id, cell)  # the cell exists
        count = withdraw_rating(store, run.id, cell, current_rater(request))
    except ConfigError as exc:
        return _refused(request, exc)
    return _done(request, _local(next_path, cell_path(run.id, cell)), withdrawn=count)


@router.get("/runs/{run_id}/rate")
def queue_page(request: Request, run_id: str,
               cell: Annotated[str, Query(max_length=60)] = "") -> Response:
    """The keyboard-driven rating queue of a run."""
    store = store_of(request)
    run = store.get_run(run_id)
    view = build_queue_view(store, run, current_rater(request), cell or None)
    return page(request, "web/rate.html", title=f"rate run {run.id}", queue=view)


@router.get("/rater")
def rater_page(request: Request,
               next_path: Annotated[str, Query(alias="next", max_length=2000)] = "") -> Response:
    """The form that sets who rates."""
    return page(request, "web/rater.html", title="who rates", next_path=_local(next_path, ""),
                current=current_rater(request))


@router.post("/rater")
def set_rater(request: Request, name: Annotated[str, Form(max_length=500)] = "",
              next_path: Annotated[str, Form(alias="next", max_length=2000)] = "") -> Response:
    """Set who rates (a cookie), then go back."""
    response: Response = RedirectResponse(_local(next_path, "/runs"), status_code=303)
    if _wants_json(request):
        response = JSONResponse({"ok": True})
    try:
        set_rater_cookie(response, name)
    except ConfigError as exc:
        return _refused(request, exc)
    return response


@router.get("/judges")
def judges_page(request: Request) -> Response:
    """Each model-graded check's agreement with the human ratings, across runs."""
    return page(request, "web/judges.html", title="judges",
                judges_page=build_judges_page(store_of(request)))
