"""Prompt versions in the store: grouped by prompt, their texts, and the runs that used them.

Prompt versions are content-addressed (``prompts.hash`` is the sha256 of the file's text), so a
prompt's history is every version stored under its identity. The identity is the prompt's label
as runs record it: its front matter ``name``, else its path, else the suite's label for it.
Optimization candidates are versions too; they belong to the prompt that was optimized (the
``optimize.prompt`` of their run's settings) and are flagged ``candidate`` so that a library
can leave them out; the best prompt an optimization stores (``LABEL (optimized)``) belongs to
its prompt as well.

* :func:`prompt_groups`: every prompt with its versions, newest first; reads the ``prompts``
  table (without the texts) and the runs' settings, never a result row.
* :func:`prompt_version`: one version with its text, by hash or unique prefix.
* :func:`version_uses`: which runs used some versions, with pass counts and mean score per run
  x model, aggregated in the database (for tables and a score-over-time chart).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import PurePath
from typing import Any

from sqlalchemy import and_, case, func, select

from promptwork.errors import ConfigError
from promptwork.store import schema
from promptwork.store.store import Store

__all__ = [
    "OPTIMIZED_SUFFIX",
    "PromptGroup",
    "PromptVersion",
    "VersionText",
    "VersionUse",
    "prompt_groups",
    "prompt_version",
    "version_uses",
]

#: The label suffix of the best prompt an optimization stores.
OPTIMIZED_SUFFIX = " (optimized)"


@dataclass(frozen=True, slots=True)
class PromptVersion:
    """One stored version of a prompt.

    Attributes:
        hash: sha256 of its text.
        label: The label it was first stored under.
        created_at: When it was first stored.
        chars: Length of its text.
        runs: Runs that used it (optimizations included).
        last_used: When the newest of those runs started.
        candidate: Only ever an optimization's candidate (never in an evaluation).
        optimized: The best prompt an optimization stored.
    """

    hash: str
    label: str
    created_at: datetime
    chars: int
    runs: int
    last_used: datetime | None
    candidate: bool
    optimized: bool

    @property
    def short(self) -> str:
        return self.hash[:12]


@dataclass(frozen=True, slots=True)
class PromptGroup:
    """A prompt and its versions, newest first.

    Attributes:
        key: The prompt's identity (name, else path, else label).
        paths: File paths its versions were read from.
        versions: Its versions, newest first.
    """

    key: str
    paths: tuple[str, ...]
    versions: tuple[PromptVersion, ...]

    @property
    def latest(self) -> PromptVersion:
        return self.versions[0]

    @property
    def last_used(self) -> datetime | None:
        """When the newest run that used one of its versions started (None: never used)."""
        return max((v.last_used for v in self.versions if v.last_used), default=None)


@dataclass(frozen=True, slots=True)
class VersionText:
    """A version with its text."""

    hash: str
    label: str
    text: str
    created_at: datetime


@dataclass(frozen=True, slots=True)
class VersionUse:
    """The cells of one prompt version in one run, for one model.

    Attributes:
        run_id: The run.
        run_created_at: When the run started.
        run_status: The run's stored status.
        description: The run's description.
        kind: ``eval`` or ``optimize``.
        prompt_hash: The version.
        prompt_label: The prompt's label in that run.
        model: The model's label in that run.
        provider_id: The model's provider id.
        cells: Cells stored.
        passed: Cells that passed.
        failed: Cells that failed.
        errors: Cells with an error (no verdict).
        mean_score: Mean score of the graded cells (None when none was graded).
    """

    run_id: str
    run_created_at: datetime
    run_status: str
    description: str | None
    kind: str
    prompt_hash: str
    prompt_label: str
    model: str
    provider_id: str
    cells: int
    passed: int
    failed: int
    errors: int
    mean_score: float | None

    @property
    def graded(self) -> int:
        return self.passed + self.failed

    @property
    def pass_rate(self) -> float | None:
        """Passed over graded cells; None when nothing was graded."""
        return self.passed / self.graded if self.graded else None


@dataclass
class _Seen:
    runs: set[str] = field(default_factory=set)
    last: datetime | None = None
    in_eval: bool = False
    keys: list[str] = field(default_factory=list)
    paths: set[str] = field(default_factory=set)


def _run_prompts(rows: Iterable[Mapping[Any, Any]]) -> tuple[dict[str, _Seen], dict[str, str]]:
    """From runs' settings: what each version was used in, and aliases of prompt identities
    (a path, and the path relative to its suite's folder, name the prompt's key)."""
    seen: dict[str, _Seen] = {}
    alias: dict[str, str] = {}
    optimize: list[tuple[Mapping[str, Any], str, datetime]] = []
    for row in rows:
        settings = row["settings"] or {}
        if settings.get("kind") == "optimize":
            optimize.append((settings, row["id"], row["created_at"]))
            continue
        folder = PurePath(row["suite_path"]).parent if row["suite_path"] else None
        for p in settings.get("prompts", []):
            h, label, path = p.get("hash"), str(p.get("label")), p.get("path")
            if not h:
                continue
            s = seen.setdefault(h, _Seen())
            _use(s, row["id"], row["created_at"], label)
            s.in_eval = True
            alias.setdefault(label, label)
            if path:
                s.paths.add(str(path))
                alias.setdefault(str(path), label)
                if folder is not None and PurePath(path).is_relative_to(folder):
                    alias.setdefault(str(PurePath(path).relative_to(folder)), label)
    for settings, run_id, created in optimize:
        target = str((settings.get("optimize") or {}).get("prompt") or "")
        for p in settings.get("prompts", []):
            h = p.get("hash")
            if h:
                _use(seen.setdefault(h, _Seen()), run_id, created,
                     _resolve(alias, target) or str(p.get("label")))
    return seen, alias


def _resolve(alias: Mapping[str, str], name: str) -> str:
    """The key ``name`` stands for: an alias, else the key of the one path ending with
    ``/name`` (a path relative to a suite folder), else ``name`` itself."""
    if not name or name in alias:
        return alias.get(name, name)
    tail = "/" + name.lstrip("./")
    found = {key for path, key in alias.items() if path.endswith(tail)}
    return found.pop() if len(found) == 1 else name


def _use(s: _Seen, run_id: str, created: datetime, key: str) -> None:
    s.runs.add(run_id)
    if s.last is None or created > s.last:
        s.last = created
        s.keys.insert(0, key)  # the newest run's name for it first
    else:
        s.keys.append(key)


def prompt_groups(store: Store, search: str | None = None,
                  candidates: bool = False) -> list[PromptGroup]:
    """Every prompt with its stored versions, the prompt with the newest version first.

    Args:
        store: The store.
        search: Keep prompts whose identity, a path or a version's label contains this text
            (case-insensitive).
        candidates: Include versions that were only ever optimization candidates.
    """
    p, r = schema.prompts, schema.runs
    with store.engine.connect() as conn:
        versions = conn.execute(select(p.c.hash, p.c.label, p.c.created_at,
                                       func.length(p.c.text).label("chars"))).mappings().all()
        runs = conn.execute(select(r.c.id, r.c.created_at, r.c.suite_path, r.c.settings)
                            ).mappings().all()
    seen, alias = _run_prompts(runs)
    groups: dict[str, list[PromptVersion]] = {}
    paths: dict[str, set[str]] = {}
    for row in versions:
        s = seen.get(row["hash"], _Seen())
        label = str(row["label"])
        optimized = label.endswith(OPTIMIZED_SUFFIX)
        if s.keys:
            key = s.keys[0]
        elif optimized:
            key = _resolve(alias, label[: -len(OPTIMIZED_SUFFIX)])
        else:
            key = _resolve(alias, label)
        version = PromptVersion(
            hash=row["hash"], label=label, created_at=row["created_at"],
            chars=int(row["chars"] or 0), runs=len(s.runs), last_used=s.last,
            candidate=bool(s.runs) and not s.in_eval, optimized=optimized)
        if version.candidate and not candidates:
            continue
        groups.setdefault(key, []).append(version)
        paths.setdefault(key, set()).update(s.paths)
    out = []
    for key, found in groups.items():
        ordered = tuple(sorted(found, key=lambda v: (v.created_at, v.hash), reverse=True))
        group = PromptGroup(key, tuple(sorted(paths[key])), ordered)
        if search and not _matches(group, search.lower()):
            continue
        out.append(group)
    out.sort(key=lambda g: (g.latest.created_at, g.key), reverse=True)
    return out


def _matches(group: PromptGroup, needle: str) -> bool:
    haystack = [group.key, *group.paths, *(v.label for v in group.versions)]
    return any(needle in h.lower() for h in haystack)


def prompt_version(store: Store, ref: str) -> VersionText:
    """A stored version by hash or unique hash prefix (at least 4 characters).

    Raises:
        ConfigError: No such version, an ambiguous or too short prefix.
    """
    ref = ref.strip().lower()
    if len(ref) < 4 or any(c not in "0123456789abcdef" for c in ref):
        raise ConfigError(f"{ref!r} is not a prompt version: give its hash or the first "
                          "characters of it (at least 4 hexadecimal digits)")
    p = schema.prompts
    with store.engine.connect() as conn:
        rows = conn.execute(select(p).where(p.c.hash.like(f"{ref}%")).limit(2)).mappings().all()
    if not rows:
        raise ConfigError(f"no prompt version {ref!r} in {store.display_url}")
    if len(rows) > 1:
        raise ConfigError(f"prompt version prefix {ref!r} is ambiguous; give more characters")
    row = rows[0]
    return VersionText(row["hash"], row["label"], row["text"], row["created_at"])


def version_uses(store: Store, hashes: Sequence[str]) -> list[VersionUse]:
    """The runs that used these versions, one row per run x prompt x model, oldest run first.

    Counted in the database (one grouped query over the versions' result rows).
    """
    if not hashes:
        return []
    res, r = schema.results, schema.runs
    ok = res.c.error.is_(None)
    counts = (
        select(
            res.c.run_id, res.c.prompt_idx, res.c.provider_idx, res.c.prompt_hash,
            func.min(res.c.provider_id).label("provider_id"),
            func.count().label("cells"),
            func.sum(case((and_(ok, res.c.success.is_(True)), 1), else_=0)).label("passed"),
            func.sum(case((and_(ok, res.c.success.is_(False)), 1), else_=0)).label("failed"),
            func.sum(case((ok, 0), else_=1)).label("errors"),
            func.avg(case((ok, res.c.score), else_=None)).label("mean_score"),
        )
        .where(res.c.prompt_hash.in_(list(dict.fromkeys(hashes))))
        .group_by(res.c.run_id, res.c.prompt_idx, res.c.provider_idx, res.c.prompt_hash)
        .subquery()
    )
    query = (select(counts, r.c.created_at, r.c.status, r.c.description, r.c.settings)
             .join(r, r.c.id == counts.c.run_id)
             .order_by(r.c.created_at, r.c.id, counts.c.prompt_idx, counts.c.provider_idx))
    with store.engine.connect() as conn:
        rows = conn.execute(query).mappings().all()
    out = []
    for row in rows:
        settings = row["settings"] or {}
        prompts, providers = settings.get("prompts", []), settings.get("providers", [])
        pi, mi = int(row["prompt_idx"]), int(row["provider_idx"])
        out.append(VersionUse(
            run_id=row["run_id"], run_created_at=row["created_at"], run_status=row["status"],
            description=row["description"], kind=str(settings.get("kind") or "eval"),
            prompt_hash=row["prompt_hash"],
            prompt_label=str(prompts[pi].get("label")) if pi < len(prompts) else f"#{pi}",
            model=str(providers[mi].get("label")) if mi < len(providers) else f"#{mi}",
            provider_id=str(row["provider_id"]), cells=int(row["cells"]),
            passed=int(row["passed"] or 0), failed=int(row["failed"] or 0),
            errors=int(row["errors"] or 0),
            mean_score=None if row["mean_score"] is None else float(row["mean_score"]),
        ))
    return out
