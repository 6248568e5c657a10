"""What a reader of a run's results should know about how it was graded, from its settings.

The run records (:meth:`promptwork.runner.Runner.settings`) which model grades the model-graded
checks that name no grader (promptfoo's default-grader rule, else the embedded model) and how
similarity-measuring checks measure (``auto`` resolved on the machine that ran them). The
terminal summary, the HTML report and the JSON export say both, in the same words.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from promptwork.sanitize import safe_text

__all__ = ["default_grader_of", "run_notes", "similarity_of"]


def default_grader_of(settings: Mapping[str, Any]) -> dict[str, str] | None:
    """``{id, reason}`` of the default grader when some check of the run used it, else None."""
    grader = settings.get("default_grader")
    if not settings.get("default_grader_used") or not isinstance(grader, Mapping):
        return None
    return {"id": str(grader.get("id", "")), "reason": str(grader.get("reason", ""))}


def similarity_of(settings: Mapping[str, Any]) -> dict[str, str]:
    """How each similarity-measuring check type of the run measured (``{"similar": ...}``)."""
    found = settings.get("similarity")
    if not isinstance(found, Mapping):
        return {}
    return {str(check): str(method) for check, method in found.items()}


def run_notes(settings: Mapping[str, Any]) -> list[str]:
    """One line per thing to say (terminal-safe text), e.g. ``default grader: local:gemma3-270m
    (no vendor key ...)`` and ``similar method: lexical (auto)``."""
    notes = []
    grader = default_grader_of(settings)
    if grader is not None:
        notes.append(f"default grader: {grader['id']} ({grader['reason']})")
    for check, method in similarity_of(settings).items():
        notes.append(f"{check} method: {method}")
    return [safe_text(note) for note in notes]
