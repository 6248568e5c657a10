"""Racing (successive halving) and the search loop that drives the strategies under the budget.

Racing compares candidates on the *same* validation examples, in the same order: every candidate
is scored on a first rung of a few examples, the better half goes on to twice as many, and so on
(a candidate that a paired sign test shows clearly behind the rung's leader is dropped even from
the better half); only the finalists are scored on the whole validation split. The score cache
makes each rung cost only its new examples. Within a rung, candidates with the same mean metric
are ordered by the mean log-probability of the gold answers where all of them have it (see
:func:`rank`). A candidate replaces the incumbent only with a higher score on the whole validation
split.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

from promptwork.optimizer.budget import gold_mean
from promptwork.optimizer.candidate import Candidate
from promptwork.optimizer.data import Example
from promptwork.optimizer.state import Scored, SearchState, Strategy, mean_of
from promptwork.stats import mcnemar_exact

#: Fewest validation examples a candidate is judged on before it can be dropped.
MIN_RUNG = 3
#: A candidate this clearly behind the rung's leader (paired sign test) is dropped at once.
DROP_ALPHA = 0.1
#: Most rounds of proposals.
MAX_ROUNDS = 8

Log = Callable[[str], None]


def rung_sizes(n_candidates: int, n_val: int, min_rung: int = MIN_RUNG) -> list[int]:
    """Validation examples per rung: a first rung, then doubling up to the whole split."""
    if n_val <= 0:
        return []
    if n_candidates <= 1:
        return [n_val]
    first = max(min_rung, math.ceil(n_val / 2 ** math.ceil(math.log2(n_candidates))))
    sizes = [min(first, n_val)]
    while sizes[-1] < n_val:
        sizes.append(min(n_val, sizes[-1] * 2))
    return sizes


def race_cost(n_candidates: int, n_val: int, min_rung: int = MIN_RUNG) -> int:
    """Evaluations a race of ``n_candidates`` new candidates costs at most (nothing cached)."""
    total, previous, alive = 0, 0, n_candidates
    for size in rung_sizes(n_candidates, n_val, min_rung):
        total += alive * (size - previous)
        previous, alive = size, math.ceil(alive / 2)
    return total


async def race(
    state: SearchState, candidates: Sequence[Candidate], cap: int, log: Log | None = None
) -> list[Scored]:
    """Successive halving of ``candidates`` on the validation split, spending at most ``cap``.

    Candidates are trimmed from the end of the list until the race fits ``cap`` (so order them
    by priority). Returns every raced candidate with the examples it was scored on; finalists
    have the whole split.
    """
    val = list(state.data.val)
    alive = list(candidates)
    cap = min(cap, state.budget.remaining)
    while alive and race_cost(len(alive), len(val)) > cap:
        alive.pop()
    if not alive:
        return []
    if log is not None and len(alive) < len(candidates):
        log(f"  the budget allows racing {len(alive)} of them")
    results: dict[str, Scored] = {}
    for size in rung_sizes(len(alive), len(val)):
        subset = val[:size]
        affordable, total = [], 0
        for cand in alive:
            cost = state.evaluator.cost(cand, subset)
            if total + cost <= state.budget.remaining:
                affordable.append(cand)
                total += cost
        scored = await state.evaluator.score_many([(c, subset) for c in affordable])
        means = [mean_of(scores, state.metric) for scores in scored]
        order = rank(means, [gold_mean(scores) for scores in scored])
        ranked = [(means[i], i, affordable[i]) for i in order]
        for mean, _, cand in ranked:
            results[cand.hash] = Scored(cand, mean, size, state.budget.spent)
        if size == len(val) or not ranked:
            break
        leader = ranked[0][2]
        top = ranked[: math.ceil(len(ranked) / 2)]
        kept = [m for m in top if not _clearly_worse(state, m[2], leader, subset)]
        alive = [cand for _, _, cand in sorted(kept, key=lambda m: m[1])]
        if log is not None:
            log(f"  rung of {size} examples: {len(kept)} go on, {len(ranked) - len(kept)} "
                "dropped")
    return list(results.values())


def rank(means: Sequence[float], golds: Sequence[float | None]) -> list[int]:
    """Candidate positions, best first: by mean metric, then (among candidates with the same
    mean that all have one) by mean gold log-probability, then by position.

    The gold log-probability only orders candidates that the metric cannot tell apart; it never
    overrides a difference in the metric.
    """
    tied: dict[float, list[int]] = {}
    for i, mean in enumerate(means):
        tied.setdefault(mean, []).append(i)
    out: list[int] = []
    for mean in sorted(tied, reverse=True):
        group = tied[mean]
        values = [golds[i] for i in group]
        if len(group) > 1 and all(v is not None for v in values):
            group = sorted(group, key=lambda i: -(golds[i] or 0.0))
        out.extend(group)
    return out


def _clearly_worse(
    state: SearchState, cand: Candidate, leader: Candidate, examples: Sequence[Example]
) -> bool:
    """Whether ``cand`` loses to ``leader`` on these examples by a paired sign test."""
    if cand is leader:
        return False
    cache, metric = state.evaluator.cache, state.metric
    worse = better = 0
    for e in examples:
        mine, theirs = cache.peek(cand.hash, e.index), cache.peek(leader.hash, e.index)
        if mine is None or theirs is None or not (mine.graded and theirs.graded):
            continue
        diff = mine.value(metric) - theirs.value(metric)
        worse += diff < 0
        better += diff > 0
    return worse > better and mcnemar_exact(worse, better) < DROP_ALPHA


def _interleave(groups: Sequence[Sequence[Candidate]]) -> list[Candidate]:
    out: list[Candidate] = []
    for i in range(max((len(g) for g in groups), default=0)):
        out.extend(g[i] for g in groups if i < len(g))
    return out


def combine(state: SearchState) -> list[Candidate]:
    """The incumbent joined with the best demo set, or with the best instruction, raced so far."""
    inc = state.best.candidate
    best_demo: tuple[float, Candidate] | None = None
    best_text: tuple[float, Candidate] | None = None
    for scored in state.history:
        gain = state.gain(scored)
        if gain is None or gain <= 0:
            continue
        cand = scored.candidate
        if cand.origin == "demos" and (best_demo is None or gain > best_demo[0]):
            best_demo = (gain, cand)
        if cand.origin in ("components", "instructions", "reflect") and (
            best_text is None or gain > best_text[0]
        ):
            best_text = (gain, cand)
    out = []
    if best_demo is not None and best_demo[1].demos != inc.demos:
        demos = best_demo[1].demos
        sources = "+".join(sorted({d.source for d in demos}))
        out.append(inc.derive(demos=demos, origin="combined",
                              note=inc.then(f"{len(demos)} demos ({sources})")))
    if best_text is not None and best_text[1].layout != inc.layout:
        text = best_text[1]
        note = text.note if not inc.demos else text.then(f"with {len(inc.demos)} demos")
        out.append(inc.derive(layout=text.layout, edits=text.edits, origin="combined", note=note))
    return out


async def score_seed(state: SearchState) -> Scored:
    """Score the seed on the whole validation split; it is the first incumbent."""
    val = list(state.data.val)
    mean = await state.mean(state.seed, val)
    scored = Scored(state.seed, mean, len(val), state.budget.spent)
    state.seen.add(state.seed.hash)
    state.history.append(scored)
    state.incumbent = scored
    state.curve.append((state.budget.spent, mean))
    return scored


async def search(
    state: SearchState,
    strategies: Sequence[Strategy],
    max_rounds: int = MAX_ROUNDS,
    log: Log | None = None,
) -> Scored:
    """Run rounds of proposals and races until the budget or the ideas run out.

    Why it stopped is left in ``state.stop_reason`` (and logged).

    Each round every strategy proposes from the incumbent; the proposals (interleaved so that a
    trimmed race keeps every strategy's first ideas) and the best combinations so far are raced
    with at most half the remaining budget (all of it when that is too little for two).
    """
    if state.incumbent is None:
        await score_seed(state)
    n_val = len(state.data.val)
    state.stop_reason = f"round limit: all {max_rounds} rounds done"
    for r in range(max_rounds):
        state.round = r
        if state.budget.remaining < MIN_RUNG:
            state.stop_reason = (f"budget spent: {state.budget.remaining} search call(s) left, "
                                 f"fewer than the {MIN_RUNG} a race starts with")
            break
        proposals = [await s.propose(state) for s in strategies]
        candidates = state.fresh(_interleave([combine(state), *proposals]))
        if not candidates:
            state.stop_reason = ("no candidates left: the strategies proposed nothing that was "
                                 "not raced before")
            break
        cap = max(state.budget.remaining // 2, race_cost(2, n_val))
        if log is not None:
            log(f"round {r + 1}: racing {len(candidates)} candidates "
                f"({state.budget.remaining} calls left)")
        results = await race(state, candidates, cap, log)
        if not results:
            state.stop_reason = (f"budget spent: the {state.budget.remaining} search call(s) "
                                 "left cannot race a candidate on a first rung")
            break
        state.seen.update(s.candidate.hash for s in results)
        state.history.extend(results)
        finalists = [s for s in results if s.full(n_val)]
        top = max(finalists, key=lambda s: s.mean, default=None)
        if top is not None and top.mean > state.best.mean:
            state.incumbent = top
            if log is not None:
                log(f"  new best {top.mean:.3f} on validation: {top.candidate.note}")
        state.curve.append((state.budget.spent, state.best.mean))
    if log is not None:
        log(f"search stopped after {state.budget.spent} of {state.budget.limit} search calls: "
            f"{state.stop_reason}")
    return state.best
