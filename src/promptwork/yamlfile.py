"""Safe YAML loading with file:line errors.

Only plain data is accepted: no Python tags, no duplicate keys, no tab indentation, a bound on
nesting depth, and a bound on what aliases may expand to, in values and in bytes (a "billion
laughs" document is refused instead of expanding). Every
mapping key's line is kept so that validation errors can point at the line that is wrong.
"""

from __future__ import annotations

import difflib
from collections.abc import Hashable, Iterable, Sequence
from pathlib import Path
from typing import Any

import yaml

from promptwork.errors import ConfigError

#: Most alias references (``*name``) one document may hold.
MAX_ALIASES = 10_000
#: Most values a document may hold once every alias is expanded. Aliases are shared when loaded,
#: but anything that walks the data (JSON export, hashing) would expand them.
MAX_NODES = 1_000_000
#: Most characters of text (keys and scalar values) a document may hold once every alias is
#: expanded, beyond its own length: a few aliases to a long string, nested, make gigabytes.
MAX_EXPANDED_CHARS = 64 * 1024 * 1024
#: Deepest nesting of lists and mappings (Python's recursion limit is not a user error).
MAX_DEPTH = 100

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


class _Refused(Exception):
    """A structural problem found while composing or walking, with its 0-based line."""

    def __init__(self, message: str, line: int):
        super().__init__(message)
        self.message, self.line = message, line


class _Loader(yaml.SafeLoader):
    """SafeLoader that counts aliases and bounds nesting."""

    def __init__(self, stream: str):
        super().__init__(stream)
        self.alias_count = 0
        self.depth = 0

    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.depth >= MAX_DEPTH:
            event = self.peek_event()  # type: ignore[no-untyped-call]
            raise _Refused(f"nested too deeply (more than {MAX_DEPTH} levels of lists and maps)",
                           event.start_mark.line)
        if self.check_event(yaml.AliasEvent):
            self.alias_count += 1
            if self.alias_count > MAX_ALIASES:
                event = self.peek_event()  # type: ignore[no-untyped-call]
                raise _Refused(
                    f"more than {MAX_ALIASES:,} aliases; refusing to expand (possible alias bomb)",
                    event.start_mark.line,
                )
        self.depth += 1
        try:
            return super().compose_node(parent, index)
        finally:
            self.depth -= 1


class _Walker:
    """Records key lines, refuses duplicate keys, recursive aliases and explosive expansion."""

    def __init__(self, loader: _Loader, offset: int, max_chars: int):
        self.loader = loader
        self.offset = offset
        self.max_chars = max_chars
        self.lines: dict[PathKey, int] = {}
        # id(node) -> expanded size (values, characters), for nodes already walked
        self.sizes: dict[int, tuple[int, int]] = {}
        self.active: set[int] = set()  # nodes being walked (an alias to one is a cycle)

    def walk(self, node: yaml.Node, path: PathKey, record: bool = True) -> tuple[int, int]:
        """Expanded size of ``node`` in values and characters; records lines below ``path`` the
        first time it is seen."""
        ident = id(node)
        if ident in self.sizes:
            return self.sizes[ident]
        if ident in self.active:
            raise _Refused("recursive alias (a node that contains itself)", node.start_mark.line)
        self.active.add(ident)
        if record:
            self.lines.setdefault(path, node.start_mark.line + 1 + self.offset)
        size, chars = 1, 0
        if isinstance(node, yaml.ScalarNode):
            chars = len(node.value)
        elif isinstance(node, yaml.MappingNode):
            seen: dict[Hashable, int] = {}
            for key_node, value_node in node.value:
                key = self._key(key_node)
                line = key_node.start_mark.line + 1 + self.offset
                if key in seen:
                    raise _Refused(
                        f"duplicate key {key!r} (first defined on line {seen[key]})",
                        key_node.start_mark.line,
                    )
                seen[key] = line
                sub = (*path, key if isinstance(key, str | int) else str(key))
                if record:
                    self.lines[sub] = line
                for sub_size in (self.walk(key_node, sub, record=False),
                                 self.walk(value_node, sub, record)):
                    size, chars = size + sub_size[0], chars + sub_size[1]
        elif isinstance(node, yaml.SequenceNode):
            for i, item in enumerate(node.value):
                sub_size = self.walk(item, (*path, i), record)
                size, chars = size + sub_size[0], chars + sub_size[1]
        if size > MAX_NODES:
            raise _Refused(
                f"document expands to more than {MAX_NODES:,} values through aliases; "
                "refusing to expand (possible alias bomb)",
                node.start_mark.line,
            )
        if chars > self.max_chars:
            raise _Refused(
                f"document expands to more than {self.max_chars / 2**20:,.0f} MB of text through "
                "aliases; refusing to expand (possible alias bomb)",
                node.start_mark.line,
            )
        self.active.discard(ident)
        self.sizes[ident] = size, chars
        return size, chars

    def _key(self, node: yaml.Node) -> Hashable:
        """The key as it will be in the loaded mapping (so ``1`` and ``'1'`` differ)."""
        if isinstance(node, yaml.ScalarNode):
            try:
                value: Hashable = self.loader.construct_object(node)
                hash(value)
            except (yaml.YAMLError, TypeError):
                # Construction fails again, with its proper message, in construct_document.
                self.loader.recursive_objects.pop(node, None)
                return str(node.value)
            return value
        return ("<complex key>", id(node))


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
        ConfigError: With file and line, for any syntax, tag, tab, duplicate-key or alias problem.
    """
    where = str(path) if path is not None else None
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None, LineMap(where, {})
        walker = _Walker(loader, line_offset, MAX_EXPANDED_CHARS + len(text))
        walker.walk(node, ())
        data = loader.construct_document(node)
    except _Refused as exc:
        raise ConfigError(exc.message, where, exc.line + 1 + line_offset) from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 + line_offset if mark else None
        raise ConfigError(f"invalid YAML: {_describe(exc, line_offset)}", where, line) from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"invalid YAML: {exc}", where) from None
    except RecursionError:
        raise ConfigError("invalid YAML: nested too deeply", where) from None
    finally:
        loader.dispose()
    return data, LineMap(where, walker.lines)


def deepest_line(text: str) -> int:
    """The 1-based line where brackets (``[`` ``{``) nest deepest in a JSON text, outside strings:
    where to point a "nested too deeply" error (Python's JSON parser recurses per level)."""
    depth = best = 0
    line = best_line = 1
    in_string = escaped = False
    for ch in text:
        if ch == "\n":
            line += 1
        elif in_string:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
        elif ch == '"':
            in_string = True
        elif ch in "[{":
            depth += 1
            if depth > best:
                best, best_line = depth, line
        elif ch in "]}":
            depth -= 1
    return best_line


def _describe(exc: yaml.MarkedYAMLError, line_offset: int) -> str:
    problem = exc.problem or str(exc)
    if "could not determine a constructor" in problem:
        tag = problem.rsplit("tag ", 1)[-1].replace("tag:yaml.org,2002:", "!!")
        return (
            f"unsupported YAML tag {tag} (only plain data is allowed: strings, numbers, "
            "booleans, lists and maps)"
        )
    if "'\\t'" in problem:
        return "tab character where YAML needs spaces (indent with spaces, not tabs)"
    context = exc.context or ""
    if context.startswith("while ") and exc.context_mark is not None:
        return f"{problem} ({context} started on line {exc.context_mark.line + 1 + line_offset})"
    return f"{context}, {problem}" if context else problem


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    """`` (did you mean 'x'?)`` for the closest choice, or an empty string."""
    match = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f" (did you mean {match[0]!r}?)" if match else ""
