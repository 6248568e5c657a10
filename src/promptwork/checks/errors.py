"""Why an answer could not be graded: errors that are not verdicts.

A check reaches a verdict (pass or fail) or it cannot. When it cannot because of the answer or
of the suite (an unreadable grader answer, a bad value, the user's own ``python`` code raising),
the check fails: that is :class:`~promptwork.checks.base.CheckError` or a
:class:`~promptwork.errors.ConfigError`. When it cannot for a reason that says nothing about the
answer (the grading model's call failed, a built-in check has a bug), no verdict is recorded at
all: :class:`GradingError` makes the whole cell an *error*, counted apart from failures, stored
without a score and redone by ``--resume``.
"""

from __future__ import annotations

#: Kinds of :class:`GradingError` (the cell's ``error_kind``).
GRADER = "grader"  # the grading (or embedding) model's call failed: 429, timeout, auth...
INTERNAL = "internal"  # a built-in check raised: a promptwork bug
CHECK = "check"  # a plugin or registered check raised
TRANSFORM = "transform"  # the test's ``options.transform`` failed

KINDS = frozenset({GRADER, INTERNAL, CHECK, TRANSFORM})


class GradingError(Exception):
    """An answer could not be graded; the cell is an error, not a failed check.

    Attributes:
        kind: One of :data:`KINDS`.
        message: One line for people.
        detail: The traceback, for an unexpected exception (kept in the stored record).
    """

    def __init__(self, kind: str, message: str, detail: str | None = None):
        super().__init__(message)
        self.kind = kind
        self.message = message
        self.detail = detail

    def __str__(self) -> str:
        return self.message

    @property
    def record(self) -> str:
        """The message and, when there is one, the traceback (what the store keeps)."""
        return f"{self.message}\n{self.detail}" if self.detail else self.message
