"""What the API serves: a prompt of the library at a label or version, parsed once per version.

A request names a prompt and at most one of a label (``production``, any name) or a version
(a hash or unique prefix); with neither, the prompt's newest version is served. An unknown
prompt, label or version is :class:`NotFound` (a 404): never a silent fallback to another
version. Versions and the newest one are found by the library
(:func:`promptwork.library.served.resolve`); a label, asked on nearly every request, is looked
up here on the server's own connection (:class:`ReadConnection`).
"""

from __future__ import annotations

import re
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy import Connection, Engine

from promptwork.errors import ConfigError
from promptwork.library.search import search
from promptwork.library.served import PromptNotFound, parse_version, resolve
from promptwork.prompts import PromptTemplate
from promptwork.store import Store
from promptwork.store.hooks import label_target
from promptwork.store.library import library_entries

__all__ = ["NotFound", "PromptCache", "ReadConnection", "Served", "list_prompts", "search_prompts"]

T = TypeVar("T")
_ROLE_LINE = re.compile(r"^[ \t]*(system|user|assistant)[ \t]*:[ \t]*$", re.MULTILINE)
#: Parsed versions kept by a server (a version never changes: its hash is its content).
CACHED_VERSIONS = 512


#: No such prompt, label or version (HTTP 404).
NotFound = PromptNotFound


@dataclass(frozen=True, slots=True)
class Served:
    """A version of a prompt, as served.

    Attributes:
        name: The prompt.
        version: The version's hash.
        label: The label asked for (None when asked by version or for the newest).
        path: The file it was read from.
        template: The parsed prompt.
        facts: What the version says of itself (template, messages, params, model...).
    """

    name: str
    version: str
    label: str | None
    path: str | None
    template: PromptTemplate
    facts: dict[str, Any]

    def to_json(self) -> dict[str, Any]:
        """The ``GET /v1/prompts/{name}`` answer."""
        return {"name": self.name, "version": self.version, "label": self.label,
                "path": self.path, **self.facts}



def _facts(t: PromptTemplate) -> dict[str, Any]:
    return {"template": t.raw, "messages": message_templates(t), "params": t.params.given(),
            "model": t.meta.model, "description": t.meta.description, "tags": list(t.meta.tags),
            "variables": sorted(t.variables), "required": sorted(t.required_variables)}


def message_templates(template: PromptTemplate) -> list[dict[str, str]]:
    """The prompt's messages as templates (role and unrendered text)."""
    raw = template.raw
    if raw.startswith("---"):
        end = raw.find("\n---", 3)
        raw = raw[raw.find("\n", end + 1) + 1:] if end >= 0 else raw
    pieces = _ROLE_LINE.split(raw)
    if len(pieces) == 1:
        return [{"role": "user", "content": raw.strip("\n")}]
    return [{"role": role, "content": body.strip("\n")}
            for role, body in zip(pieces[1::2], pieces[2::2], strict=True)]


class PromptCache:
    """Parsed prompt versions by hash (bounded, least recently used dropped first)."""

    def __init__(self, size: int = CACHED_VERSIONS):
        self.size = size
        self._items: OrderedDict[str, tuple[PromptTemplate, dict[str, Any]]] = OrderedDict()

    def parsed(self, version: str, text: str | None, name: str, path: str | None,
               store_text: Callable[[str], str | None] = lambda h: None,
               ) -> tuple[PromptTemplate, dict[str, Any]]:
        """The prompt of version ``version`` and its facts, parsed from ``text`` (read with
        ``store_text`` when None) the first time.

        Raises:
            NotFound: The version's text is not in the store.
        """
        found = self._items.get(version)
        if found is not None:
            self._items.move_to_end(version)
            return found
        if text is None:
            text = store_text(version)
        if text is None:
            raise NotFound(f"prompt {name!r}: version {version[:12]} has no stored text")
        template = parse_version(version, text, name, path)
        item = self._items[version] = (template, _facts(template))
        if len(self._items) > self.size:
            self._items.popitem(last=False)
        return item

    def resolve(self, store: Store, name: str, label: str | None = None,
                version: str | None = None, reads: ReadConnection | None = None) -> Served:
        """The version of ``name`` a request asks for (``reads``: where to look the label up,
        instead of a connection from the store's pool).

        Raises:
            NotFound: No such prompt, label or version.
            ConfigError: Both a label and a version, or a stored text that does not parse.
        """
        if label and version:
            raise ConfigError("give a label or a version, not both")
        if label:
            found = (reads.lookup(("label", name, label),
                                  lambda conn: label_target(conn, name, label))
                     if reads is not None else label_target(store.engine, name, label))
            if found is None:
                raise NotFound(f"prompt {name!r} has no label {label!r}")
            target, path = found
            return Served(name, target, label, path,
                          *self.parsed(target, None, name, path, store.prompt_text))
        served = resolve(store, name, None, version,
                         parse=lambda h, text, n, path: self.parsed(h, text, n, path)[0])
        return Served(name, served.version, None, served.path,
                      *self.parsed(served.version, served.text, name, served.path))


