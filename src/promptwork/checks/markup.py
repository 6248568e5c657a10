"""``is-xml`` and ``contains-xml`` (promptfoo's): the output is, or holds, well-formed XML.

* ``is-xml``: the whole output (surrounding whitespace aside) is one well-formed XML document.
* ``contains-xml``: some part of the output is a well-formed XML element (the first one found).

The value may name elements that must be present: ``{requiredElements: [root.child, ...]}``, each
a dot-separated path of element names from the document's (or fragment's) root element, as in
promptfoo. Documents with an internal DTD subset (``<!DOCTYPE x [...]>``) are refused, as promptfoo
does, since their entities cannot be validated safely; nothing external is ever loaded.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Mapping

from promptwork.checks.base import CheckContext, CheckResult, CheckSpec, outcome

__all__ = ["contains_xml", "is_xml", "spec_problem"]

_INTERNAL_SUBSET = re.compile(r"<!DOCTYPE[^>\[]*\[", re.IGNORECASE)
_START_TAG = re.compile(r"<([A-Za-z_][\w.\-]*(?::[\w.\-]+)?)(?=[\s/>])")


def spec_problem(spec: CheckSpec) -> str | None:
    """What is wrong with an XML check's value (checked when the suite loads), or ``None``."""
    value = spec.value
    if value is None:
        return None
    if not isinstance(value, Mapping) or set(value) != {"requiredElements"}:
        return "value must be {requiredElements: [root.child, ...]} or left out"
    paths = value["requiredElements"]
    if not isinstance(paths, list) or not all(isinstance(p, str) and p.strip() for p in paths):
        return "'requiredElements' must be a list of dot-separated element paths"
    return None


def _parse(text: str) -> ET.Element | None:
    if _INTERNAL_SUBSET.search(text):
        return None
    try:
        return ET.fromstring(text)  # noqa: S314 - no DTD subset (refused above), no external load
    except ET.ParseError:
        return None


def _has_path(root: ET.Element, path: str) -> bool:
    names = path.strip().split(".")
    if not names or names[0] != root.tag:
        return False
    level = [root]
    for name in names[1:]:
        level = [child for node in level for child in node if child.tag == name]
        if not level:
            return False
    return True


def _required(spec: CheckSpec, root: ET.Element, what: str) -> CheckResult:
    paths: list[str] = (
        list(spec.value["requiredElements"]) if isinstance(spec.value, Mapping) else []
    )
    missing = [p for p in paths if not _has_path(root, p)]
    if missing:
        return outcome(False, f"{what} lacks element(s) {', '.join(missing)}")
    found = f" with {', '.join(paths)}" if paths else ""
    return outcome(True, f"{what}{found}")


def is_xml(spec: CheckSpec, ctx: CheckContext) -> CheckResult:
    """The whole output is a well-formed XML document."""
    root = _parse(ctx.output.strip())
    if root is None:
        return outcome(False, "output is not well-formed XML")
    return _required(spec, root, "output is well-formed XML")


def _fragment(text: str) -> ET.Element | None:
    for match in _START_TAG.finditer(text):
        name = match.group(1)
        start = match.start()
        ends = [m.end() for m in re.finditer(rf"</{re.escape(name)}\s*>", text[start:])]
        self_closing = re.match(r"<[^<>]*/>", text[start:])
        candidates = [start + e for e in reversed(ends)]
        if self_closing:
            candidates.append(start + self_closing.end())
        for end in candidates:
            root = _parse(text[start:end])
            if root is not None:
                return root
    return None


def contains_xml(spec: CheckSpec, ctx: CheckContext) -> CheckResult:
    """Some part of the output is a well-formed XML element."""
    root = _fragment(ctx.output)
    if root is None:
        return outcome(False, "output holds no well-formed XML")
    return _required(spec, root, f"output holds XML <{root.tag}>")
