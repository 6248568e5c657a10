"""A library prompt by name and label (or version), parsed: what a server hands to applications.

:func:`resolve` never falls back: an unknown prompt, label or version raises
:class:`PromptNotFound` (a server answers 404).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Any

from promptwork.errors import ConfigError
from promptwork.prompts import PromptTemplate, parse_prompt
from promptwork.store import Store
from promptwork.store.library import (
    labelled_version,
    library_entry,
    resolve_version,
    version_history,
)

__all__ = ["Parser", "PromptNotFound", "ServedPrompt", "parse_version", "resolve"]


class PromptNotFound(LookupError):
    """No such prompt, label or version (the message says which)."""


@dataclass(frozen=True, slots=True)
class ServedPrompt:
    """One version of a library prompt, ready to render.

    Attributes:
        name: The prompt.
        version: The version's full hash.
        label: The label asked for (None when asked by version or for the newest).
        text: The file's text.
        path: The file it was read from (relative to the library folder).
        template: The parsed prompt (``render``, ``variables``, ``meta``).
    """

    name: str
    version: str
    label: str | None
    text: str
    path: str | None
    template: PromptTemplate

    @property
    def params(self) -> dict[str, Any]:
        """The front matter's generation parameters."""
        return dict(self.template.meta.params)

    @property
    def model(self) -> str | None:
        """The front matter's model, if any."""
        return self.template.meta.model


def parse_version(version: str, text: str, name: str, path: str | None) -> PromptTemplate:
    """A stored version's text parsed as the file it came from (``path``'s suffix)."""
    suffix = PurePosixPath(path).suffix if path else ""
    return parse_prompt(text, path or name, suffix or ".prompt")


#: Parses a version: ``(hash, text, name, path) -> PromptTemplate`` (a server passes a cached
#: one: a version never changes).
Parser = Callable[[str, str, str, "str | None"], PromptTemplate]


def resolve(store: Store, name: str, label: str | None = None,
            version: str | None = None, parse: Parser = parse_version) -> ServedPrompt:
    """``name`` at ``label``, or at ``version`` (hash or unique prefix), else its newest version.

    Raises:
        PromptNotFound: An unknown prompt, label or version.
    """
    if label is not None and version is not None:
        raise ValueError("give a label or a version, not both")
    if label is not None:
        found = labelled_version(store, name, label)
        if found is None:
            raise PromptNotFound(f"prompt {name!r} has no label {label!r}")
        return ServedPrompt(name, found.hash, label, found.text, found.path,
                            parse(found.hash, found.text, name, found.path))
    try:
        entry = library_entry(store, name)
        full = resolve_version(store, name, version) if version else entry.latest_hash
    except ConfigError as exc:
        raise PromptNotFound(str(exc)) from None
    text = store.prompt_text(full)
    if text is None:
        raise PromptNotFound(f"version {full[:12]} of {name!r} is not in the store")
    paths = [r.path for r in version_history(store, name) if r.hash == full]
    path = paths[-1] if paths else entry.path
    return ServedPrompt(name, full, None, text, path, parse(full, text, name, path))
