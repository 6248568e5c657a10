"""Labels in ``prompts.lock.yaml``: the library folder's plain, reviewable record of which version
each label (``production``, ``staging``, any name) points at.

The file is the truth; the store mirrors it for serving (:func:`promptwork.store.library.
mirror_labels`). Entries are written sorted by prompt name then label, one key per line, so that
moving a label is a small diff in a pull request::

    labels:
    - name: reply
      label: production
      version: 3f2a...          # the full sha256 of the file's content
      path: prompts/reply.prompt
      who: alice
      when: '2026-12-07T10:00:00+00:00'

* :func:`read_lock`, :func:`write_lock`: the file.
* :func:`move_label`, :func:`remove_label`: change a label (file, mirror and a ``label.moved``
  event).
* :func:`check_labels`: one line per label whose version no longer matches its file (CI).
"""

from __future__ import annotations

import getpass
import os
import re
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path

import yaml

from promptwork.errors import ConfigError
from promptwork.library.files import LOCK_NAME, read_prompt_file
from promptwork.store import Store
from promptwork.store.events import record_event
from promptwork.store.library import (
    LabelRow,
    mirror_labels,
    resolve_version,
    version_history,
)
from promptwork.yamlfile import load_yaml

__all__ = ["LabelMove", "check_labels", "current_user", "move_label", "read_lock",
           "remove_label", "write_lock"]

_LABEL = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$")
_HEADER = ("# Prompt labels of this library: which version each label points at.\n"
           "# Written by `promptwork prompts label`; review changes like code.\n")
_KEYS = ("name", "label", "version", "path", "who", "when")


@dataclass(frozen=True, slots=True)
class LabelMove:
    """A label moved: where it points now and where it pointed before (None: new label)."""

    row: LabelRow
    previous: str | None


def current_user() -> str:
    """Who moves a label: ``$PROMPTWORK_USER``, else the login name."""
    who = os.environ.get("PROMPTWORK_USER", "").strip()
    if who:
        return who[:100]
    try:
        return getpass.getuser()[:100] or "unknown"
    except (OSError, KeyError):
        return "unknown"


def check_label_name(label: str) -> str:
    """``label`` if it is a valid label name.

    Raises:
        ConfigError: Another name (letters, digits, ``_ . -``; 100 characters at most).
    """
    if not _LABEL.match(label):
        raise ConfigError(f"{label!r} is not a label name: use letters, digits, '_', '.' and "
                          "'-' (starting with a letter or digit, 100 characters at most)")
    return label


def read_lock(folder: Path) -> list[LabelRow]:
    """The labels of ``folder/prompts.lock.yaml`` (none when the file does not exist).

    Raises:
        ConfigError: A malformed file, with its line.
    """
    path = folder / LOCK_NAME
    if not path.is_file():
        return []
    data, where = load_yaml(path.read_text(encoding="utf-8"), str(path))
    if data is None:
        return []
    if not isinstance(data, dict) or not isinstance(data.get("labels", []), list):
        raise ConfigError("a lock file is a mapping with a 'labels' list", path, 1)
    rows: list[LabelRow] = []
    seen: set[tuple[str, str]] = set()
    for i, item in enumerate(data.get("labels") or []):
        if not isinstance(item, dict):
            raise where.error(("labels", i), f"labels[{i}] must be a mapping")
        missing = [k for k in ("name", "label", "version") if not item.get(k)]
        unknown = [k for k in item if k not in _KEYS]
        if missing or unknown:
            what = f"misses {', '.join(missing)}" if missing else f"has unknown key {unknown[0]!r}"
            raise where.error(("labels", i), f"labels[{i}] {what} (keys: {', '.join(_KEYS)})")
        version = str(item["version"]).lower()
        if not re.fullmatch(r"[0-9a-f]{64}", version):
            raise where.error(("labels", i, "version"),
                              f"labels[{i}].version must be a full sha256 hash (64 hex digits)")
        key = (str(item["name"]), str(item["label"]))
        if key in seen:
            raise where.error(("labels", i), f"label {key[1]!r} of {key[0]!r} is given twice")
        seen.add(key)
        when = item.get("when")
        try:
            moved = (when if isinstance(when, datetime) else
                     datetime.fromisoformat(str(when)) if when else datetime.fromtimestamp(0, UTC))
        except ValueError:
            raise where.error(("labels", i, "when"),
                              f"labels[{i}].when is not an ISO date and time") from None
        rows.append(LabelRow(key[0], check_label_name(key[1]), version,
                             str(item["path"]) if item.get("path") else None,
                             str(item.get("who") or "unknown"),
                             moved if moved.tzinfo else moved.replace(tzinfo=UTC)))
    return sorted(rows, key=lambda r: (r.name, r.label))


