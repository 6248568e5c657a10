"""What a reader of a run's results should know about how it was graded, from its settings.

The run records (:meth:`promptwork.runner.Runner.settings`) which model grades the model-graded
checks that name no grader (promptfoo's default-grader rule, else the embedded model) and how
similarity-measuring checks measure (``auto`` resolved on the machine that ran them). The
terminal summary, the HTML report and the JSON export say both, in the same words. They also
say when an embedded model decoded with fast decoding (``--fast-decoding``): its answers may
depend on which cells shared a batch.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from promptwork.sanitize import safe_text

__all__ = ["FAST_DECODING_NOTE", "default_grader_of", "fast_decoding_of", "run_notes",
           "similarity_of"]

#: Said wherever a run's summary is shown when a model of the run used fast decoding.
FAST_DECODING_NOTE = "fast decoding: answers may depend on which cells share a batch"


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


def fast_decoding_of(settings: Mapping[str, Any]) -> list[str]:
    """Labels of the run's providers that decoded with fast (not batch-invariant) numerics."""
    labels = []
    for provider in settings.get("providers") or []:
        own = provider.get("settings") if isinstance(provider, Mapping) else None
        if isinstance(own, Mapping) and own.get("numerics") == "fast":
            labels.append(str(provider.get("label") or provider.get("id") or ""))
    return labels


def run_notes(settings: Mapping[str, Any]) -> list[str]:
    """One line per thing to say (terminal-safe text), e.g. ``default grader: local:gemma3-270m
    (no vendor key ...)`` and ``similar method: lexical (auto)``."""
    notes = []
    grader = default_grader_of(settings)
    if grader is not None:
        notes.append(f"default grader: {grader['id']} ({grader['reason']})")
    for check, method in similarity_of(settings).items():
        notes.append(f"{check} method: {method}")
    fast = fast_decoding_of(settings)
    if fast:
        notes.append(f"{FAST_DECODING_NOTE} ({', '.join(fast)})")
    return [safe_text(note) for note in notes]
