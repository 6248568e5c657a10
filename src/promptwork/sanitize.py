"""Making untrusted text (model output, server error bodies) safe to show in a terminal."""

from __future__ import annotations

import re

# C0 controls but tab and newline, DEL, the C1 controls (U+0080-U+009F: CSI, OSC, DCS, ST, NEL...
# act like ESC sequences on many terminals), and the bidirectional marks, embeddings, overrides
# and isolates, which reorder what a reader sees ("Trojan source").
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def safe_text(text: str) -> str:
    """Neutralise control characters (ANSI escapes, C1 controls, bidi overrides) for a terminal:
    each is written out as ``\\xNN`` or ``\\uNNNN`` instead of acting on it."""
    return _CONTROL.sub(_escape, text)
