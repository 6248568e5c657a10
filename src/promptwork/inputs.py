"""Declared input types: text values (a CSV cell, ``-v name=value``) read as the declared type.

A ``.prompt`` file's front matter can declare its inputs' types::

    inputs:
      day: {type: integer}
      price: {type: number}
      urgent: {type: boolean}
      tags: {type: array}

Values that come as text (every CSV cell, every ``-v`` on the command line) are converted when
the input declares another type: ``"1"`` becomes ``1``, ``"true"`` becomes ``True``,
``"a, b"`` or ``'["a", "b"]'`` becomes a list. Text that does not fit the type is an error that
names the value and the type (the caller adds the file and line:
:func:`promptwork.inputcheck.check_test_inputs` for a suite's tests). Values that are not text (from
YAML or JSON data) are left as they are; their type is checked when the prompt is rendered.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

__all__ = ["InputTypeError", "coerce_text"]

_INT = re.compile(r"[+-]?\d+")
_NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?")
_TRUE = frozenset({"true", "yes", "on", "1"})
_FALSE = frozenset({"false", "no", "off", "0"})


class InputTypeError(ValueError):
    """A text value that cannot be read as its input's declared type."""


def coerce_text(kind: str, value: Any) -> Any:
    """``value`` read as the declared ``kind`` when it is text; other values are returned as is.

    Args:
        kind: The declared type: ``string``, ``integer``, ``number``, ``boolean``, ``array``,
            ``object`` or ``any`` (``string`` and ``any`` take text as it is).
        value: The value given.

    Raises:
        InputTypeError: Text that is not of that type (``"x"`` for an integer...).
    """
    if not isinstance(value, str) or kind in ("string", "any"):
        return value
    text = value.strip()
    if kind == "integer":
        if _INT.fullmatch(text):
            return int(text)
        raise InputTypeError(f"{value!r} is not an integer")
    if kind == "number":
        if _INT.fullmatch(text):
            return int(text)
        if _NUMBER.fullmatch(text) and math.isfinite(number := float(text)):
            return number
        raise InputTypeError(f"{value!r} is not a number")
    if kind == "boolean":
        if text.lower() in _TRUE:
            return True
        if text.lower() in _FALSE:
            return False
        raise InputTypeError(f"{value!r} is not a boolean (use true/false, yes/no, 1/0)")
    if kind == "array":
        if text.startswith("["):
            parsed = _json(text)
            if isinstance(parsed, list):
                return parsed
            raise InputTypeError(f"{value!r} is not a list (a JSON list, or items separated "
                                 "by commas)")
        return [item.strip() for item in text.split(",")] if text else []
    if kind == "object":
        parsed = _json(text) if text.startswith("{") else None
        if isinstance(parsed, dict):
            return parsed
        raise InputTypeError(f"{value!r} is not an object (write it as a JSON object)")
    return value


def _json(text: str) -> Any:
    try:
        return json.loads(text)
    except (ValueError, RecursionError):
        return None
