"""Exception hierarchy.

Every error a user can cause carries enough context (file, line, what to do) to be fixed without
reading a traceback. Provider errors are *data*: the runner records them on a result cell.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


class PromptworkError(Exception):
    """Base class of every error promptwork raises on purpose."""


class ConfigError(PromptworkError):
    """Bad user input: a prompt file, a suite file, a parameter, a model id.

    Args:
        message: What is wrong and what to do about it.
        path: The file the problem is in, if any.
        line: 1-based line number in that file, if known.
    """

    def __init__(self, message: str, path: str | Path | None = None, line: int | None = None):
        self.message = message
        self.path = str(path) if path is not None else None
        self.line = line
        super().__init__(self.__str__())

    def __str__(self) -> str:
        where = ""
        if self.path:
            where = self.path + (f":{self.line}" if self.line else "") + ": "
        return where + self.message


class TemplateError(ConfigError):
    """A template failed to parse or render (syntax, sandbox, limits, missing variable)."""


class MissingVariableError(TemplateError):
    """A template needs variables that were not given."""

    def __init__(
        self,
        names: list[str],
        path: str | Path | None = None,
        line: int | None = None,
        where: dict[str, list[str]] | None = None,
    ):
        self.names = sorted(names)
        self.where = where or {}
        plural = "s" if len(self.names) > 1 else ""
        if self.where:
            listed = "; ".join(
                f"{n} (tests: {', '.join(self.where.get(n, []))})" for n in self.names
            )
            hint = "add them to those tests' vars or to defaultTest.vars"
        else:
            listed = ", ".join(self.names)
            hint = (
                "pass them with -v name=value, --vars FILE, "
                "or declare a default in the front matter"
            )
        super().__init__(f"missing variable{plural}: {listed} ({hint})", path, line)


class ParamError(ConfigError):
    """A model parameter is unknown, unsupported by the provider, or has a bad value."""


class ProviderNotFoundError(ConfigError):
    """A model id names no known provider."""


class MissingDependencyError(ConfigError):
    """An optional SDK is not installed."""


# Kinds of provider failure. The retry policy (in the runner) decides from the kind alone.
RETRYABLE_KINDS = frozenset({"rate_limit", "server", "timeout", "connection"})


@dataclass
class ProviderError(PromptworkError):
    """A model call failed.

    Attributes:
        message: Human-readable reason, already scrubbed of secrets.
        kind: One of ``rate_limit``, ``quota``, ``auth``, ``bad_request``, ``server``, ``timeout``,
            ``connection``, ``invalid_response``, ``context_length``, ``other``.
        status: HTTP status code when there was one.
        retry_after: Seconds the server asked us to wait (``Retry-After``), if any.
    """

    message: str
    kind: str = "other"
    status: int | None = None
    retry_after: float | None = None

    def __post_init__(self) -> None:
        super().__init__(self.message)

    def __str__(self) -> str:
        status = f" (HTTP {self.status})" if self.status else ""
        return f"{self.kind}{status}: {self.message}"

    @property
    def retryable(self) -> bool:
        """Whether trying again may succeed (429 other than quota, 5xx, timeouts, dropped links)."""
        return self.kind in RETRYABLE_KINDS
