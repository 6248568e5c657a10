"""Searching the prompt library: by content (full text, or embedding similarity) and by measured
performance.

:func:`search` is the one search behind ``promptwork prompts search``, the workbench's
``GET /api/prompts/search`` and the Python API (``promptwork.library.search``, also reachable as
``promptwork.prompts.search``). Filters narrow the prompts first (``tag``, ``label``,
``model_tested``, and ``suite``/``model``/``min_score`` over stored runs: the best pass rate of
any version on a matching suite x model must reach ``min_score``); the query then ranks them
(BM25 on SQLite, ``ts_rank_cd`` on PostgreSQL; or cosine similarity of an offline embedding
with ``semantic``). Without a query every filtered prompt is listed by name.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from promptwork.checks.similarity import EmbeddingModel, EmbeddingUnavailable
from promptwork.library.measures import Measure, measures_by_name, suite_matches
from promptwork.store import Store
from promptwork.store.library import LibraryEntry, library_entries, version_hashes
from promptwork.store.library_search import documents, query_words, text_search

__all__ = ["SEMANTIC_FALLBACK", "SearchResults", "SearchRow", "search"]

#: Said when ``semantic`` cannot be honoured.
SEMANTIC_FALLBACK = ("semantic search needs the [embeddings] extra "
                     "(pip install 'promptwork[embeddings]'): falling back to lexical ranking")


@dataclass(frozen=True, slots=True)
class SearchRow:
    """One prompt found.

    Attributes:
        name: The prompt.
        score: Relevance of the query (higher is better; 0 without a query).
        snippet: The matching passage as ``(text, matched)`` segments.
        description: Its description.
        tags: Its tags.
        labels: Label -> version hash.
        version: Its newest version's hash.
        path: Its file.
        measured: The best pass rate on the matching suite x model (with performance filters),
            else its best pass rate anywhere (None: never measured).
        measured_on: ``suite x model`` of ``measured``.
    """

    name: str
    score: float
    snippet: tuple[tuple[str, bool], ...]
    description: str | None
    tags: tuple[str, ...]
    labels: dict[str, str]
    version: str
    path: str | None
    measured: float | None = None
    measured_on: str = ""

    @property
    def snippet_text(self) -> str:
        return "".join(f"[{t}]" if hit else t for t, hit in self.snippet)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready (for the workbench's and the server's search endpoints)."""
        return {"name": self.name, "score": round(self.score, 6), "snippet": self.snippet_text,
                "description": self.description, "tags": list(self.tags),
                "labels": dict(self.labels), "version": self.version, "path": self.path,
                "measured": self.measured, "measured_on": self.measured_on or None}


class SearchResults(list[SearchRow]):
    """The rows found, best first; ``ranking`` says how (``lexical``, ``semantic`` or ``name``)
    and ``note`` any fallback to say (empty: none)."""

    def __init__(self, rows: Iterable[SearchRow] = (), ranking: str = "name", note: str = ""):
        super().__init__(rows)
        self.ranking = ranking
        self.note = note


@dataclass
class _Filters:
    suite: str | None = None
    model: str | None = None
    min_score: float | None = None
    model_tested: str | None = None
    label: str | None = None
    tag: str | None = None
    measures: dict[str, list[Measure]] = field(default_factory=dict)

    @property
    def performance(self) -> bool:
        return bool(self.suite or self.model or self.min_score is not None
                    or self.model_tested)

    def keeps(self, entry: LibraryEntry) -> bool:
        if self.tag and self.tag.lower() not in (t.lower() for t in entry.tags):
            return False
        if self.label and self.label not in entry.labels:
            return False
        found = self.measures.get(entry.name, [])
        if self.model_tested and not any(_model_is(m, self.model_tested) for m in found):
            return False
        if self.suite or self.model or self.min_score is not None:
            rates = [m.best.rate for m in self._matching(found)]
            if not rates or (self.min_score is not None and max(rates) < self.min_score):
                return False
        return True

    def _matching(self, found: Sequence[Measure]) -> list[Measure]:
        return [m for m in found if suite_matches(m.suite, self.suite or "")
                and (not self.model or _model_is(m, self.model))]

    def best(self, name: str) -> tuple[float | None, str]:
        found = self._matching(self.measures.get(name, []))
        if not found:
            return None, ""
        top = max(found, key=lambda m: m.best.rate)
        return top.best.rate, f"{top.suite} x {top.model}"


def _model_is(measure: Measure, model: str) -> bool:
    return model in (measure.model, measure.provider_id)


