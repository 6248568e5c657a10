"""The prompt pages: ``GET /prompts`` (every stored prompt with its versions, searchable) and
``GET /prompts/{key}`` (one prompt: its versions, a diff between two of them, the runs that used
each version and their pass rates over time as a small chart).

Their URLs hold their state: ``q`` (search), ``candidates=1`` (optimization candidates too),
``a`` and ``b`` (the diffed versions, hash prefixes) and ``unit`` (``line`` or ``word``).
A prompt's key may hold slashes (it is often a path): links quote it whole.
"""

from __future__ import annotations

from typing import Annotated
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from promptwork.errors import ConfigError
from promptwork.views.prompts import prompt_page, prompts_page
from promptwork.web.pages import page, store_of

__all__ = ["prompt_url", "router"]

router = APIRouter()


def prompt_url(key: str, **params: str | None) -> str:
    """The path of a prompt's page (the key quoted whole), with some query parameters."""
    kept = {k: v for k, v in params.items() if v}
    return f"/prompts/{quote(key, safe='')}" + (f"?{urlencode(kept)}" if kept else "")


def _flag(value: str) -> bool:
    return value in ("1", "on", "true")


@router.get("/prompts")
def prompts_list(request: Request, q: Annotated[str, Query(max_length=200)] = "",
                 candidates: Annotated[str, Query(max_length=5)] = "") -> Response:
    """Every stored prompt, the one with the newest version first."""
    view = prompts_page(store_of(request), q.strip(), _flag(candidates))
    return page(request, "web/prompts.html", title="prompts", view=view,
                link=lambda key: prompt_url(key, candidates="1" if view.candidates else None))


@router.get("/prompts/{key:path}")
def prompt_detail(request: Request, key: str,
                  a: Annotated[str, Query(max_length=64)] = "",
                  b: Annotated[str, Query(max_length=64)] = "",
                  unit: Annotated[str, Query(max_length=5)] = "line",
                  candidates: Annotated[str, Query(max_length=5)] = "") -> Response:
    """One prompt: versions, a diff, the runs that used them, the pass-rate chart."""
    if unit not in ("line", "word"):
        raise ConfigError(f"unknown diff unit {unit!r}; use word or line")
    view = prompt_page(store_of(request), key, a.strip() or None, b.strip() or None,
                       "word" if unit == "word" else "line", _flag(candidates))
    return page(request, "web/prompt.html", title=f"prompt {view.group.key}", view=view,
                unit=unit, candidates=_flag(candidates),
                self_url=prompt_url(view.group.key, candidates="1" if _flag(candidates) else None))
