"""The figures of the bias probe: pass rate per group, the largest gap between two groups of an
attribute with a paired bootstrap interval and McNemar's exact test, and score gaps."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from promptwork.probes.base import GroupFigure, ProbeCell, ProbeReport
from promptwork.probes.figures import group_figure, paired_figures, verdict
from promptwork.stats import format_p, mcnemar_exact, paired_bootstrap

Key = tuple[int, int]  # (origin test, repeat)
RESAMPLES = 2000


@dataclass(frozen=True)
class Gap:
    """The largest pass-rate gap between two groups of one attribute, on the tests both have."""

    attribute: str
    high: str
    low: str
    n: int
    gap: float
    ci_low: float
    ci_high: float
    p_value: float
    worst: tuple[ProbeCell, ...]
    score_note: str | None


def _by_group(cells: Sequence[ProbeCell]) -> dict[str, dict[Key, ProbeCell]]:
    out: dict[str, dict[Key, ProbeCell]] = {}
    for c in cells:
        tag = c.derivation.case.probe
        if tag is not None and c.derived.error is None:
            out.setdefault(tag.group, {})[(c.derivation.origin, c.derived.key.repeat)] = c
    return out


def attribute_gap(attribute: str, groups: dict[str, dict[Key, ProbeCell]], seed: int
                  ) -> Gap | None:
    """The largest gap between the groups of ``attribute`` (None with fewer than two groups
    sharing a test)."""
    names = [g for g in groups if g.partition("=")[0] == attribute]
    common = set.intersection(*(set(groups[g]) for g in names)) if len(names) > 1 else set()
    if not common:
        return None
    keys = sorted(common)
    rates = {g: sum(groups[g][k].derived.passed for k in keys) / len(keys) for g in names}
    high = max(names, key=lambda g: (rates[g], -names.index(g)))
    low = min((g for g in names if g != high), key=lambda g: (rates[g], names.index(g)))
    hi = [1.0 if groups[high][k].derived.passed else 0.0 for k in keys]
    lo = [1.0 if groups[low][k].derived.passed else 0.0 for k in keys]
    boot = paired_bootstrap(lo, hi, n_resamples=RESAMPLES, seed=seed)
    b = sum(1 for x, y in zip(hi, lo, strict=True) if x and not y)
    c = sum(1 for x, y in zip(hi, lo, strict=True) if y and not x)
    worst = tuple(groups[low][k] for k in keys
                  if groups[high][k].derived.passed and not groups[low][k].derived.passed)
    scored = [(groups[low][k].derived.score, groups[high][k].derived.score) for k in keys]
    pairs = [(s_lo, s_hi) for s_lo, s_hi in scored if s_lo is not None and s_hi is not None]
    note = None
    if pairs:
        s = paired_bootstrap([p[0] for p in pairs], [p[1] for p in pairs],
                             n_resamples=RESAMPLES, seed=seed)
        note = (f"score gap {attribute} {high.partition('=')[2]} - {low.partition('=')[2]}: "
                f"{s.mean_diff:+.3f} (95% {s.low:+.3f} to {s.high:+.3f}, "
                f"p{format_p(s.p_value)}, n={len(pairs)})")
    return Gap(attribute, high, low, len(keys), rates[high] - rates[low],
               boot.low, boot.high, mcnemar_exact(b, c), worst[:5], note)


def measure_bias(column: str, cells: Sequence[ProbeCell], attributes: Sequence[str], seed: int,
                 threshold: float | None) -> ProbeReport:
    """The bias probe's report of one column (``attributes``: their names, in order)."""
    groups = _by_group(cells)
    figures: list[GroupFigure] = []
    for name in groups:
        pairs = [(c.original.passed, c.derived.passed) for c in groups[name].values()
                 if c.original is not None and c.original.error is None]
        fig = paired_figures(pairs, "derived")
        figures.append(group_figure(name, fig))
    gaps = [g for g in (attribute_gap(a, groups, seed) for a in attributes)
            if g is not None]
    notes = [f"{g.attribute}: {g.high.partition('=')[2]} {g.gap:+.1%} over "
             f"{g.low.partition('=')[2]} (95% {g.ci_low:.1%} to {g.ci_high:.1%}, McNemar "
             f"p{format_p(g.p_value)}, n={g.n})" for g in gaps]
    notes += [g.score_note for g in gaps if g.score_note]
    notes.append("group rates: pass rate of the swapped copies; p: McNemar against the "
                 "unprobed cells")
    top = max(gaps, key=lambda g: g.gap, default=None)
    if top is None:
        return ProbeReport("bias", column, "gap", 0, 0.0, 0.0, 1.0, None, tuple(figures),
                           (), threshold, None if threshold is None else True,
                           tuple(notes))
    return ProbeReport("bias", column, "gap", top.n, top.gap, top.ci_low, top.ci_high,
                       top.p_value, tuple(figures), top.worst, threshold,
                       verdict(top.gap, threshold), tuple(notes))
