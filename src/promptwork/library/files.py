"""A library folder's prompt files: finding them and reading each as a version to record.

A library is a folder of prompt files (``.prompt`` anywhere; ``.txt``, ``.md`` and chat ``.json``
files inside a folder named ``prompts``) plus the store. A prompt is identified by its front
matter ``name``, else by its file's path relative to the folder (POSIX separators).
"""

from __future__ import annotations

import fnmatch
import os
from collections.abc import Iterable, Sequence
from pathlib import Path, PurePosixPath

from promptwork.errors import ConfigError
from promptwork.prompts import PromptTemplate, parse_prompt
from promptwork.store.library import FileVersion

__all__ = ["DEFAULT_PATTERNS", "LOCK_NAME", "file_version", "find_prompt_files",
           "read_prompt_file", "template_version"]

#: Files a library holds, as glob patterns over paths relative to its folder.
DEFAULT_PATTERNS = ("*.prompt", "prompts/*.txt", "prompts/*.md", "prompts/*.json",
                    "*/prompts/*.txt", "*/prompts/*.md", "*/prompts/*.json")
#: The labels file of a library folder.
LOCK_NAME = "prompts.lock.yaml"
_SKIP_DIRS = {"node_modules", "__pycache__", "site-packages"}


def _matches(rel: str, patterns: Sequence[str]) -> bool:
    """``*.prompt`` matches at any depth; ``prompts/*.md`` below any ``prompts`` folder."""
    path = PurePosixPath(rel)
    for pattern in patterns:
        if "/" not in pattern:
            if fnmatch.fnmatch(path.name, pattern):
                return True
        elif pattern.startswith("*/"):
            tail = PurePosixPath(pattern[2:])
            if len(path.parts) > len(tail.parts) and fnmatch.fnmatch(
                    "/".join(path.parts[-len(tail.parts):]), str(tail)):
                return True
        elif fnmatch.fnmatch(rel, pattern):
            return True
    return False


def find_prompt_files(folder: Path, patterns: Sequence[str] = DEFAULT_PATTERNS) -> list[Path]:
    """The prompt files under ``folder`` (hidden folders, virtualenvs and ``node_modules``
    skipped), sorted by path."""
    found: list[Path] = []
    for root, dirs, files in os.walk(folder):
        dirs[:] = sorted(d for d in dirs if not d.startswith(".") and d not in _SKIP_DIRS
                         and not (Path(root) / d / "pyvenv.cfg").exists())
        for name in files:
            path = Path(root) / name
            if _matches(path.relative_to(folder).as_posix(), patterns):
                found.append(path)
    return sorted(found)


def _body(template: PromptTemplate) -> str:
    """The searchable text: the file without its front matter."""
    raw = template.raw
    lines = raw.splitlines(keepends=True)
    if template.lines is not None and lines and lines[0].strip() == "---":
        end = next((i for i in range(1, len(lines)) if lines[i].strip() == "---"), 0)
        return "".join(lines[end + 1:])
    return raw


def template_version(template: PromptTemplate, rel: str | None) -> FileVersion:
    """The version to record for a loaded prompt read from ``rel`` (its identity: the front
    matter ``name``, else ``rel``)."""
    name = template.meta.name or rel
    if not name:
        raise ConfigError(f"prompt {template.label!r} has neither a name nor a file path")
    return FileVersion(name=name, path=rel, text=template.raw, hash=template.content_hash,
                       description=template.meta.description, tags=tuple(template.meta.tags),
                       body=_body(template))


def read_prompt_file(path: Path, folder: Path) -> PromptTemplate:
    """Read and check one prompt file (the same reading as a suite's prompts).

    Raises:
        ConfigError: An unreadable or invalid file, with its path and line.
    """
    try:
        raw = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ConfigError(f"prompt file is not valid UTF-8 (byte {exc.start})", path) from None
    except OSError as exc:
        raise ConfigError(f"cannot read prompt file: {exc.strerror or exc}", path) from None
    return parse_prompt(raw, str(path), path.suffix)


def relative(path: Path, folder: Path) -> str:
    """``path`` relative to ``folder`` (POSIX), or the absolute path when it is outside."""
    try:
        return path.resolve().relative_to(folder.resolve()).as_posix()
    except ValueError:
        return path.resolve().as_posix()


def file_version(path: Path, folder: Path) -> FileVersion:
    """Read one file of the library folder as a version to record."""
    return template_version(read_prompt_file(path, folder), relative(path, folder))


def read_library(folder: Path, paths: Iterable[Path]) -> list[FileVersion]:
    """Read every file; two files of the same ``name`` are an error naming both.

    Raises:
        ConfigError: An invalid file, or a name used twice.
    """
    out: dict[str, FileVersion] = {}
    for path in paths:
        version = file_version(path, folder)
        if version.name in out:
            raise ConfigError(
                f"prompt name {version.name!r} is used by {out[version.name].path} and "
                f"{version.path}; give each prompt its own `name:`", path, 1)
        out[version.name] = version
    return list(out.values())
