"""Full-text search over the prompt library: names, tags, descriptions and prompt text.

SQLite searches an FTS5 table (porter stemming, BM25 ranking with the name weighted most, then
tags and description, then the text; ``snippet()`` for the matching passage); PostgreSQL a
stored, weighted ``tsvector`` with a GIN index (``ts_rank_cd``, ``ts_headline``). Both read the
query the same way: its words, each also matching as a prefix, all required.

* :func:`index_prompt`: (re)index one prompt, inside the caller's transaction.
* :func:`text_search`: ranked hits with their snippet, as segments marked matched or not.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import Connection, bindparam, delete, insert, select, text

from promptwork.store import schema
from promptwork.store.store import Store

__all__ = ["TextHit", "documents", "index_prompt", "query_words", "text_search"]

_START, _STOP = "\x02", "\x03"  # snippet markers no prompt text holds (control characters)
_WORD = re.compile(r"\w+", re.UNICODE)


@dataclass(frozen=True, slots=True)
class TextHit:
    """A prompt that matched.

    Attributes:
        name: The prompt.
        score: Relevance (higher is better; comparable within one search only).
        snippet: The matching passage as ``(text, matched)`` segments.
    """

    name: str
    score: float
    snippet: tuple[tuple[str, bool], ...]

    @property
    def snippet_text(self) -> str:
        """The snippet with matches in ``[brackets]``."""
        return "".join(f"[{t}]" if hit else t for t, hit in self.snippet)


def query_words(query: str) -> list[str]:
    """The words of a search query (punctuation and operators are not syntax: only words)."""
    return [w.lower() for w in _WORD.findall(query)][:32]


def index_prompt(conn: Connection, name: str, tags: str, description: str, body: str) -> None:
    """Replace ``name``'s searchable text (call inside the transaction that records it)."""
    table = schema.library_search
    conn.execute(delete(table).where(table.c.name == name))
    conn.execute(insert(table).values(name=name, tags=tags, description=description,
                                      body=body))


def _segments(marked: str) -> tuple[tuple[str, bool], ...]:
    out: list[tuple[str, bool]] = []
    for i, piece in enumerate(re.split(f"[{_START}{_STOP}]", marked)):
        if piece:
            out.append((re.sub(r"\s+", " ", piece), i % 2 == 1))
    return tuple(out)


def text_search(store: Store, query: str, limit: int = 50,
                names: Sequence[str] | None = None) -> list[TextHit]:
    """The prompts matching every word of ``query`` (as prefixes), best first.

    Args:
        store: The store.
        query: Free text; an empty query (no words) matches nothing.
        limit: Most hits returned.
        names: Only among these prompts (None: all).
    """
    words = query_words(query)
    if not words or (names is not None and not names):
        return []
    dialect = store.engine.dialect.name
    params: dict[str, object] = {"limit": limit}
    where = ""
    if names is not None:
        where = " AND name IN :names"
        params["names"] = list(names)
    if dialect == "sqlite":
        params["q"] = " ".join('"' + w.replace('"', "") + '"*' for w in words)
        params["start"], params["stop"] = _START, _STOP
        sql = ("SELECT name, -bm25(library_search, 10.0, 4.0, 4.0, 1.0) AS score, "
               "snippet(library_search, -1, :start, :stop, '…', 16) AS snip "
               "FROM library_search WHERE library_search MATCH :q" + where +
               " ORDER BY score DESC, name LIMIT :limit")
    else:  # PostgreSQL (the only other store)
        params["q"] = " & ".join(f"{w}:*" for w in words)
        params["opts"] = (f"StartSel={_START}, StopSel={_STOP}, MaxWords=24, MinWords=8, "
                          "ShortWord=2")
        sql = ("SELECT name, ts_rank_cd(document, q) AS score, "
               "ts_headline('english', coalesce(description, '') || ' ' || coalesce(body, ''), "
               "q, :opts) AS snip "
               "FROM library_search, to_tsquery('english', :q) AS q "
               "WHERE document @@ q" + where + " ORDER BY score DESC, name LIMIT :limit")
    statement = text(sql)
    if names is not None:
        statement = statement.bindparams(bindparam("names", expanding=True))
    with store.engine.connect() as conn:
        rows = conn.execute(statement, params).all()
    return [TextHit(str(r[0]), float(r[1] or 0.0), _segments(str(r[2] or ""))) for r in rows]


def documents(store: Store, names: Sequence[str] | None = None) -> dict[str, str]:
    """Each prompt's searchable text in one string (name, tags, description, text)."""
    table = schema.library_search
    query = select(table.c.name, table.c.tags, table.c.description, table.c.body)
    if names is not None:
        query = query.where(table.c.name.in_(list(names)))
    with store.engine.connect() as conn:
        return {str(r[0]): "\n".join(str(x or "") for x in r) for r in conn.execute(query)}
