"""A library prompt's history: its recorded versions with what changed, and its details.

* :func:`prompt_history`: each recorded change (newest first) with a one-line summary of what
  changed since the one before (lines added and removed, a rename) and the labels on it.
* :func:`prompt_details`: the newest version parsed: description, tags, variables with their
  declared types, defaults and descriptions, the model and parameters of its front matter.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from promptwork.errors import ConfigError
from promptwork.library.served import resolve
from promptwork.store import Store
from promptwork.store.library import LibraryEntry, library_entry, version_history

__all__ = ["Details", "HistoryRow", "Variable", "prompt_details", "prompt_history"]


@dataclass(frozen=True, slots=True)
class HistoryRow:
    """One recorded change of a prompt's file (``number``: 1 = the first version)."""

    number: int
    hash: str
    path: str | None
    source: str
    recorded_at: datetime
    change: str
    labels: tuple[str, ...]

    @property
    def short(self) -> str:
        return self.hash[:12]


@dataclass(frozen=True, slots=True)
class Variable:
    """A variable of a prompt: declared in ``inputs`` and/or used by its template."""

    name: str
    type: str
    default: Any
    description: str
    required: bool


@dataclass(frozen=True, slots=True)
class Details:
    """A prompt and its newest version, parsed."""

    entry: LibraryEntry
    text: str
    variables: tuple[Variable, ...]
    model: str | None
    params: dict[str, Any]


def _change(before: str | None, after: str) -> str:
    if before is None:
        return "first version"
    added = removed = 0
    for line in difflib.unified_diff(before.splitlines(), after.splitlines(), lineterm="", n=0):
        if line.startswith("+") and not line.startswith("+++"):
            added += 1
        elif line.startswith("-") and not line.startswith("---"):
            removed += 1
    return f"+{added} -{removed} lines"


def prompt_history(store: Store, name: str) -> list[HistoryRow]:
    """The recorded changes of ``name``, newest first.

    Raises:
        ConfigError: An unknown prompt.
    """
    entry = library_entry(store, name)
    records = version_history(store, name)
    numbers: dict[str, int] = {}
    texts: dict[str, str] = {}
    out: list[HistoryRow] = []
    previous = None
    for record in records:
        numbers.setdefault(record.hash, len(numbers) + 1)
        text = texts.get(record.hash)
        if text is None:
            text = texts[record.hash] = store.prompt_text(record.hash) or ""
        if previous is not None and previous.hash == record.hash:
            change = f"moved from {previous.path}"
        else:
            change = _change(texts.get(previous.hash) if previous else None, text)
            if previous is not None and previous.path != record.path:
                change += f", moved from {previous.path}"
            if previous is not None and numbers[record.hash] < len(numbers):
                change += f" (back to version {numbers[record.hash]})"
        labels = tuple(sorted(k for k, v in entry.labels.items() if v == record.hash))
        out.append(HistoryRow(numbers[record.hash], record.hash, record.path, record.source,
                              record.recorded_at, change, labels))
        previous = record
    return out[::-1]


def prompt_details(store: Store, name: str) -> Details:
    """``name``'s newest version, parsed (variables, model, parameters).

    Raises:
        ConfigError: An unknown prompt, or a stored text that no longer parses.
    """
    entry = library_entry(store, name)
    try:
        served = resolve(store, name)
    except LookupError as exc:
        raise ConfigError(str(exc)) from None
    template = served.template
    variables = []
    for var in sorted(set(template.variables) | set(template.meta.inputs)):
        spec = template.meta.inputs.get(var)
        variables.append(Variable(
            var, spec.type if spec else "string", spec.default if spec else None,
            (spec.description or "") if spec else "",
            spec.is_required if spec else var in template.required_variables))
    return Details(entry, served.text, tuple(variables), template.meta.model,
                   dict(template.meta.params))
