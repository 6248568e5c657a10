"""Nunjucks compatibility of the template sandbox: what promptfoo's prompts use that Jinja2 lacks.

promptfoo renders prompts with Nunjucks, whose syntax Jinja2 shares; the differences prompts
actually meet are filled in here, with Nunjucks' semantics:

* the filters ``dump`` (JSON text, compact like ``JSON.stringify`` unless given an indent),
  ``nl2br``, and promptfoo's own ``load`` (parse JSON text);
* ``truncate`` cuts at the length asked (Jinja2 lets 5 characters more through);
* ``{% for key, value in mapping %}`` walks the mapping's pairs (Jinja2 would unpack each key);
* ``.length`` of a text or a list is its length, as in JavaScript.

Custom JavaScript filters (promptfoo's ``nunjucksFilters``) are refused by the suite loader.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from jinja2.runtime import Undefined

from promptwork.errors import TemplateError

__all__ = ["NUNJUCKS_FILTERS", "js_length", "pairs_of"]


def _jsonable(value: Any) -> Any:
    """Values as ``JSON.stringify`` sees them: NaN and infinities become null."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    return value


def dump(value: Any, spaces: int | str | None = None) -> str:
    """Nunjucks' ``dump``: the value as JSON text (``JSON.stringify(value, null, spaces)``)."""
    if isinstance(value, Undefined):
        return ""
    indent: int | str | None = spaces
    if isinstance(spaces, int | float) and not isinstance(spaces, bool):
        indent = min(int(spaces), 10) if spaces >= 1 else None  # JavaScript clamps to 10
    elif isinstance(spaces, str):
        indent = spaces[:10] or None
    else:
        indent = None
    separators = (",", ":") if indent is None else (",", ": ")
    return json.dumps(_jsonable(value), ensure_ascii=False, indent=indent,
                      separators=separators, default=str)


def load(text: Any) -> Any:
    """promptfoo's ``load``: parse JSON text into a value."""
    try:
        return json.loads(str(text))
    except json.JSONDecodeError as exc:
        raise TemplateError(f"filter 'load': the text is not valid JSON ({exc.msg} at "
                            f"character {exc.pos})") from None


def nl2br(text: Any) -> str:
    """Nunjucks' ``nl2br``: each line break becomes ``<br />`` followed by the break."""
    if text is None or isinstance(text, Undefined):
        return ""
    return str(text).replace("\r\n", "\n").replace("\n", "<br />\n")


#: Filters added to the sandbox (their output size is checked by the environment).
NUNJUCKS_FILTERS = {"dump": dump, "load": load, "nl2br": nl2br}


def pairs_of(iterable: Iterable[Any]) -> Iterator[Any]:
    """What ``{% for a, b in x %}`` walks: a mapping's (key, value) pairs, else ``x`` itself."""
    if isinstance(iterable, Mapping):
        return iter(list(iterable.items()))
    return iter(iterable)


def js_length(obj: Any) -> int | None:
    """``obj.length`` as JavaScript has it for texts and lists; None where it has none."""
    if isinstance(obj, str | list | tuple):
        return len(obj)
    return None
