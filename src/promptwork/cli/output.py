"""Terminal output helpers shared by the commands."""

from __future__ import annotations

import re
import sys

from rich.console import Console

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f\x9b]")


def safe_text(text: str) -> str:
    """Neutralise control characters (ANSI escapes included) in model output for a terminal."""
    return _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", text)


def console(stderr: bool = False) -> Console:
    return Console(stderr=stderr, highlight=False, soft_wrap=True, emoji=False)


def write_out(text: str) -> None:
    """Write model output to stdout as it arrives, neutralised, without Rich markup."""
    sys.stdout.write(safe_text(text))
    sys.stdout.flush()
