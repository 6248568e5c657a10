"""Safe YAML loading with file:line errors.

Only plain data is accepted: no Python tags, no duplicate keys, no tab indentation, and a bound on
aliases (a "billion laughs" document is refused instead of expanding). Every mapping key's line is
kept so that validation errors can point at the line that is wrong.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import yaml

from promptwork.errors import ConfigError

MAX_ALIASES = 100

PathKey = tuple[str | int, ...]


class LineMap:
    """Where each key of a loaded document sits: ``(key, subkey, 0, ...) -> 1-based line``."""

    def __init__(self, path: str | None, lines: dict[PathKey, int]):
        self.path = path
        self._lines = lines

    def line_of(self, key: Sequence[str | int]) -> int | None:
        """Line of ``key``, or of its nearest ancestor that has one."""
        k = tuple(key)
        while k:
            if k in self._lines:
                return self._lines[k]
            k = k[:-1]
        return self._lines.get((), None)

    def error(self, key: Sequence[str | int], message: str) -> ConfigError:
        return ConfigError(message, self.path, self.line_of(key))


class _Loader(yaml.SafeLoader):
    """SafeLoader that refuses duplicate keys and counts aliases."""

    def __init__(self, stream: str):
        super().__init__(stream)
        self.alias_count = 0

    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.check_event(yaml.AliasEvent):
            self.alias_count += 1
            if self.alias_count > MAX_ALIASES:
                event = self.peek_event()
                raise yaml.YAMLError(
                    f"more than {MAX_ALIASES} aliases (line {event.start_mark.line + 1}); "
                    "refusing to expand (possible alias bomb)"
                )
        return super().compose_node(parent, index)


def _walk(node: yaml.Node, path: PathKey, out: dict[PathKey, int], offset: int) -> None:
    out.setdefault(path, node.start_mark.line + 1 + offset)
    if isinstance(node, yaml.MappingNode):
        seen: dict[Any, int] = {}
        for key_node, value_node in node.value:
            key = key_node.value if isinstance(key_node, yaml.ScalarNode) else str(key_node)
            line = key_node.start_mark.line + 1 + offset
            if key in seen:
                raise _Duplicate(key, line, seen[key])
            seen[key] = line
            out[(*path, key)] = line
            _walk(value_node, (*path, key), out, offset)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            _walk(item, (*path, i), out, offset)


class _Duplicate(Exception):
    def __init__(self, key: Any, line: int, first: int):
        self.key, self.line, self.first = key, line, first


def load_yaml(
    text: str, path: str | Path | None = None, line_offset: int = 0
) -> tuple[Any, LineMap]:
    """Parse YAML text safely.

    Args:
        text: The document.
        path: The file it came from, for error messages.
        line_offset: Lines before ``text`` in that file (e.g. a front matter's opening ``---``).

    Returns:
        The data and a :class:`LineMap` of its keys.

    Raises:
        ConfigError: With file and line, for any syntax, tag, duplicate-key or alias problem.
    """
    where = str(path) if path is not None else None
    for i, line in enumerate(text.splitlines()):
        stripped = line.lstrip(" ")
        if stripped.startswith("\t"):
            raise ConfigError(
                "tab character used for indentation; YAML needs spaces", where, i + 1 + line_offset
            )
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None, LineMap(where, {})
        lines: dict[PathKey, int] = {}
        _walk(node, (), lines, line_offset)
        data = loader.construct_document(node)
    except _Duplicate as dup:
        raise ConfigError(
            f"duplicate key {dup.key!r} (first defined on line {dup.first})", where, dup.line
        ) from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 + line_offset if mark else None
        problem = exc.problem or str(exc)
        if "could not determine a constructor" in problem:
            problem = (
                "unsupported YAML tag (only plain data is allowed: strings, numbers, lists, maps)"
            )
        raise ConfigError(f"invalid YAML: {problem}", where, line) from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"invalid YAML: {exc}", where) from None
    finally:
        loader.dispose()
    return data, LineMap(where, lines)


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    """`` (did you mean 'x'?)`` for the closest choice, or an empty string."""
    match = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f" (did you mean {match[0]!r}?)" if match else ""
