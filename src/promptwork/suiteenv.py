"""promptfoo's ``env:`` suite key: environment variables set for the run of a suite.

promptfoo suites use it for provider settings (``OPENAI_BASE_URL``, ``AZURE_API_HOST``...) and
sometimes keys. The variables are laid over the process environment while the suite's models are
created and called, and the previous values are put back afterwards. Values that are API keys
are redacted like any other key (:func:`promptwork.secrets.redact` reads the environment), and
the suite's text is never stored, so a key written there reaches no store or report.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator, Mapping
from typing import Any

from promptwork.errors import ConfigError

__all__ = ["applied", "parse_env"]


def parse_env(value: Any) -> dict[str, str]:
    """Validate ``env:``: a mapping of variable names to scalar values (made text).

    Raises:
        ConfigError: Not a mapping, a bad name, or a value that is not a scalar.
    """
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise ConfigError("'env' must be a mapping of variable names to values")
    out: dict[str, str] = {}
    for name, item in value.items():
        if not isinstance(name, str) or not name or "=" in name or "\0" in name:
            raise ConfigError(f"'env': {name!r} is not a variable name")
        if isinstance(item, bool):
            out[name] = "true" if item else "false"
        elif isinstance(item, str | int | float):
            out[name] = str(item)
        elif item is None:
            continue
        else:
            raise ConfigError(f"'env': {name} must be text or a number, got "
                              f"{type(item).__name__}")
    return out


@contextlib.contextmanager
def applied(env: Mapping[str, str]) -> Iterator[None]:
    """Set ``env`` in the process environment for the block; restore what was there."""
    if not env:
        yield
        return
    saved = {name: os.environ.get(name) for name in env}
    os.environ.update(env)
    try:
        yield
    finally:
        for name, old in saved.items():
            if old is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = old
