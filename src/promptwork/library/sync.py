"""Recording a library folder's prompt files in the store.

The files are the truth: :func:`sync_folder` (``promptwork prompts sync``) records each file's
current content as a version of its prompt and mirrors ``prompts.lock.yaml`` in the store;
:func:`record_suite` does the same for the prompt files a suite evaluates or optimizes (every
``eval`` and ``optimize`` calls it), with the suite's folder as the library folder.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from promptwork.library.files import (
    DEFAULT_PATTERNS,
    find_prompt_files,
    read_library,
    relative,
    template_version,
)
from promptwork.library.lock import read_lock
from promptwork.store import Store
from promptwork.store.library import FileVersion, Recorded, mirror_labels, record_versions
from promptwork.suite import Suite

__all__ = ["SyncResult", "record_suite", "suite_files", "sync_folder"]

#: Prompt functions are code, not library prompts.
_CODE = (".py", ".js", ".mjs", ".cjs", ".ts")


@dataclass(frozen=True, slots=True)
class SyncResult:
    """What a sync recorded: one entry per file, and the labels mirrored."""

    recorded: tuple[Recorded, ...]
    labels: int

    def count(self, status: str) -> int:
        return sum(1 for r in self.recorded if r.status == status)


def sync_folder(store: Store, folder: Path, patterns: Sequence[str] = DEFAULT_PATTERNS,
                ) -> SyncResult:
    """Record every prompt file of ``folder`` and mirror its lock file's labels.

    Every file is read and checked before anything is recorded.

    Raises:
        ConfigError: An invalid prompt file or lock file (file and line), a name used twice.
    """
    files = read_library(folder, find_prompt_files(folder, patterns))
    labels = read_lock(folder)
    recorded = record_versions(store, files, "sync")
    mirror_labels(store, labels)
    return SyncResult(tuple(recorded), len(labels))


def suite_files(suite: Suite) -> list[FileVersion]:
    """The versions of the suite's prompts that come from files (inline prompts have no
    file; Python prompt functions are code, not library prompts)."""
    out: dict[str, FileVersion] = {}
    for entry in suite.prompts:
        template = entry.template
        if template.path is None or not template.raw:
            continue
        path = Path(template.path)
        if path.suffix.lower() in _CODE or not path.is_file():
            continue
        version = template_version(template, relative(path, suite.base_dir))
        out.setdefault(version.name, version)
    return list(out.values())


def record_suite(suite: Suite, db: str | None, source: str = "eval") -> list[Recorded]:
    """Record the prompt files ``suite`` uses, in the store of its folder (or ``db``)."""
    files = suite_files(suite)
    if not files:
        return []
    store = Store.for_folder(suite.base_dir, db)
    try:
        return record_versions(store, files, source)
    finally:
        store.close()
