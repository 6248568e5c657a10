"""``file://`` references inside a provider's ``config``, read at load as promptfoo does.

promptfoo lets a provider's tools, functions and output schemas live in their own files
(``tools: file://tools.json``, ``response_format: file://schema.yaml``, one file per tool in a
list, or a schema inside ``response_format``). Those references are replaced by the file's
content when the suite loads: ``.json`` is parsed as JSON, ``.yaml``/``.yml`` as YAML, anything
else is text. Paths resolve against the suite's folder and stay inside it. Tools made by code
(``file://tools.py:fn``, JavaScript) are refused by name.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from promptwork.errors import ConfigError
from promptwork.userfunc import resolve_inside
from promptwork.yamlfile import load_yaml

__all__ = ["FILE_VALUED_KEYS", "load_config_files"]

#: Provider ``config`` keys whose values (at any depth) may name files.
FILE_VALUED_KEYS = frozenset({
    "tools", "functions", "response_format", "responseFormat", "responseSchema",
    "response_schema", "text",
})
_CODE_SUFFIXES = (".py", ".js", ".ts", ".mjs", ".cjs")


class ConfigFileError(ConfigError):
    """A config file reference that cannot be read; ``key`` is the config key it sits under."""

    def __init__(self, key: str, message: str, path: str | None = None, line: int | None = None):
        super().__init__(message, path, line)
        self.key = key


def load_config_files(config: dict[str, Any], base_dir: Path,
                      allow_outside: bool = False) -> dict[str, Any]:
    """``config`` with the ``file://`` references under :data:`FILE_VALUED_KEYS` read.

    Raises:
        ConfigFileError: A missing or unreadable file, one outside the suite folder, or code.
    """
    out = dict(config)
    for key in FILE_VALUED_KEYS & set(config):
        try:
            out[key] = _resolve(config[key], base_dir, allow_outside, 0)
        except ConfigError as exc:
            raise ConfigFileError(key, f"{key}: {exc.message}", exc.path, exc.line) from None
    return out


def _resolve(value: Any, base_dir: Path, allow_outside: bool, depth: int) -> Any:
    if depth > 20:
        raise ConfigError("file references nested too deeply (more than 20 levels)")
    if isinstance(value, str) and value.startswith("file://"):
        return _read(value, base_dir, allow_outside, depth)
    if isinstance(value, list):
        items: list[Any] = []
        for item in value:
            loaded = _resolve(item, base_dir, allow_outside, depth + 1)
            # promptfoo flattens a list of tool files that each hold a list of tools
            if isinstance(item, str) and isinstance(loaded, list):
                items.extend(loaded)
            else:
                items.append(loaded)
        return items
    if isinstance(value, dict):
        return {k: _resolve(v, base_dir, allow_outside, depth + 1) for k, v in value.items()}
    return value


def _read(ref: str, base_dir: Path, allow_outside: bool, depth: int) -> Any:
    raw = ref[len("file://"):]
    if raw.partition(":")[0].lower().endswith(_CODE_SUFFIXES):
        raise ConfigError(
            f"{ref!r}: values made by code are not supported here; give a JSON or YAML file")
    path = resolve_inside(raw, base_dir, allow_outside, "config file")
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read {ref!r}: {exc}") from None
    suffix = path.suffix.lower()
    if suffix == ".json":
        try:
            data: Any = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ConfigError(f"{ref!r} is not valid JSON: {exc.msg} (line {exc.lineno})",
                              path, exc.lineno) from None
    elif suffix in (".yaml", ".yml"):
        data, _ = load_yaml(text, path)
    else:
        return text
    return _resolve(data, base_dir, allow_outside, depth + 1)
