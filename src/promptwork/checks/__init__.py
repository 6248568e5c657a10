"""Checks (promptfoo's "assertions"): does an output meet an expectation?

A suite declares checks as mappings (``{type: contains, value: Paris}``); :class:`CheckSpec`
validates them, :func:`arun_check` runs one on a :class:`CheckContext` (:func:`run_check` for
synchronous checks only) and :func:`aggregate` combines a test's results. Check families live one
per module (:mod:`.text`, :mod:`.structured`, :mod:`.metrics`, :mod:`.python_check`, :mod:`.perf`,
:mod:`.similarity`, :mod:`.judge`) and are looked up by name through :mod:`.registry`, the same
way plugins are.
"""

from __future__ import annotations

from promptwork.checks.base import (
    CheckContext,
    CheckError,
    CheckFn,
    CheckResult,
    CheckSpec,
    Grader,
    aggregate,
    named_scores,
)
from promptwork.checks.registry import arun_check, get_check, known_types, register, run_check

__all__ = [
    "CheckContext",
    "CheckError",
    "CheckFn",
    "CheckResult",
    "CheckSpec",
    "Grader",
    "aggregate",
    "arun_check",
    "get_check",
    "known_types",
    "named_scores",
    "register",
    "run_check",
]