def write_lock(folder: Path, rows: list[LabelRow]) -> Path:
    """Write the labels, sorted by name then label (stable, diff-friendly); returns the path."""
    entries = [{"name": r.name, "label": r.label, "version": r.hash, "path": r.path,
                "who": r.who, "when": r.moved_at.astimezone(UTC).isoformat(timespec="seconds")}
               for r in sorted(rows, key=lambda r: (r.name, r.label))]
    text = yaml.safe_dump({"labels": entries}, sort_keys=False, allow_unicode=True,
                          default_flow_style=False, width=100)
    path = folder / LOCK_NAME
    tmp = path.with_suffix(".yaml.tmp")
    tmp.write_text(_HEADER + text, encoding="utf-8")
    tmp.replace(path)
    return path


def _path_of(store: Store, name: str, version: str) -> str | None:
    paths = [r.path for r in version_history(store, name) if r.hash == version]
    return paths[-1] if paths else None


def move_label(store: Store, folder: Path, name: str, ref: str, label: str,
               who: str | None = None) -> LabelMove:
    """Point ``name``'s ``label`` at version ``ref`` (hash or unique prefix): the lock file is
    rewritten, the store mirrors it and a ``label.moved`` event is recorded.

    Raises:
        ConfigError: A bad label name, an unknown prompt or version, a malformed lock file.
    """
    check_label_name(label)
    version = resolve_version(store, name, ref)
    rows = read_lock(folder)
    previous = next((r.hash for r in rows if (r.name, r.label) == (name, label)), None)
    row = LabelRow(name, label, version, _path_of(store, name, version), who or current_user(),
                   datetime.now(UTC).replace(microsecond=0))
    rows = [r for r in rows if (r.name, r.label) != (name, label)] + [row]
    write_lock(folder, rows)
    mirror_labels(store, rows)
    if previous != version:
        record_event(store.engine, "label.moved", {
            "name": name, "label": label, "version": version, "previous": previous,
            "path": row.path, "who": row.who})
    return LabelMove(row, previous)


def remove_label(store: Store, folder: Path, name: str, label: str,
                 who: str | None = None) -> LabelRow:
    """Remove ``name``'s ``label`` (file, mirror, and a ``label.moved`` event to no version).

    Raises:
        ConfigError: No such label.
    """
    rows = read_lock(folder)
    found = next((r for r in rows if (r.name, r.label) == (name, label)), None)
    if found is None:
        raise ConfigError(f"prompt {name!r} has no label {label!r} in {folder / LOCK_NAME}")
    rows.remove(found)
    write_lock(folder, rows)
    mirror_labels(store, rows)
    record_event(store.engine, "label.moved", {
        "name": name, "label": label, "version": None, "previous": found.hash,
        "path": found.path, "who": who or current_user()})
    return replace(found, who=who or current_user())


def check_labels(folder: Path) -> list[str]:
    """One line per label whose version no longer matches the file it came from (empty: all
    match). A label without a path, a missing or unreadable file, or other content is a problem.
    """
    problems: list[str] = []
    lock = folder / LOCK_NAME
    for row in read_lock(folder):
        where = f"{lock}: {row.name}@{row.label} (version {row.hash[:12]})"
        if not row.path:
            problems.append(f"{where}: no file path is recorded; label it again after "
                            "`promptwork prompts sync`")
            continue
        path = folder / row.path
        if not path.is_file():
            problems.append(f"{where}: its file {row.path} is gone")
            continue
        try:
            now = read_prompt_file(path, folder).content_hash
        except ConfigError as exc:
            problems.append(f"{where}: its file {row.path} does not load: {exc}")
            continue
        if now != row.hash:
            problems.append(f"{where}: {row.path} changed since it was labelled (the file is "
                            f"now version {now[:12]}); label the new version or restore the file")
    return problems
