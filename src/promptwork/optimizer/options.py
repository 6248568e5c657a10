"""The options of one optimization, as one value.

:func:`promptwork.optimize`, :func:`promptwork.aoptimize`, :func:`plan_optimization` and
``promptwork optimize`` all take these options; :meth:`OptimizeOptions.of` builds them from
keyword arguments and refuses a name it does not know (a misspelt option is never dropped).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from promptwork.errors import ConfigError
from promptwork.optimizer.data import DEFAULT_SPLIT, parse_split
from promptwork.providers.base import Provider
from promptwork.yamlfile import did_you_mean

Log = Callable[[str], None]

STRATEGIES = ("auto", "demos", "components", "instructions", "reflect")
#: Strategies that need a proposer model (the task model when none is named).
PROPOSING = ("instructions", "reflect")
METRICS = ("pass", "score")
#: What ``metric`` may be set to: ``auto`` picks ``pass`` for tasks with reference answers and
#: ``score`` for free text judged by several checks (:func:`~promptwork.optimizer.data.task_kind`).
METRIC_CHOICES = ("auto", *METRICS)


@dataclass(frozen=True)
class OptimizeOptions:
    """Everything an optimization can be told, besides the prompt and the suite.

    Attributes:
        model: Task model (default: the suite's first provider that runs the prompt, as
            ``providers[].prompts`` says).
        proposer: Model that writes instructions (default: none for ``auto``, the task model for
            ``instructions`` and ``reflect``).
        budget: Task-model calls the whole command may make: the search and the test report
            (the seed and the best prompt on the test split, reserved from the start); the
            ablation uses what is left. Never exceeded.
        strategy: ``auto``, ``demos``, ``components``, ``instructions`` or ``reflect``.
        seed: Seed of the splits and of the search.
        split: Train/validation/test shares (``"0.4/0.3/0.3"`` or a tuple).
        split_var: A test variable that gives each test's split (``train``, ``val``,
            ``test``) instead of ``split``.
        answer_var: Variable holding the reference answers (default: read from the checks).
        metric: ``pass`` (pass rate), ``score`` (weighted check score), or ``auto``: ``pass``
            when the tests have reference answers, ``score`` for free text (a denser signal
            when several checks judge each answer).
        max_tests: Only the first N tests.
        output: Where to write the best prompt as a ``.prompt`` file.
        db: Store URL (default: SQLite in ``.promptwork/`` next to the suite).
        use_cache: Answer repeated calls from the store's cache (a re-run repeats no call).
        ablate: Measure each component of the best prompt on the test split.
        task_provider: A provider instance for the task model (tests).
        proposer_provider: A provider instance for the proposer (tests).
        log: Called with progress lines.
        resume: Continue an interrupted optimization instead of starting anew: a run id, or
            ``""`` for the latest unfinished one with the same plan.
    """

    model: str | None = None
    proposer: str | None = None
    budget: int = 200
    strategy: str = "auto"
    seed: int = 0
    split: str | tuple[float, float, float] | None = None
    split_var: str | None = None
    answer_var: str | None = None
    metric: str = "auto"
    max_tests: int | None = None
    output: str | Path | None = None
    db: str | None = None
    use_cache: bool = True
    ablate: bool = True
    task_provider: Provider | None = None
    proposer_provider: Provider | None = None
    log: Log | None = None
    resume: str | None = None

    def __post_init__(self) -> None:
        if self.strategy not in STRATEGIES:
            raise ConfigError(f"unknown strategy {self.strategy!r}; choose one of "
                              f"{', '.join(STRATEGIES)}")
        if self.metric not in METRIC_CHOICES:
            raise ConfigError(f"unknown metric {self.metric!r}; choose pass (pass rate), score "
                              "or auto")
        if isinstance(self.budget, bool) or not isinstance(self.budget, int) or self.budget < 1:
            raise ConfigError(f"--budget must be a whole number >= 1, got {self.budget!r}")
        if self.max_tests is not None and self.max_tests < 1:
            raise ConfigError(f"--max-tests must be at least 1, got {self.max_tests}")
        self.ratios  # noqa: B018 - a bad --split fails here, before anything is loaded

    @property
    def ratios(self) -> tuple[float, float, float]:
        """The train/validation/test shares."""
        if isinstance(self.split, str):
            return parse_split(self.split)
        return self.split or DEFAULT_SPLIT

    @classmethod
    def names(cls) -> tuple[str, ...]:
        return tuple(f.name for f in dataclasses.fields(cls))

    @classmethod
    def of(cls, options: OptimizeOptions | None = None, /, **changes: Any) -> OptimizeOptions:
        """``options`` (default: the defaults) with ``changes``.

        Raises:
            TypeError: A name that is not an option (with the closest one).
            ConfigError: A bad value (unknown strategy or metric, budget below 1, bad split).
        """
        unknown = sorted(set(changes) - set(cls.names()))
        if unknown:
            raise TypeError(
                f"unknown optimize option(s) {', '.join(map(repr, unknown))}"
                f"{did_you_mean(unknown[0], cls.names())}; options: {', '.join(cls.names())}")
        base = options if options is not None else cls()
        return dataclasses.replace(base, **changes) if changes else base

    def to_dict(self) -> Mapping[str, Any]:
        """The options as keyword arguments."""
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
