"""The prompt library in the store: identities, their files' history, and the labels' mirror.

A prompt of the library is identified by its front matter ``name``, else the path of its file
relative to the library folder. Its versions are the contents its file had (content-addressed
in ``prompts``); ``library_versions`` records when which content was at which path, so renaming
or editing a file keeps the history. Labels live in ``prompts.lock.yaml`` (see
:mod:`promptwork.library.lock`); ``library_labels`` mirrors them for serving.

Functions for other layers (the server, the workbench, the CLI):

* :func:`record_versions`: record files' current contents (and ``prompt.versioned`` events).
* :func:`library_entries`, :func:`library_entry`: the prompts, with their labels.
* :func:`version_history`: one prompt's recorded versions, oldest first;
  :func:`version_hashes`: every prompt's distinct versions.
* :func:`resolve_version`: a version of a prompt by hash or unique prefix.
* :func:`labelled_version`: name + label -> the version's hash, text and path (for serving).
* :func:`mirror_labels`, :func:`label_rows`: write and read the labels' mirror.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, delete, insert, select, update

from promptwork.errors import ConfigError
from promptwork.store import schema
from promptwork.store.events import record_event
from promptwork.store.library_search import index_prompt
from promptwork.store.store import Store

__all__ = [
    "FileVersion",
    "LabelRow",
    "LabelledVersion",
    "LibraryEntry",
    "Recorded",
    "VersionRecord",
    "label_rows",
    "labelled_version",
    "library_entries",
    "library_entry",
    "mirror_labels",
    "record_versions",
    "resolve_version",
    "version_hashes",
    "version_history",
]

#: Where a recorded version came from.
SOURCES = ("sync", "eval", "optimize", "import")


@dataclass(frozen=True, slots=True)
class FileVersion:
    """A prompt file's current content, to record.

    Attributes:
        name: The prompt's identity (front matter ``name``, else ``path``).
        path: The file's path relative to the library folder (POSIX), or None.
        text: The file's text (its sha256 is the version).
        hash: sha256 of ``text``.
        description: The front matter's description.
        tags: The front matter's tags.
        body: The searchable text (the template(s) without front matter).
    """

    name: str
    path: str | None
    text: str
    hash: str
    description: str | None = None
    tags: tuple[str, ...] = ()
    body: str = ""


@dataclass(frozen=True, slots=True)
class Recorded:
    """What recording one file did: ``new`` (a new version), ``moved`` (same content, another
    path) or ``unchanged``; ``previous`` is the version it follows (None for a new prompt)."""

    name: str
    hash: str
    status: str
    previous: str | None


@dataclass(frozen=True, slots=True)
class LabelRow:
    """A label as mirrored: ``name``'s ``label`` points at version ``hash``."""

    name: str
    label: str
    hash: str
    path: str | None
    who: str
    moved_at: datetime


@dataclass(frozen=True, slots=True)
class LibraryEntry:
    """A prompt of the library.

    Attributes:
        name: Its identity.
        path: Where its newest version was read.
        description: Its description (newest version).
        tags: Its tags (newest version).
        latest_hash: Its newest version.
        created_at: When it was first recorded.
        updated_at: When its newest version (or path) was recorded.
        labels: Label -> version hash.
    """

    name: str
    path: str | None
    description: str | None
    tags: tuple[str, ...]
    latest_hash: str
    created_at: datetime
    updated_at: datetime
    labels: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class VersionRecord:
    """One recorded change of a prompt's file (content or path)."""

    hash: str
    path: str | None
    source: str
    recorded_at: datetime


@dataclass(frozen=True, slots=True)
class LabelledVersion:
    """The version a label points at, with its text (what a server hands out)."""

    name: str
    label: str
    hash: str
    text: str
    path: str | None
    who: str
    moved_at: datetime


def _now() -> datetime:
    return datetime.now(UTC)