class ReadConnection:
    """One connection kept open for the lookups every request makes (its token, a label),
    used from the event loop's thread only: no pool checkout and ping per request.

    Each lookup ends its transaction, so it sees every commit made before it. On SQLite the
    answers are also remembered until the database changes: at the start of each request
    (:meth:`begin`), ``PRAGMA data_version`` (a few microseconds) tells whether any other
    connection, of this process or another, has committed since, and then every remembered
    answer is dropped. A revoked token or a moved label is therefore seen by the next request,
    as without the memo.
    """

    #: Answers remembered at most (then all are dropped: random tokens cannot grow it).
    MEMO_SIZE = 4096

    def __init__(self, engine: Engine):
        self.engine = engine
        self._conn: Connection | None = None
        self._memo: dict[tuple[str, ...], Any] = {}
        self._seen: int | None = None

    def get(self) -> Connection:
        """The connection (opened again after an error invalidated it)."""
        if self._conn is None or self._conn.closed or self._conn.invalidated:
            self._conn = self.engine.connect()
            self._memo.clear()
            self._seen = None
        return self._conn

    def begin(self) -> None:
        """Start a request: forget every remembered answer if the database changed since."""
        version = self._data_version(self.get())
        if version is None or version != self._seen:
            self._memo.clear()
            self._seen = version

    def lookup(self, key: tuple[str, ...], read: Callable[[Connection], T]) -> T:
        """``read(connection)``, remembered under ``key`` while the database is unchanged
        (as of the last :meth:`begin`; nothing is remembered before one, nor on PostgreSQL)."""
        conn = self.get()
        if self._seen is not None and key in self._memo:
            found: T = self._memo[key]
            return found
        value = read(conn)
        if self._seen is not None:
            if len(self._memo) >= self.MEMO_SIZE:
                self._memo.clear()
            self._memo[key] = value
        return value

    @staticmethod
    def _data_version(conn: Connection) -> int | None:
        if conn.dialect.name != "sqlite":
            return None
        raw = conn.connection.driver_connection
        if raw is None:
            return None
        return int(raw.execute("PRAGMA data_version").fetchone()[0])

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None


def list_prompts(store: Store) -> list[dict[str, Any]]:
    """Every prompt of the library with its labels (``GET /v1/prompts``)."""
    return [{"name": e.name, "path": e.path, "description": e.description, "tags": list(e.tags),
             "version": e.latest_hash, "updated_at": e.updated_at.isoformat(),
             "labels": e.labels} for e in library_entries(store)]


def search_prompts(store: Store, query: str, limit: int = 20, **filters: Any
                   ) -> dict[str, Any]:
    """The library's search (``GET /v1/search``): full text, filtered by label, tag, and
    measured performance (``suite``, ``model``, ``min_score``, ``model_tested``)."""
    rows = search(query, store=store, limit=limit, **filters)
    return {"query": query, "ranking": rows.ranking, "note": rows.note or None, "hits": [
        {"name": r.name, "score": r.score, "snippet": "".join(
            f"[{t}]" if hit else t for t, hit in r.snippet),
         "description": r.description, "tags": list(r.tags), "labels": r.labels,
         "version": r.version, "path": r.path, "measured": r.measured,
         "measured_on": r.measured_on or None} for r in rows]}
