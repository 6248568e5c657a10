"""Naming a prompt x model column of a stored run the way people see it.

A column is named by its labels, as the summary shows them: ``instruction`` (a prompt label,
when the run has one model), ``gemma`` (a model label, when the run has one prompt),
``instruction@gemma`` (both), or by its indices, ``1:0`` (prompt 1, model 0; ``1`` alone is
prompt 1 on model 0). A model is also found by its provider id (``openai:gpt-4o-mini``). Exact
labels win over case-insensitive ones; a name that fits no column, or several, is a
:class:`~promptwork.errors.ConfigError` that lists the run's columns.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from promptwork.errors import ConfigError

__all__ = ["column_names", "resolve_column", "resolve_model", "resolve_prompt"]

_INDEX = re.compile(r"^(\d+)(?::(\d+))?$")


def _find(name: str, labels: Sequence[str], ids: Sequence[str] = ()) -> list[int]:
    """Indices whose label (or id) is ``name``: exact matches first, else case-insensitive."""
    for fold in (False, True):
        key = name.casefold() if fold else name
        found = [i for i, label in enumerate(labels)
                 if (label.casefold() if fold else label) == key]
        found += [i for i, pid in enumerate(ids)
                  if (pid.casefold() if fold else pid) == key and i not in found]
        if found:
            return sorted(found)
    return []


def column_names(prompt_labels: Sequence[str], model_labels: Sequence[str]) -> str:
    """The run's columns as they can be named, for error messages."""
    names = [f"{p}@{m} ({i}:{j})" for i, p in enumerate(prompt_labels)
             for j, m in enumerate(model_labels)]
    shown = ", ".join(names[:12]) + (f" and {len(names) - 12} more" if len(names) > 12 else "")
    return shown or "none"


def resolve_prompt(name: str, labels: Sequence[str]) -> int:
    """The index of the prompt named ``name`` (label or index).

    Raises:
        ConfigError: No such prompt, or several prompts with that label.
    """
    found = _find(name, labels)
    if not found and name.isdigit() and int(name) < len(labels):
        found = [int(name)]
    if len(found) == 1:
        return found[0]
    what = "several prompts are" if found else "no prompt is"
    raise ConfigError(f"{what} named {name!r}; the prompts are: "
                      + ", ".join(f"{label} ({i})" for i, label in enumerate(labels)))


def resolve_model(name: str, labels: Sequence[str], ids: Sequence[str] = ()) -> int:
    """The index of the model named ``name`` (label, provider id or index).

    Raises:
        ConfigError: No such model, or several models with that name.
    """
    found = _find(name, labels, ids)
    if not found and name.isdigit() and int(name) < len(labels):
        found = [int(name)]
    if len(found) == 1:
        return found[0]
    what = "several models are" if found else "no model is"
    raise ConfigError(f"{what} named {name!r}; the models are: "
                      + ", ".join(f"{label} ({i})" for i, label in enumerate(labels)))


def resolve_column(spec: str, prompt_labels: Sequence[str], model_labels: Sequence[str],
                   model_ids: Sequence[str] = ()) -> tuple[int, int]:
    """The ``(prompt_idx, provider_idx)`` of the column named ``spec`` (see the module doc).

    Raises:
        ConfigError: ``spec`` names no column or several (the message lists the columns).
    """
    name = spec.strip()
    candidates: set[tuple[int, int]] = set()
    one_model = len(model_labels) == 1
    one_prompt = len(prompt_labels) == 1
    for p in _find(name, prompt_labels):
        if one_model:
            candidates.add((p, 0))
    for m in _find(name, model_labels, model_ids):
        if one_prompt:
            candidates.add((0, m))
    if not candidates and "@" in name:
        # Labels may hold "@" themselves: try every split.
        for at in [i for i, ch in enumerate(name) if ch == "@"]:
            prompts = _find(name[:at].strip(), prompt_labels)
            models = _find(name[at + 1:].strip(), model_labels, model_ids)
            candidates.update((p, m) for p in prompts for m in models)
    if not candidates:
        match = _INDEX.match(name)
        if match:
            p, m = int(match.group(1)), int(match.group(2) or 0)
            if p < len(prompt_labels) and m < len(model_labels):
                candidates.add((p, m))
            else:
                raise ConfigError(
                    f"there is no column {p}:{m}: the run has prompts 0-{len(prompt_labels) - 1} "
                    f"and models 0-{len(model_labels) - 1}; its columns are: "
                    + column_names(prompt_labels, model_labels))
    if len(candidates) == 1:
        return candidates.pop()
    columns = column_names(prompt_labels, model_labels)
    if candidates:
        raise ConfigError(f"{spec!r} names several columns; say which one as PROMPT@MODEL. "
                          f"The run's columns are: {columns}")
    hint = ""
    if _find(name, prompt_labels) and not one_model:
        hint = " (the run has several models: name the column as PROMPT@MODEL)"
    elif _find(name, model_labels, model_ids) and not one_prompt:
        hint = " (the run has several prompts: name the column as PROMPT@MODEL)"
    raise ConfigError(f"no column is named {spec!r}{hint}. The run's columns are: {columns}")