def record_versions(store: Store, files: Sequence[FileVersion], source: str = "sync",
                    ) -> list[Recorded]:
    """Record each file's current content as a version of its prompt.

    The texts go to ``prompts`` (content-addressed); a ``library_versions`` row is added when a
    prompt's content or path differs from its last recorded one; the search index follows the
    newest version. A ``prompt.versioned`` event is recorded for each content new to its prompt.

    Args:
        store: The store.
        files: The files (two with the same name: the last one wins; give distinct names).
        source: ``sync``, ``eval``, ``optimize`` or ``import``.
    """
    if source not in SOURCES:
        raise ValueError(f"unknown source {source!r}")
    store.save_prompts([(f.text, f.name, f.hash) for f in files])
    out: list[Recorded] = []
    events: list[dict[str, Any]] = []
    p, v = schema.library_prompts, schema.library_versions
    with store.engine.begin() as conn:
        for f in files:
            now = _now()
            last = conn.execute(select(v.c.hash, v.c.path).where(v.c.name == f.name)
                                .order_by(v.c.id.desc()).limit(1)).first()
            values = {"path": f.path, "description": f.description, "tags": list(f.tags),
                      "latest_hash": f.hash, "updated_at": now}
            if last is None:
                conn.execute(insert(p).values(name=f.name, created_at=now, **values))
                status, previous = "new", None
            elif (last.hash, last.path) == (f.hash, f.path):
                out.append(Recorded(f.name, f.hash, "unchanged", last.hash))
                continue
            else:
                conn.execute(update(p).where(p.c.name == f.name).values(**values))
                known = conn.execute(select(v.c.id).where(v.c.name == f.name, v.c.hash == f.hash)
                                     .limit(1)).first()
                status, previous = ("moved" if known else "new"), last.hash
            conn.execute(insert(v).values(name=f.name, hash=f.hash, path=f.path, source=source,
                                          recorded_at=now))
            index_prompt(conn, f.name, " ".join(f.tags), f.description or "", f.body)
            out.append(Recorded(f.name, f.hash, status, previous))
            if status == "new":
                events.append({"name": f.name, "version": f.hash, "previous": previous,
                               "path": f.path, "source": source})
    for payload in events:
        record_event(store.engine, "prompt.versioned", payload)
    return out


def _labels(conn: Connection, names: Iterable[str] | None = None) -> dict[str, dict[str, str]]:
    lab = schema.library_labels
    query = select(lab.c.name, lab.c.label, lab.c.hash)
    if names is not None:
        query = query.where(lab.c.name.in_(list(names)))
    out: dict[str, dict[str, str]] = {}
    for row in conn.execute(query.order_by(lab.c.name, lab.c.label)):
        out.setdefault(row.name, {})[row.label] = row.hash
    return out


def _entry(row: Any, labels: dict[str, dict[str, str]]) -> LibraryEntry:
    return LibraryEntry(row.name, row.path, row.description, tuple(row.tags or ()),
                        row.latest_hash, row.created_at, row.updated_at,
                        labels.get(row.name, {}))


def library_entries(store: Store, names: Iterable[str] | None = None) -> list[LibraryEntry]:
    """The library's prompts (or those named), by name, each with its labels."""
    p = schema.library_prompts
    query = select(p).order_by(p.c.name)
    wanted = None if names is None else list(names)
    if wanted is not None:
        query = query.where(p.c.name.in_(wanted))
    with store.engine.connect() as conn:
        rows = conn.execute(query).all()
        labels = _labels(conn, wanted)
    return [_entry(row, labels) for row in rows]


def library_entry(store: Store, name: str) -> LibraryEntry:
    """One prompt of the library.

    Raises:
        ConfigError: No prompt of that name (the message lists close names).
    """
    found = library_entries(store, [name])
    if found:
        return found[0]
    p = schema.library_prompts
    with store.engine.connect() as conn:
        close = [r[0] for r in conn.execute(
            select(p.c.name).where(p.c.name.contains(name, autoescape=True)).limit(5))]
    hint = f"; did you mean {', '.join(close)}?" if close else (
        "; run `promptwork prompts sync` to record the library's files")
    raise ConfigError(f"no prompt {name!r} in the library of {store.display_url}{hint}")


