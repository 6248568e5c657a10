"""The Python API of evaluations: ``evaluate()`` and the :class:`EvalRun` it returns."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from promptwork.blocking import run_blocking
from promptwork.errors import MissingDependencyError
from promptwork.events import Subscriber
from promptwork.metrics import dataset_metrics
from promptwork.providers.base import Provider
from promptwork.report.summary import ColumnSummary, summarize
from promptwork.report.winner import WinnerTest, judge_winner, mark_winner
from promptwork.runner import RunConfig, Runner
from promptwork.store import RunRecord, Store
from promptwork.store.ratings import rating_columns, with_ratings
from promptwork.suite import Suite, load_suite


@dataclass
class EvalRun:
    """A stored run, read back from the store.

    Attributes:
        id: The run id.
        store: The store holding it.
    """

    id: str
    store: Store

    @property
    def record(self) -> RunRecord:
        return self.store.get_run(self.id)

    @property
    def prompt_labels(self) -> list[str]:
        return [p["label"] for p in self.record.settings.get("prompts", [])]

    @property
    def provider_labels(self) -> list[str]:
        return [p["label"] for p in self.record.settings.get("providers", [])]

    def rows(self) -> list[dict[str, Any]]:
        """Every stored cell as a list, in matrix order (test, prompt, provider, repeat), rated
        cells with their ``ratings``.

        Each call reads the store afresh. For very large runs, :meth:`iter_rows` streams the
        same rows with bounded memory.
        """
        return list(self.iter_rows())

    def iter_rows(self) -> Iterator[dict[str, Any]]:
        """The rows of :meth:`rows`, streamed from the store (a one-shot iterator). A cell rated
        by people has ``ratings``: the current ratings, latest first (see
        :func:`promptwork.store.ratings.with_ratings`)."""
        return with_ratings(self.store, self.id, self.store.results(self.id))

    def columns(self) -> list[ColumnSummary]:
        """Per-column summaries; the winner (significantly better than the runner-up) marked."""
        return self.columns_and_winner()[0]

    def columns_and_winner(self) -> tuple[list[ColumnSummary], WinnerTest | None]:
        """:meth:`columns` and the test of the best column against the runner-up
        (:mod:`promptwork.report.winner`; None with fewer than two graded columns)."""
        columns = summarize(self.iter_rows(), self.prompt_labels, self.provider_labels)
        winner = judge_winner(self.iter_rows(), columns)
        mark_winner(columns, winner)
        return columns, winner

    def summary(self) -> list[dict[str, Any]]:
        """Per prompt x provider: pass rate (95% Wilson interval), score, tokens, cost,
        latency p50/p95."""
        return [c.to_dict() for c in self.columns()]

    def dataset_metrics(self) -> list[Any]:
        """The suite's dataset-level metrics (classification, distinct n-grams) per column."""
        specs = self.record.settings.get("metrics") or []
        return dataset_metrics(self.iter_rows, specs)

    def stats(self) -> dict[str, int]:
        successes = failures = errors = 0
        for row in self.iter_rows():
            if row["error"] is not None:
                errors += 1
            elif row["success"]:
                successes += 1
            else:
                failures += 1
        return {"successes": successes, "failures": failures, "errors": errors}

    def to_pandas(self) -> Any:
        """One row per cell as a pandas DataFrame (needs pandas installed); the human rating
        columns (``rating_pass``, ``rating_score``, ``rating_comment``, ``rater``: the cell's
        latest rating) are empty for unrated cells."""
        try:
            import pandas as pd  # type: ignore[import-untyped,unused-ignore]
        except ImportError:
            raise MissingDependencyError("to_pandas() needs pandas: pip install pandas") from None
        prompts, providers = self.prompt_labels, self.provider_labels
        records = []
        for row in self.iter_rows():
            records.append({
                "test": row["test_idx"], "repeat": row["repeat_idx"],
                "prompt": prompts[row["prompt_idx"]], "provider": providers[row["provider_idx"]],
                **{f"var_{k}": v for k, v in (row["vars"] or {}).items()},
                "output": row["output"], "pass": row["success"], "score": row["score"],
                "error": row["error"], "latency_ms": row["latency_ms"], "cost": row["cost"],
                "prompt_tokens": row["prompt_tokens"],
                "completion_tokens": row["completion_tokens"], "cached": row["cached"],
                **rating_columns(row),
            })
        return pd.DataFrame.from_records(records)


async def aevaluate(
    suite: str | Path | Suite = "promptwork.yaml",
    *,
    db: str | None = None,
    config: RunConfig | None = None,
    resume: str | None = None,
    subscribers: Iterable[Subscriber] = (),
    providers: dict[int, Provider] | None = None,
) -> EvalRun:
    """Async twin of :func:`evaluate`."""
    loaded = suite if isinstance(suite, Suite) else load_suite(suite)
    store = Store.for_folder(loaded.base_dir, db)
    runner = Runner(loaded, store, config, subscribers, providers)
    run_id = await runner.run(resume)
    return EvalRun(run_id, store)


def evaluate(
    suite: str | Path | Suite = "promptwork.yaml",
    *,
    db: str | None = None,
    config: RunConfig | None = None,
    resume: str | None = None,
    subscribers: Iterable[Subscriber] = (),
    providers: dict[int, Provider] | None = None,
) -> EvalRun:
    """Run a suite (as ``promptwork eval`` does) and return the stored run.

    Args:
        suite: A suite file or folder (``promptwork.yaml``, ``promptfooconfig.yaml``), or a
            loaded :class:`Suite`.
        db: Store URL; default: SQLite in ``.promptwork/`` next to the suite.
        config: Run options (concurrency, repeat, cache, retry policy).
        resume: A run id (or ``""`` for the latest run) to complete instead of starting anew.
        subscribers: Event callbacks (progress).
        providers: Provider instances by index, replacing the suite's (for tests).
    """
    return run_blocking(aevaluate(suite, db=db, config=config, resume=resume,
                                  subscribers=subscribers, providers=providers), "evaluate")
