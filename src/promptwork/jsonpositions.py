"""Where the objects and keys of a JSON list stand in its text, for error messages with a line.

``json.loads`` gives values without positions; a chat prompt file's mistakes (an unknown key, a
bad role) are reported at their line with what :func:`json_lines` finds.
"""

from __future__ import annotations

import bisect
import json
import re

__all__ = ["json_lines"]

_JSON_WS = re.compile(r"[ \t\n\r]*")


def json_lines(raw: str) -> list[tuple[int, dict[str, tuple[int, int]]]]:
    """For each object of a (valid) top-level JSON list: its line, and key -> (key, value) lines."""
    newlines = [i for i, ch in enumerate(raw) if ch == "\n"]
    decoder = json.JSONDecoder()

    def line(pos: int) -> int:
        return bisect.bisect_left(newlines, pos) + 1

    def skip(pos: int) -> int:
        match = _JSON_WS.match(raw, pos)
        return match.end() if match else pos

    out: list[tuple[int, dict[str, tuple[int, int]]]] = []
    try:
        i = skip(0)
        if raw[i] != "[":
            return out
        i = skip(i + 1)
        while raw[i] != "]":
            keys: dict[str, tuple[int, int]] = {}
            start = i
            if raw[i] == "{":
                j = skip(i + 1)
                while raw[j] != "}":
                    key, after = decoder.raw_decode(raw, j)
                    value_at = skip(skip(after) + 1)  # past the ':'
                    keys[str(key)] = (line(j), line(value_at))
                    _, j = decoder.raw_decode(raw, value_at)
                    j = skip(j)
                    if raw[j] == ",":
                        j = skip(j + 1)
                i = j + 1
            else:
                _, i = decoder.raw_decode(raw, i)
            out.append((line(start), keys))
            i = skip(i)
            if raw[i] == ",":
                i = skip(i + 1)
    except (ValueError, IndexError):
        pass  # positions are a nicety; json.loads has already validated the document
    return out
