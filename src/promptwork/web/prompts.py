"""The prompt pages: ``GET /prompts`` (every stored prompt with its versions, searchable) and
``GET /prompts/{key}`` (one prompt: its versions, a diff between two of them, the runs that used
each version and their pass rates over time as a small chart).

Their URLs hold their state: ``q`` (search), ``candidates=1`` (optimization candidates too),
``a`` and ``b`` (the diffed versions, hash prefixes) and ``unit`` (``line`` or ``word``); the
library search's ``find``, ``suite``, ``model``, ``min_score``, ``label``, ``tag``, ``tested``
and ``semantic=1``. A prompt's key may hold slashes (it is often a path): links quote it whole.

``GET /api/prompts/search`` answers the same library search as JSON (``q`` or ``find`` and the
same filters); ``GET /prompts/{key}?card=md`` is the prompt's card as Markdown.
"""

from __future__ import annotations

from typing import Annotated
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse, Response

from promptwork.errors import ConfigError
from promptwork.library.cards import card_file_name, prompt_card, render_card
from promptwork.views.prompts import LibraryQuery, prompt_page, prompts_page
from promptwork.web.pages import page, store_of

__all__ = ["prompt_url", "router"]

router = APIRouter()


def prompt_url(key: str, **params: str | None) -> str:
    """The path of a prompt's page (the key quoted whole), with some query parameters."""
    kept = {k: v for k, v in params.items() if v}
    return f"/prompts/{quote(key, safe='')}" + (f"?{urlencode(kept)}" if kept else "")


def _flag(value: str) -> bool:
    return value in ("1", "on", "true")


_Text = Annotated[str, Query(max_length=200)]


def _library_query(find: str, suite: str, model: str, min_score: str, label: str, tag: str,
                   tested: str, semantic: str) -> LibraryQuery:
    score = None
    if min_score.strip():
        try:
            score = float(min_score)
        except ValueError:
            raise ConfigError(f"min_score must be a number from 0 to 1, got {min_score!r}"
                              ) from None
        if not 0 <= score <= 1:
            raise ConfigError(f"min_score must be from 0 to 1, got {min_score}")
    return LibraryQuery(find.strip(), suite.strip(), model.strip(), score, label.strip(),
                        tag.strip(), tested.strip(), _flag(semantic))


@router.get("/prompts")
def prompts_list(request: Request, q: _Text = "",
                 candidates: Annotated[str, Query(max_length=5)] = "",
                 find: _Text = "", suite: _Text = "", model: _Text = "",
                 min_score: Annotated[str, Query(max_length=10)] = "", label: _Text = "",
                 tag: _Text = "", tested: _Text = "",
                 semantic: Annotated[str, Query(max_length=5)] = "") -> Response:
    """Every stored prompt, the one with the newest version first, and the library search."""
    query = _library_query(find, suite, model, min_score, label, tag, tested, semantic)
    view = prompts_page(store_of(request), q.strip(), _flag(candidates), query)
    return page(request, "web/prompts.html", title="prompts", view=view,
                link=lambda key: prompt_url(key, candidates="1" if view.candidates else None))


@router.get("/api/prompts/search")
def prompts_search(request: Request, q: _Text = "", find: _Text = "", suite: _Text = "",
                   model: _Text = "", min_score: Annotated[str, Query(max_length=10)] = "",
                   label: _Text = "", tag: _Text = "", tested: _Text = "",
                   semantic: Annotated[str, Query(max_length=5)] = "",
                   limit: Annotated[int, Query(ge=1, le=200)] = 20) -> Response:
    """The library search as JSON: ``{"ranking", "note", "rows": [{name, score, snippet,
    ...}]}``."""
    query = _library_query(q or find, suite, model, min_score, label, tag, tested, semantic)
    rows = query.run(store_of(request), limit)
    return JSONResponse({"ranking": rows.ranking, "note": rows.note or None,
                         "rows": [r.to_dict() for r in rows]})


@router.get("/prompts/{key:path}")
def prompt_detail(request: Request, key: str,
                  a: Annotated[str, Query(max_length=64)] = "",
                  b: Annotated[str, Query(max_length=64)] = "",
                  unit: Annotated[str, Query(max_length=5)] = "line",
                  candidates: Annotated[str, Query(max_length=5)] = "",
                  card: Annotated[str, Query(max_length=5)] = "") -> Response:
    """One prompt: versions, a diff, the runs that used them, the pass-rate chart, its labels;
    with ``card=md`` its prompt card (Markdown)."""
    if card:
        if card != "md":
            raise ConfigError(f"unknown card format {card!r}; use md")
        made = prompt_card(store_of(request), key)
        return Response(render_card(made), media_type="text/markdown; charset=utf-8",
                        headers={"Content-Disposition":
                                 f'inline; filename="{card_file_name(made.name)}.md"'})
    if unit not in ("line", "word"):
        raise ConfigError(f"unknown diff unit {unit!r}; use word or line")
    view = prompt_page(store_of(request), key, a.strip() or None, b.strip() or None,
                       "word" if unit == "word" else "line", _flag(candidates))
    return page(request, "web/prompt.html", title=f"prompt {view.group.key}", view=view,
                unit=unit, candidates=_flag(candidates),
                card_url=prompt_url(view.entry.name, card="md") if view.entry else "",
                self_url=prompt_url(view.group.key, candidates="1" if _flag(candidates) else None))
