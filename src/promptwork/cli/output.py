"""Terminal output helpers shared by the commands."""

from __future__ import annotations

import sys

from rich.console import Console

from promptwork.sanitize import safe_text

__all__ = ["console", "safe_text", "write_out"]

def console(stderr: bool = False) -> Console:
    """A Rich console; when output is not a terminal (CI logs, pipes), tables get 140 columns
    instead of Rich's 80 so that they stay readable."""
    probe = Console(stderr=stderr)
    width = None if probe.is_terminal else 140
    return Console(stderr=stderr, highlight=False, soft_wrap=True, emoji=False, width=width)


def write_out(text: str) -> None:
    """Write model output to stdout as it arrives, neutralised, without Rich markup."""
    sys.stdout.write(safe_text(text))
    sys.stdout.flush()
