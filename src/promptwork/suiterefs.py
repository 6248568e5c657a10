"""``$ref`` inside a suite: promptfoo's ``assertionTemplates`` and other local references.

promptfoo resolves JSON references in its config, so an assertion written once under
``assertionTemplates`` is reused as ``- $ref: "#/assertionTemplates/name"``. promptwork expands
every ``{$ref: "#/..."}`` mapping of the suite file when it loads, with its sibling keys laid
over the referenced mapping (``{$ref: ..., metric: tone}`` renames the metric of one use). Only
references inside the suite file (``#/`` JSON pointers) are supported; a reference to another
file, one that points nowhere, or a cycle is an error at the line of the ``$ref``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from promptwork.errors import ConfigError
from promptwork.yamlfile import LineMap

REF = "$ref"
#: Most references expanded in one suite (a guard against references that multiply).
MAX_EXPANSIONS = 100_000


def has_refs(value: Any) -> bool:
    """Whether any mapping inside ``value`` has a ``$ref`` key."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, Mapping):
            if REF in item:
                return True
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return False


def expand_refs(data: dict[Any, Any], where: LineMap) -> dict[Any, Any]:
    """``data`` with every ``$ref`` mapping replaced by what it points at (a new structure)."""
    if not has_refs(data):
        return data
    count = 0

    def resolve(pointer: Any, path: tuple[Any, ...], active: tuple[str, ...]) -> Any:
        if not isinstance(pointer, str) or not pointer.startswith("#/"):
            raise where.error(path, f"$ref {pointer!r}: only references inside the suite "
                                    "(\"#/assertionTemplates/name\") are supported")
        if pointer in active:
            raise where.error(path, f"$ref {pointer!r} refers to itself (cycle: "
                                    f"{' -> '.join((*active, pointer))})")
        target: Any = data
        for raw in pointer[2:].split("/"):
            part = raw.replace("~1", "/").replace("~0", "~")
            if isinstance(target, Mapping) and part in target:
                target = target[part]
            elif isinstance(target, list) and part.isdigit() and int(part) < len(target):
                target = target[int(part)]
            else:
                hint = ""
                if pointer.startswith("#/assertionTemplates/"):
                    names = list(data.get("assertionTemplates") or {})
                    hint = f"; assertionTemplates: {', '.join(map(str, names)) or '(none)'}"
                raise where.error(path, f"$ref {pointer!r} points at nothing{hint}")
        return walk(target, path, (*active, pointer))

    def walk(value: Any, path: tuple[Any, ...], active: tuple[str, ...]) -> Any:
        nonlocal count
        if isinstance(value, Mapping):
            if REF in value:
                count += 1
                if count > MAX_EXPANSIONS:
                    raise where.error(path, f"more than {MAX_EXPANSIONS:,} $ref expansions")
                target = resolve(value[REF], path, active)
                siblings = {k: walk(v, (*path, k), active) for k, v in value.items() if k != REF}
                if not siblings:
                    return target
                if not isinstance(target, Mapping):
                    raise where.error(path, f"$ref {value[REF]!r} is not a mapping, so it "
                                            "cannot take other keys beside it")
                return {**target, **siblings}
            return {k: walk(v, (*path, k), active) for k, v in value.items()}
        if isinstance(value, list):
            return [walk(v, (*path, i), active) for i, v in enumerate(value)]
        return value

    return dict(walk(data, (), ()))


def check_templates(data: Mapping[str, Any], where: LineMap) -> None:
    """``assertionTemplates`` is a mapping of names to assertion mappings."""
    templates = data.get("assertionTemplates")
    if templates is None:
        return
    if not isinstance(templates, Mapping):
        raise where.error(("assertionTemplates",),
                          "'assertionTemplates' must be a mapping of names to assertions")
    for name, item in templates.items():
        if not isinstance(item, Mapping) or "type" not in item:
            raise ConfigError(
                f"assertionTemplates.{name}: an assertion template is a mapping with a 'type'",
                where.path, where.line_of(("assertionTemplates", name)))
