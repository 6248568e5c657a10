"""Who rates cells in the workbench: a name set in the UI (the ``pw_rater`` cookie), else the
app's settings, else ``[ui] rater`` of the config file, else the login name
(:func:`promptwork.store.ratings.resolve_rater`).

The cookie holds the name percent-encoded; it is validated on every read (printable, at most
100 characters), and an invalid one is ignored, so a bad cookie never breaks a page.
"""

from __future__ import annotations

from urllib.parse import quote, unquote

from fastapi import Request
from fastapi.responses import Response

from promptwork.errors import ConfigError
from promptwork.store.ratings import resolve_rater
from promptwork.web.security import WebSettings

__all__ = ["RATER_COOKIE", "current_rater", "default_rater", "rater_shown", "set_rater_cookie"]

RATER_COOKIE = "pw_rater"
_YEAR = 365 * 24 * 3600


def default_rater(settings: WebSettings) -> str:
    """The name used when none is set in the UI.

    Raises:
        ConfigError: An invalid configured name, or an unreadable config file.
    """
    return resolve_rater(settings.rater)


def _from_cookie(request: Request) -> str | None:
    value = request.cookies.get(RATER_COOKIE)
    if not value:
        return None
    try:
        return resolve_rater(unquote(value))
    except ConfigError:
        return None


def current_rater(request: Request) -> str:
    """The rater of this request (see the module docstring).

    Raises:
        ConfigError: No valid name in the cookie and an invalid configured one.
    """
    settings: WebSettings = request.app.state.settings
    return _from_cookie(request) or default_rater(settings)


def rater_shown(request: Request) -> str:
    """The rater's name for the page header (``""`` when the configured one is invalid)."""
    try:
        return current_rater(request)
    except ConfigError:
        return ""


def set_rater_cookie(response: Response, name: str) -> str:
    """Validate ``name`` and store it in the rater cookie of ``response``; returns the name.

    Raises:
        ConfigError: An empty, over-long or unprintable name.
    """
    cleaned = resolve_rater(name)
    response.set_cookie(RATER_COOKIE, quote(cleaned, safe=""), max_age=_YEAR, path="/",
                        httponly=True, samesite="strict")
    return cleaned