def search(query: str = "", *, store: Store | None = None, db: str | None = None,
           folder: str = ".", semantic: bool = False, suite: str | None = None,
           model: str | None = None, min_score: float | None = None,
           model_tested: str | None = None, label: str | None = None, tag: str | None = None,
           limit: int = 20) -> SearchResults:
    """Search the prompt library.

    Args:
        query: Free text over names, tags, descriptions and prompt text ("" lists all).
        store: An open store; else the one given by ``db``, else ``folder``'s.
        db: Store URL (when no ``store`` is given).
        folder: Folder whose ``.promptwork/`` store to use (when neither is given).
        semantic: Rank by embedding similarity (the ``[embeddings]`` extra); without it the
            results say :data:`SEMANTIC_FALLBACK` and are ranked lexically.
        suite: Only prompts measured on this suite (its path, file name or folder name).
        model: Only prompts measured with this model (label or provider id).
        min_score: Only prompts whose best pass rate on the matching suite x model reaches it.
        model_tested: Only prompts evaluated with this model at all.
        label: Only prompts with this label.
        tag: Only prompts with this tag.
        limit: Most rows.

    Returns:
        The rows, best first, each with its score (and measured pass rate).
    """
    own = store is None
    store = store or Store.for_folder(folder, db)
    try:
        return _search(store, query, semantic, _Filters(
            suite, model, min_score, model_tested, label, tag), limit)
    finally:
        if own:
            store.close()


def _search(store: Store, query: str, semantic: bool, filters: _Filters,
            limit: int) -> SearchResults:
    lexical = bool(query_words(query)) and not semantic
    if lexical and not (filters.performance or filters.tag or filters.label):
        # The common case, kept fast on a large library: rank first, then read only the hits.
        hits = text_search(store, query, limit)
        entries = {e.name: e for e in library_entries(store, [h.name for h in hits])}
        filters.measures = measures_by_name(store, version_hashes(store, list(entries)))
        return SearchResults([_row(entries[h.name], h.score, h.snippet, filters)
                              for h in hits if h.name in entries], "lexical")
    entries = {e.name: e for e in library_entries(store)}
    if filters.performance:
        filters.measures = measures_by_name(store, version_hashes(store, list(entries)))
    kept = {n: e for n, e in entries.items() if filters.keeps(e)}
    results = _ranked(store, query, semantic, kept, limit)
    if not filters.performance:  # the measured pass rates of the rows shown only
        filters.measures = measures_by_name(store, version_hashes(
            store, [name for name, _, _ in results]))
    return SearchResults([_row(kept[n], score, snippet, filters) for n, score, snippet in results],
                         results.ranking, results.note)


class _Ranked(list[tuple[str, float, tuple[tuple[str, bool], ...]]]):
    def __init__(self, rows: Iterable[tuple[str, float, tuple[tuple[str, bool], ...]]],
                 ranking: str, note: str = ""):
        super().__init__(rows)
        self.ranking = ranking
        self.note = note


def _ranked(store: Store, query: str, semantic: bool, kept: dict[str, LibraryEntry],
            limit: int) -> _Ranked:
    """The kept prompts ranked by the query: ``(name, score, snippet)``, best first."""
    if not query_words(query):
        return _Ranked([(n, 0.0, ()) for n in sorted(kept)][:limit], "name")
    note = ""
    if semantic:
        try:
            model = EmbeddingModel.shared()
        except EmbeddingUnavailable:
            note = SEMANTIC_FALLBACK
        else:
            docs = documents(store, list(kept))
            names = sorted(docs)
            scores = model.similarities(query, [docs[n] for n in names]) if names else []
            ranked = sorted(zip(names, scores, strict=True), key=lambda p: (-p[1], p[0]))
            return _Ranked([(n, s, ((_first_line(kept[n], docs[n]), False),))
                            for n, s in ranked[:limit]], "semantic")
    hits = text_search(store, query, max(limit, len(kept)), list(kept))
    return _Ranked([(h.name, h.score, h.snippet) for h in hits if h.name in kept][:limit],
                   "lexical", note)


def _row(e: LibraryEntry, score: float, snippet: tuple[tuple[str, bool], ...],
         filters: _Filters) -> SearchRow:
    measured, on = filters.best(e.name)
    return SearchRow(e.name, score, snippet, e.description, e.tags, e.labels, e.latest_hash,
                     e.path, measured, on)


def _first_line(entry: LibraryEntry, doc: str) -> str:
    if entry.description:
        return entry.description
    body = doc.split("\n", 3)[-1]
    return next((line.strip() for line in body.splitlines() if line.strip()), "")[:160]
