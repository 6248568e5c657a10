"""How well a library prompt did: for each suite x model, the last and the best measured pass rate
with its 95% Wilson interval and the run it came from.

Counts come from :func:`promptwork.store.versions.version_uses` (evaluations only: an
optimization's candidates are not the prompt as written).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import PurePath

from promptwork.stats import wilson_interval
from promptwork.store import Store
from promptwork.store.library_results import run_suites
from promptwork.store.versions import VersionUse, version_uses

__all__ = ["Measure", "Rate", "measures", "measures_by_name", "suite_matches"]


@dataclass(frozen=True, slots=True)
class Rate:
    """One run's pass rate of a version with one model."""

    passed: int
    graded: int
    low: float
    high: float
    run_id: str
    when: datetime
    version: str

    @property
    def rate(self) -> float:
        return self.passed / self.graded if self.graded else 0.0


@dataclass(frozen=True, slots=True)
class Measure:
    """A suite x model: its last and its best measured pass rate."""

    suite: str
    model: str
    provider_id: str
    last: Rate
    best: Rate
    runs: int


def _rate(use: VersionUse) -> Rate:
    low, high = wilson_interval(use.passed, use.graded)
    return Rate(use.passed, use.graded, low, high, use.run_id, use.run_created_at,
                use.prompt_hash)


def suite_matches(suite_path: str, wanted: str) -> bool:
    """Whether a run's suite path is the suite ``wanted`` names (the path, its end, its folder's
    name or its file name)."""
    if not wanted:
        return True
    path = PurePath(suite_path)
    wanted = wanted.strip().rstrip("/")
    return (suite_path == wanted or suite_path.endswith("/" + wanted.lstrip("./"))
            or path.parent.name == wanted or path.name == wanted or path.stem == wanted)


def measures(store: Store, hashes: Sequence[str]) -> list[Measure]:
    """The measured pass rates of these versions, per suite x model, sorted by suite and model."""
    return measures_by_name(store, {"": list(hashes)}).get("", [])


def measures_by_name(store: Store, versions: Mapping[str, Sequence[str]],
                     ) -> dict[str, list[Measure]]:
    """:func:`measures` of several prompts (name -> its versions' hashes) in one query."""
    owner = {h: name for name, hashes in versions.items() for h in hashes}
    uses = [u for u in version_uses(store, list(owner)) if u.kind != "optimize" and u.graded]
    suites = run_suites(store, [u.run_id for u in uses])
    grouped: dict[str, dict[tuple[str, str], list[VersionUse]]] = {}
    for use in uses:
        key = (suites.get(use.run_id) or "", use.model)
        grouped.setdefault(owner[use.prompt_hash], {}).setdefault(key, []).append(use)
    return {name: _measures(found) for name, found in grouped.items()}


def _measures(grouped: dict[tuple[str, str], list[VersionUse]]) -> list[Measure]:
    out = []
    for (suite, model), found in sorted(grouped.items()):
        rates = [_rate(u) for u in found]  # oldest run first
        best = max(rates, key=lambda r: (r.rate, r.low, r.when))
        out.append(Measure(suite, model, found[-1].provider_id, rates[-1], best,
                           len({u.run_id for u in found})))
    return out