def version_history(store: Store, name: str) -> list[VersionRecord]:
    """The recorded changes of a prompt's file, oldest first."""
    v = schema.library_versions
    with store.engine.connect() as conn:
        rows = conn.execute(select(v.c.hash, v.c.path, v.c.source, v.c.recorded_at)
                            .where(v.c.name == name).order_by(v.c.id)).all()
    return [VersionRecord(r.hash, r.path, r.source, r.recorded_at) for r in rows]


def resolve_version(store: Store, name: str, ref: str) -> str:
    """The full hash of ``name``'s version ``ref`` (a hash or unique prefix of 4+ digits).

    Raises:
        ConfigError: An unknown prompt, a malformed, unknown or ambiguous reference.
    """
    library_entry(store, name)
    ref = ref.strip().lower()
    if len(ref) < 4 or any(c not in "0123456789abcdef" for c in ref):
        raise ConfigError(f"{ref!r} is not a version: give its hash or its first characters "
                          "(at least 4 hexadecimal digits)")
    found = {r.hash for r in version_history(store, name) if r.hash.startswith(ref)}
    if not found:
        raise ConfigError(f"prompt {name!r} has no version {ref!r}; "
                          f"`promptwork prompts versions {name}` lists them")
    if len(found) > 1:
        raise ConfigError(f"version prefix {ref!r} of {name!r} is ambiguous; give more characters")
    return found.pop()


def mirror_labels(store: Store, rows: Sequence[LabelRow]) -> None:
    """Make the store's labels exactly ``rows`` (the lock file's content), in one transaction."""
    lab = schema.library_labels
    with store.engine.begin() as conn:
        conn.execute(delete(lab))
        if rows:
            conn.execute(insert(lab), [
                {"name": r.name, "label": r.label, "hash": r.hash, "path": r.path, "who": r.who,
                 "moved_at": r.moved_at} for r in rows])


def label_rows(store: Store, name: str | None = None) -> list[LabelRow]:
    """The mirrored labels (of one prompt, or all), by name then label."""
    lab = schema.library_labels
    query = select(lab).order_by(lab.c.name, lab.c.label)
    if name is not None:
        query = query.where(lab.c.name == name)
    with store.engine.connect() as conn:
        rows = conn.execute(query).all()
    return [LabelRow(r.name, r.label, r.hash, r.path, r.who, r.moved_at) for r in rows]


def labelled_version(store: Store, name: str, label: str) -> LabelledVersion | None:
    """The version ``name``'s ``label`` points at, with its text; None when the prompt has no
    such label (a server answers 404: never a silent fallback to another version)."""
    lab, pr = schema.library_labels, schema.prompts
    with store.engine.connect() as conn:
        row = conn.execute(
            select(lab, pr.c.text).join(pr, pr.c.hash == lab.c.hash)
            .where(lab.c.name == name, lab.c.label == label)).first()
    if row is None:
        return None
    return LabelledVersion(row.name, row.label, row.hash, row.text, row.path, row.who,
                           row.moved_at)


def version_hashes(store: Store, names: Iterable[str] | None = None) -> dict[str, list[str]]:
    """Each prompt's distinct version hashes, oldest first (all prompts, or those named)."""
    v = schema.library_versions
    query = select(v.c.name, v.c.hash).order_by(v.c.id)
    if names is not None:
        query = query.where(v.c.name.in_(list(names)))
    out: dict[str, list[str]] = {}
    with store.engine.connect() as conn:
        for row in conn.execute(query):
            hashes = out.setdefault(row.name, [])
            if row.hash not in hashes:
                hashes.append(row.hash)
    return out
