"""Making untrusted text (model output) safe to show in a terminal."""

from __future__ import annotations

import re

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f\x9b]")


def safe_text(text: str) -> str:
    """Neutralise control characters (ANSI escapes included) in model output for a terminal."""
    return _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", text)
