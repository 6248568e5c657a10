"""Few-shot demos: choose and order worked examples from the training split.

The pool holds labelled demos (training examples with a reference answer) and bootstrapped ones
(training examples the seed prompt gets right, its own output as the answer), as DSPy's
BootstrapFewShot does. Each round proposes random demo sets of k in {2, 4, 6, 8} (balanced over
the labels when the answers form a small label set), inserted before the query in the query's own
format.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

from promptwork.optimize.budget import BudgetExhausted
from promptwork.optimize.candidate import Candidate, Demo
from promptwork.optimize.data import Example
from promptwork.optimize.state import SearchState

KS = (2, 4, 6, 8)


class DemoStrategy:
    """Random search over demo sets.

    Args:
        ks: Demo counts to try.
        sets_per_round: Demo sets proposed per round.
        bootstrap_max: Most training examples run through the seed to bootstrap demos.
    """

    name = "demos"

    def __init__(self, ks: Sequence[int] = KS, sets_per_round: int = 4, bootstrap_max: int = 16):
        self.ks = tuple(sorted(ks))
        self.sets_per_round = sets_per_round
        self.bootstrap_max = bootstrap_max
        self._pool: list[Demo] | None = None

    async def pool(self, state: SearchState) -> list[Demo]:
        """Labelled demos plus bootstrapped ones (built once, on first use)."""
        if self._pool is None:
            self._pool = await self._build(state)
        return self._pool

    async def _build(self, state: SearchState) -> list[Demo]:
        train = list(state.data.train)
        labelled = [Demo(e.index, e.vars, e.reference, "label")
                    for e in train if e.reference is not None and e.reference.strip()]
        want = max(self.ks)
        if len(labelled) >= want:
            return labelled
        unlabelled = [e for e in train if e.reference is None]
        tried = unlabelled[: self.bootstrap_max]
        affordable = min(len(tried), state.budget.remaining // 4)
        return labelled + await bootstrap(state, tried[:affordable])

    async def propose(self, state: SearchState) -> list[Candidate]:
        pool = await self.pool(state)
        if not pool:
            return []
        base = state.best.candidate
        ks = [k for k in self.ks if k <= len(pool)] or [len(pool)]
        out = []
        for i in range(self.sets_per_round):
            k = ks[(i + state.round) % len(ks)]
            demos = choose(pool, k, state)
            sources = sorted({d.source for d in demos})
            out.append(base.derive(demos=tuple(demos), origin="demos",
                                   note=base.then(f"{k} demos ({'+'.join(sources)})")))
        return out


async def bootstrap(state: SearchState, examples: Sequence[Example]) -> list[Demo]:
    """Demos from the examples the seed gets right, with the seed's output as the answer."""
    if not examples:
        return []
    try:
        scores = await state.evaluator.score(state.seed, examples)
    except BudgetExhausted:
        return []
    return [
        Demo(e.index, e.vars, s.output.strip(), "bootstrap")
        for e, s in zip(examples, scores, strict=True)
        if s.passed and s.output and s.output.strip()
    ]


def choose(pool: Sequence[Demo], k: int, state: SearchState) -> list[Demo]:
    """``k`` demos from ``pool``: balanced over the labels when there is a label set."""
    rng = state.rng
    if state.labels:
        by_label: dict[str, list[Demo]] = defaultdict(list)
        for d in pool:
            by_label[d.answer.strip()].append(d)
        groups = [rng.sample(g, len(g)) for _, g in sorted(by_label.items())]
        rng.shuffle(groups)
        picked: list[Demo] = []
        while len(picked) < k and any(groups):
            for g in groups:
                if g and len(picked) < k:
                    picked.append(g.pop())
        rng.shuffle(picked)
        return picked
    return rng.sample(list(pool), min(k, len(pool)))
