"""Few-shot demos: choose and order worked examples from the training split.

The pool holds labelled demos (training examples with a reference answer) and bootstrapped ones
(training examples the model gets right, its own output as the answer), as DSPy's
BootstrapFewShot does: with references, a *teacher* (the seed shown a few labelled demos) answers
other training examples; without them, the seed itself does. Bootstrapped demos are examples the
model already handles, answered in its own words, and tend to teach it better than random
labelled ones. Demo sets of k in {2, 4, 6, 8} are inserted before the query in the query's own
format. The first round proposes random sets (balanced over the labels when the answers form a
small label set; every other set takes the bootstrapped demos first); later rounds, by default,
let a TPE sampler (optuna, as MIPROv2 does) propose them from the race scores of the sets tried
so far.
"""

from __future__ import annotations

import math
import re
import warnings
from collections import defaultdict
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from promptwork.optimizer.budget import BudgetExhausted
from promptwork.optimizer.candidate import Candidate, Demo
from promptwork.optimizer.data import Example
from promptwork.optimizer.state import SearchState
from promptwork.optimizer.strategies.trim import trim_answer

if TYPE_CHECKING:
    import optuna

KS = (2, 4, 6, 8)
SEARCHES = ("bayes", "random")


class DemoStrategy:
    """Random or Bayesian (TPE) search over demo sets.

    Args:
        ks: Demo counts to try.
        sets_per_round: Demo sets proposed per round.
        bootstrap_max: Most training examples run through the seed (or the teacher) to
            bootstrap demos.
        teacher_shots: Labelled demos the teacher is shown.
        search: ``bayes`` (TPE after the random rounds) or ``random`` (random every round).
        random_rounds: Rounds of random sets before TPE takes over.
    """

    name = "demos"

    def __init__(
        self,
        ks: Sequence[int] = KS,
        sets_per_round: int = 4,
        bootstrap_max: int = 16,
        teacher_shots: int = 4,
        search: str = "bayes",
        random_rounds: int = 1,
    ):
        if search not in SEARCHES:
            raise ValueError(f"search must be one of {SEARCHES}, got {search!r}")
        self.ks = tuple(sorted(ks))
        self.sets_per_round = sets_per_round
        self.bootstrap_max = bootstrap_max
        self.teacher_shots = teacher_shots
        self.search = search
        self.random_rounds = random_rounds
        self.tpe: DemoTPE | None = None
        self._pool: list[Demo] | None = None
        self._rounds = 0

    async def pool(self, state: SearchState) -> list[Demo]:
        """Labelled demos plus bootstrapped ones (built once, on first use)."""
        if self._pool is None:
            self._pool = await self._build(state)
        return self._pool

    async def _build(self, state: SearchState) -> list[Demo]:
        train = list(state.data.train)
        labelled = [Demo(e.index, e.vars, e.reference, "label")
                    for e in train if e.reference is not None and e.reference.strip()]
        # A bootstrap never takes more than an eighth of what is left (a quarter without
        # references, where it is the only source of demos).
        taught = await teach(state, labelled, self.teacher_shots,
                             min(self.bootstrap_max, state.budget.remaining // 8))
        done = {d.index for d in taught}
        pool = taught + [d for d in labelled if d.index not in done]
        if len(labelled) >= max(self.ks):
            return pool
        unlabelled = [e for e in train if e.reference is None]
        tried = unlabelled[: self.bootstrap_max]
        affordable = min(len(tried), state.budget.remaining // 4)
        return pool + await bootstrap(state, state.seed, tried[:affordable])

    async def propose(self, state: SearchState) -> list[Candidate]:
        pool = await self.pool(state)
        if not pool:
            return []
        base = state.best.candidate
        ks = [k for k in self.ks if k <= len(pool)] or [len(pool)]
        if self.search == "bayes" and self.tpe is None:
            self.tpe = DemoTPE(len(pool), ks, seed=state.rng.getrandbits(32),
                               n_startup=self.sets_per_round * self.random_rounds)
        tpe = self.tpe
        if tpe is not None:
            tpe.observe(state)
        at = {id(d): i for i, d in enumerate(pool)}
        out = []
        trial: optuna.trial.Trial | None
        for i in range(self.sets_per_round):
            if tpe is not None and self._rounds >= self.random_rounds:
                trial, positions = tpe.ask()
                demos = [pool[p] for p in positions]
            else:
                demos = choose(pool, ks[(i + state.round) % len(ks)], state,
                               prefer_bootstrap=i % 2 == 0)
                trial = tpe.given([at[id(d)] for d in demos]) if tpe is not None else None
            sources = sorted({d.source for d in demos})
            cand = base.derive(demos=tuple(demos), origin="demos",
                               note=demo_note(base, f"{len(demos)} demos ({'+'.join(sources)})"))
            if tpe is not None and trial is not None:
                tpe.track(trial, cand.hash)
            out.append(cand)
        self._rounds += 1
        return out


class DemoTPE:
    """Optuna's TPE sampler over demo sets, through the ask/tell interface.

    A demo set is a trial with categorical parameters: ``k`` (from ``ks``), then ``slot_0`` ..
    ``slot_{k-1}``, each a position in the pool (a position already taken in the set is replaced
    by the next unused one). After a race each trial is told its candidate's mean on the
    validation examples it was scored on (a partial mean for a candidate dropped early); a
    candidate that was never raced (trimmed by the budget) is marked failed, which TPE ignores.
    The sampler is multivariate (slots grouped by which trials have them), treats the best quarter
    of the trials as good, and has trials asked in one round avoid each other (constant liar).

    Optuna logs at INFO level globally; the study is created and told with its verbosity raised to
    WARNING and restored afterwards, so the search logs nothing and leaves the setting as it was.

    Args:
        n_pool: Demos in the pool.
        ks: Demo counts to choose from.
        seed: The sampler's seed (drawn from the search's generator).
        n_startup: Scored trials before TPE replaces random sampling.
    """

    def __init__(self, n_pool: int, ks: Sequence[int], seed: int, n_startup: int):
        import optuna

        self.n_pool = n_pool
        self.ks = tuple(ks)
        self.pending: list[tuple[optuna.trial.Trial, str]] = []
        settings: dict[str, Any] = {
            "seed": seed, "n_startup_trials": max(1, n_startup), "multivariate": True,
            "group": True, "constant_liar": True,
        }
        with _quiet():
            try:
                sampler = optuna.samplers.TPESampler(gamma=_gamma, **settings)
            except TypeError:  # an optuna without ``gamma`` (deprecated in 4.9): its default
                sampler = optuna.samplers.TPESampler(**settings)
            self.study = optuna.create_study(direction="maximize", sampler=sampler)

    def ask(self) -> tuple[optuna.trial.Trial, list[int]]:
        """A new trial and its demo set (pool positions, in order)."""
        with _quiet():
            trial = self.study.ask()
            return trial, self._suggest(trial)

    def given(self, positions: Sequence[int]) -> optuna.trial.Trial:
        """A trial for a set chosen elsewhere (the random rounds), so that TPE learns from it."""
        params: dict[str, int] = {"k": len(positions)}
        params.update({f"slot_{j}": p for j, p in enumerate(positions)})
        with _quiet():
            self.study.enqueue_trial(params)
            trial = self.study.ask()
            self._suggest(trial)
        return trial

    def _suggest(self, trial: optuna.trial.Trial) -> list[int]:
        choices = tuple(range(self.n_pool))
        k = trial.suggest_categorical("k", self.ks)
        picks = [trial.suggest_categorical(f"slot_{j}", choices) for j in range(k)]
        return distinct(picks, self.n_pool)

    def track(self, trial: optuna.trial.Trial, candidate_hash: str) -> None:
        """Remember which candidate a trial became, to tell it its score after the race."""
        trial.set_user_attr("candidate", candidate_hash)
        self.pending.append((trial, candidate_hash))

    def observe(self, state: SearchState) -> None:
        """Tell the pending trials their candidates' race scores from ``state.history``."""
        from optuna.trial import TrialState

        means = {s.candidate.hash: s.mean for s in state.history}
        with _quiet():
            for trial, candidate_hash in self.pending:
                mean = means.get(candidate_hash)
                if mean is None:
                    self.study.tell(trial, state=TrialState.FAIL)
                else:
                    self.study.tell(trial, mean)
        self.pending = []


def _gamma(n: int) -> int:
    """Trials TPE counts as good: the best quarter (hyperopt's default; optuna's tenth leaves
    one or two good trials at the few dozen trials a prompt search affords)."""
    return min(25, math.ceil(0.25 * n))


def distinct(picks: Sequence[int], n: int) -> list[int]:
    """``picks`` with each repeat replaced by the next position (cyclically) not yet used."""
    used: set[int] = set()
    out = []
    for p in picks:
        while p in used:
            p = (p + 1) % n
        used.add(p)
        out.append(p)
    return out


@contextmanager
def _quiet() -> Iterator[None]:
    """Optuna at WARNING level, without its experimental-feature and deprecation warnings."""
    import optuna

    before = optuna.logging.get_verbosity()
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            warnings.simplefilter("ignore", FutureWarning)
            yield
    finally:
        optuna.logging.set_verbosity(before)


_DEMO_NOTE = re.compile(r"^(?:with )?\d+ demos\b")


def demo_note(base: Candidate, text: str) -> str:
    """``base``'s note with its demo part replaced by ``text`` (new demos replace the old)."""
    if base.origin == "seed":
        return text
    kept = [part for part in base.note.split("; ") if not _DEMO_NOTE.match(part)]
    return "; ".join([*kept, text])


async def bootstrap(
    state: SearchState, teacher: Candidate, examples: Sequence[Example]
) -> list[Demo]:
    """Demos from the examples ``teacher`` gets right, with its output as the answer (trimmed
    to the shortest prefix that still passes the example's checks: :func:`trim_answer`)."""
    if not examples or not state.evaluator.valid(teacher):
        return []
    try:
        scores = await state.evaluator.score(teacher, examples)
    except BudgetExhausted:
        return []
    base_dir = state.evaluator.base_dir
    return [
        Demo(e.index, e.vars, await trim_answer(e, s.output.strip(), base_dir), "bootstrap")
        for e, s in zip(examples, scores, strict=True)
        if s.passed and s.output and s.output.strip()
    ]


async def teach(
    state: SearchState, labelled: Sequence[Demo], shots: int, limit: int
) -> list[Demo]:
    """Bootstrapped demos from a teacher: the seed shown ``shots`` labelled demos answers up to
    ``limit`` other labelled training examples; those it gets right become demos."""
    if shots < 1 or limit < 1 or len(labelled) <= shots:
        return []
    taught = choose(labelled, shots, state)
    teacher = state.seed.derive(demos=tuple(taught), origin="demos",
                                note=f"{len(taught)} demos (label)")
    used = {d.index for d in taught}
    train = {e.index: e for e in state.data.train}
    pupils = [train[d.index] for d in labelled if d.index not in used]
    return await bootstrap(state, teacher, state.rng.sample(pupils, min(limit, len(pupils))))


def choose(
    pool: Sequence[Demo], k: int, state: SearchState, prefer_bootstrap: bool = False
) -> list[Demo]:
    """``k`` demos from ``pool``: balanced over the labels when there is a label set, and the
    bootstrapped ones first when ``prefer_bootstrap``."""
    rng = state.rng
    if state.labels:
        by_label: dict[str, list[Demo]] = defaultdict(list)
        for d in pool:
            by_label[d.answer.strip()].append(d)
        groups = [rng.sample(g, len(g)) for _, g in sorted(by_label.items())]
        if prefer_bootstrap:  # popped from the end: bootstrapped demos go last
            groups = [sorted(g, key=lambda d: d.source == "bootstrap") for g in groups]
        rng.shuffle(groups)
        picked: list[Demo] = []
        while len(picked) < k and any(groups):
            for g in groups:
                if g and len(picked) < k:
                    picked.append(g.pop())
        rng.shuffle(picked)
        return picked
    if not prefer_bootstrap:
        return rng.sample(list(pool), min(k, len(pool)))
    boots = [d for d in pool if d.source == "bootstrap"]
    others = [d for d in pool if d.source != "bootstrap"]
    picked = rng.sample(boots, min(k, len(boots)))
    picked += rng.sample(others, min(k - len(picked), len(others)))
    rng.shuffle(picked)
    return picked
