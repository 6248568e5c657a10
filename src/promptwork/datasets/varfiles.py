"""A test's ``vars`` given as files (``vars: vars/*.yaml`` or a list of paths), as in promptfoo.

Each path (``file://`` optional) may be a glob; it resolves against the folder of the file the
test is written in. Every matching YAML or JSON file must hold a mapping of variable names to
values; the mappings are merged in order (a later file's value wins). Files must stay inside
the suite folder unless files outside it are allowed.
"""

from __future__ import annotations

import glob
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from promptwork.datasets import reading
from promptwork.errors import ConfigError
from promptwork.yamlfile import load_yaml

__all__ = ["MAX_VARS_FILES", "VarsFiles", "is_vars_paths"]

#: Most files one test's ``vars`` may name (globs included).
MAX_VARS_FILES = 1000


def is_vars_paths(value: Any) -> bool:
    """True when ``vars`` names files (a path, or a non-empty list of paths) rather than values."""
    if isinstance(value, str):
        return True
    return isinstance(value, list) and bool(value) and all(isinstance(v, str) for v in value)


@dataclass(frozen=True)
class VarsFiles:
    """Where a test's ``vars`` files are read from.

    Attributes:
        base_dir: The folder of the file the test is written in (paths resolve against it).
        root: The suite folder, which the files must stay inside.
        allow_outside: Allow files outside ``root``.
    """

    base_dir: Path
    root: Path
    allow_outside: bool = False

    def under(self, folder: Path) -> VarsFiles:
        """The same reader for tests written in a file in ``folder``."""
        return replace(self, base_dir=folder)

    def read(self, spec: str | Sequence[str]) -> dict[str, Any]:
        """The merged variables of every file ``spec`` names.

        Raises:
            ConfigError: No file matches, a file is outside the suite folder, not YAML/JSON,
                or does not hold a mapping.
        """
        merged: dict[str, Any] = {}
        count = 0
        for pattern in [spec] if isinstance(spec, str) else spec:
            for path in self._matches(pattern):
                count += 1
                if count > MAX_VARS_FILES:
                    raise ConfigError(f"'vars' names more than {MAX_VARS_FILES} files")
                merged.update(self._mapping(path))
        return merged

    def _matches(self, pattern: str) -> list[Path]:
        raw = pattern.removeprefix("file://")
        full = Path(raw) if Path(raw).is_absolute() else self.base_dir / raw
        if glob.has_magic(raw):
            found = sorted(Path(p) for p in glob.glob(str(full)) if Path(p).is_file())
        else:
            found = [full] if full.is_file() else []
        if not found:
            raise ConfigError(f"no vars file matches {pattern!r} (looked in {full.parent})")
        root = self.root.resolve()
        for path in found:
            if not self.allow_outside and not path.resolve().is_relative_to(root):
                raise ConfigError(
                    f"vars file {str(path)!r} is outside the suite folder {root}; move it inside")
        return found

    def _mapping(self, path: Path) -> dict[str, Any]:
        if path.suffix.lower() not in (".yaml", ".yml", ".json"):
            raise ConfigError(f"vars file {path.name!r} must be YAML or JSON (.yaml, .yml, .json)")
        data, _ = load_yaml(reading.read_whole(path, str(path)), str(path))
        if data is None:
            return {}
        if not isinstance(data, dict):
            raise ConfigError(f"vars file {path.name!r} must hold a mapping of variable names to "
                              f"values, got {type(data).__name__}")
        return {str(k): v for k, v in data.items()}
