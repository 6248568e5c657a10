"""View models of the prompt library: the prompts and their versions, and one prompt's page.

* :func:`prompts_page`: every prompt with its versions (:func:`promptwork.store.versions.
  prompt_groups`), searchable.
* :func:`prompt_page`: one prompt: its versions, a diff between two of them (word or line),
  the runs that used each version with their pass rates, and a pass-rate-over-time chart per
  model (geometry from :mod:`promptwork.views.charts`, drawn by ``partials/chart.html``).

The prompt library (issue 20) lists the same versions and the same per-run scores; these pages
show its labels (:func:`library_of`), its search with filters (:func:`library_panel`, the same
:func:`promptwork.library.search.search` as the CLI and the JSON endpoint) and a prompt's card.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from promptwork.errors import ConfigError
from promptwork.library.search import SearchResults, search
from promptwork.store import Store
from promptwork.store.library import LibraryEntry, library_entries
from promptwork.store.versions import (
    PromptGroup,
    PromptVersion,
    VersionText,
    VersionUse,
    prompt_groups,
    prompt_version,
    version_uses,
)
from promptwork.views.charts import Chart, line_chart
from promptwork.views.textdiff import TextDiff, line_diff, word_diff

__all__ = ["LibraryPanel", "LibraryQuery", "PromptPage", "PromptsPage", "VersionDiff",
           "diff_versions", "library_of", "library_panel", "prompt_page", "prompts_page"]

DiffUnit = Literal["word", "line"]


@dataclass(frozen=True, slots=True)
class LibraryQuery:
    """A library search as the page's URL holds it (see :func:`promptwork.library.search.
    search` for each filter)."""

    text: str = ""
    suite: str = ""
    model: str = ""
    min_score: float | None = None
    label: str = ""
    tag: str = ""
    tested: str = ""
    semantic: bool = False

    @property
    def active(self) -> bool:
        return any((self.text, self.suite, self.model, self.min_score is not None, self.label,
                    self.tag, self.tested))

    def params(self) -> dict[str, str]:
        """The query parameters of this search (for links and the JSON endpoint)."""
        out = {"find": self.text, "suite": self.suite, "model": self.model,
               "min_score": "" if self.min_score is None else f"{self.min_score:g}",
               "label": self.label, "tag": self.tag, "tested": self.tested,
               "semantic": "1" if self.semantic else ""}
        return {k: v for k, v in out.items() if v}

    def run(self, store: Store, limit: int = 50) -> SearchResults:
        return search(self.text, store=store, semantic=self.semantic, suite=self.suite or None,
                      model=self.model or None, min_score=self.min_score,
                      model_tested=self.tested or None, label=self.label or None,
                      tag=self.tag or None, limit=limit)


@dataclass(frozen=True, slots=True)
class LibraryPanel:
    """The library part of the prompt list: its search, results and each prompt's labels."""

    query: LibraryQuery
    results: SearchResults | None
    entries: dict[str, LibraryEntry]

    def entry_of(self, group: PromptGroup) -> LibraryEntry | None:
        return _entry_of(self.entries, group)


@dataclass(frozen=True, slots=True)
class PromptsPage:
    """The prompt list."""

    groups: tuple[PromptGroup, ...]
    search: str
    candidates: bool
    library: LibraryPanel | None = None


@dataclass(frozen=True, slots=True)
class VersionDiff:
    """A diff from version A to version B of a prompt."""

    a: VersionText
    b: VersionText
    diff: TextDiff


@dataclass(frozen=True, slots=True)
class PromptPage:
    """One prompt.

    Attributes:
        group: The prompt and its versions, newest first.
        numbers: Each version's number (1 = oldest), by hash.
        diff: The diff between the two selected versions (None with one version).
        uses: The runs that used its versions (evaluations; optimizations with
            ``candidates``), oldest first.
        chart: Pass rate per model over those runs.
    """

    group: PromptGroup
    numbers: dict[str, int]
    diff: VersionDiff | None
    uses: tuple[VersionUse, ...]
    chart: Chart
    entry: LibraryEntry | None = None

    def uses_of(self, version: PromptVersion) -> list[VersionUse]:
        return [u for u in self.uses if u.prompt_hash == version.hash]


def prompts_page(store: Store, search: str = "", candidates: bool = False,
                 library: LibraryQuery | None = None) -> PromptsPage:
    """The prompts, newest change first; ``search`` filters by name, path or label;
    ``library`` searches the library (content, labels, tags, measured performance)."""
    return PromptsPage(tuple(prompt_groups(store, search or None, candidates)), search,
                       candidates, library_panel(store, library or LibraryQuery()))


def library_panel(store: Store, query: LibraryQuery) -> LibraryPanel:
    """The library's prompts (for their labels) and, for an active query, its results."""
    entries = {e.name: e for e in library_entries(store)}
    return LibraryPanel(query, query.run(store) if query.active else None, entries)


def _entry_of(entries: dict[str, LibraryEntry], group: PromptGroup) -> LibraryEntry | None:
    found = entries.get(group.key)
    if found is None:
        paths = set(group.paths)
        found = next((e for e in entries.values() if e.path and (
            e.path in paths or any(p.endswith("/" + e.path) for p in paths))), None)
    return found


def library_of(store: Store, group: PromptGroup) -> LibraryEntry | None:
    """The library prompt a stored prompt group is (by name, else by file path), if any."""
    return _entry_of({e.name: e for e in library_entries(store)}, group)


def diff_versions(store: Store, a: str, b: str, unit: DiffUnit = "word") -> VersionDiff:
    """The diff of version ``a`` to version ``b`` (hashes or unique prefixes).

    Raises:
        ConfigError: An unknown version or diff unit.
    """
    if unit not in ("word", "line"):
        raise ConfigError(f"unknown diff unit {unit!r}; use word or line")
    va, vb = prompt_version(store, a), prompt_version(store, b)
    return VersionDiff(va, vb, (word_diff if unit == "word" else line_diff)(va.text, vb.text))


def _find(store: Store, key: str, candidates: bool) -> PromptGroup:
    groups = prompt_groups(store, candidates=candidates)
    for group in groups:
        if group.key == key:
            return group
    found = [g for g in groups if key in g.paths]
    if not found:  # a library prompt's path, relative to its folder
        found = [g for g in groups if any(p.endswith("/" + key) for p in g.paths)]
    if len(found) == 1:
        return found[0]
    raise ConfigError(f"no prompt {key!r} in {store.display_url}")


def _pick(group: PromptGroup, ref: str | None, default: PromptVersion) -> PromptVersion:
    if not ref:
        return default
    found = [v for v in group.versions if v.hash.startswith(ref.lower())]
    if len(found) != 1:
        raise ConfigError(f"prompt {group.key!r} has no version {ref!r}"
                          if not found else f"version prefix {ref!r} is ambiguous")
    return found[0]


def prompt_page(store: Store, key: str, a: str | None = None, b: str | None = None,
                unit: DiffUnit = "line", candidates: bool = False) -> PromptPage:
    """One prompt's page.

    Args:
        store: The store.
        key: The prompt's identity (or one of its paths).
        a: Version A of the diff (hash prefix); default: the version before B.
        b: Version B of the diff; default: the newest version.
        unit: ``word`` or ``line`` diff.
        candidates: Include optimization candidates and the optimizations' runs.

    Raises:
        ConfigError: An unknown prompt or version.
    """
    group = _find(store, key, candidates)
    versions = group.versions
    numbers = {v.hash: len(versions) - i for i, v in enumerate(versions)}
    diff = None
    if len(versions) > 1:
        vb = _pick(group, b, versions[0])
        older = [v for v in versions if v.created_at <= vb.created_at and v.hash != vb.hash]
        va = _pick(group, a, older[0] if older else versions[-1])
        diff = diff_versions(store, va.hash, vb.hash, unit)
    uses = tuple(u for u in version_uses(store, [v.hash for v in versions])
                 if candidates or u.kind != "optimize")
    return PromptPage(group, numbers, diff, uses, _chart(uses, numbers),
                      library_of(store, group))


def _chart(uses: tuple[VersionUse, ...], numbers: dict[str, int]) -> Chart:
    """Pass rate per model, one x position per run (oldest first)."""
    runs: list[str] = []
    when: dict[str, str] = {}
    for u in uses:
        if u.run_id not in when:
            runs.append(u.run_id)
            when[u.run_id] = u.run_created_at.strftime("%m-%d %H:%M")
    position = {run: i for i, run in enumerate(runs)}
    series: dict[str, list[tuple[int, float, str]]] = {}
    for u in uses:
        if u.pass_rate is None:
            continue
        tip = (f"{u.model}, version {numbers.get(u.prompt_hash, '?')}, run {u.run_id}: "
               f"{u.passed}/{u.graded} passed ({100 * u.pass_rate:.1f}%)")
        series.setdefault(u.model, []).append((position[u.run_id], u.pass_rate, tip))
    return line_chart("Pass rate by run and model", [when[r] for r in runs],
                      sorted(series.items()))
