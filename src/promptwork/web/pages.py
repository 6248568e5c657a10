"""What every page handler shares: the store and settings of the app, and page rendering."""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse

from promptwork.store import Store
from promptwork.templating import environment
from promptwork.version import __version__
from promptwork.web.rater import rater_shown
from promptwork.web.security import WebSettings

__all__ = ["page", "settings_of", "store_of"]


def store_of(request: Request) -> Store:
    """The app's store."""
    store: Store = request.app.state.store
    return store


def settings_of(request: Request) -> WebSettings:
    """The app's settings."""
    settings: WebSettings = request.app.state.settings
    return settings


def page(request: Request, template: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    """Render a workbench template (``standalone`` off) with the CSRF token and version."""
    html = environment().get_template(template).render(
        standalone=False, csrf_token=settings_of(request).csrf_token, version=__version__,
        extra_style="", csp="", request_path=request.url.path, rater=rater_shown(request),
        **context)
    return HTMLResponse(html, status_code=status_code)
