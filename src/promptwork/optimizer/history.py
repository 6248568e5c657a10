"""The optimization's history in the store: one run whose prompts are the candidates.

The run is created when the search starts and every per-example score of the search and of the
test report is committed as a result cell (candidate x phase x example) the moment it arrives, so
an interrupted optimization loses nothing and ``promptwork optimize --resume`` can replay it.
``promptwork runs show RUN`` and the run reports show what was tried and how each candidate did,
and ``promptwork runs compare RUN --a 0:1 --b N:1`` compares the seed (#0) with candidate N on
the test split; each candidate's text is stored as a prompt version as it first appears.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from promptwork.cases import CellKey, CellResult
from promptwork.checks.base import CheckResult
from promptwork.optimizer.budget import ExampleScore, text_hash
from promptwork.optimizer.candidate import Candidate, Evaluator, OnScore, SeedPrompt
from promptwork.optimizer.data import Example
from promptwork.optimizer.result import OptimizeResult
from promptwork.store import RunRecord, Store
from promptwork.types import Completion

#: Recorded scores by (candidate's prompt-file hash, example index).
Recorded = dict[tuple[str, int], ExampleScore]
#: The fields of a score that the result cell's own columns hold.
_COLUMNS = frozenset({"index", "passed", "score", "output", "reason", "error", "error_kind"})


@dataclasses.dataclass(frozen=True, slots=True)
class _Grade(CheckResult):
    """A cell's aggregate grade that also keeps the score's other fields (under ``optimize``
    in the stored grading), so that a resumed search replays the very same scores."""

    extra: Mapping[str, Any] = dataclasses.field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        out = CheckResult.to_dict(self)
        if self.extra:
            out["optimize"] = dict(self.extra)
        return out


class Recorder:
    """Writes every new per-example score to the store; :meth:`phase` gives the callbacks.

    Scores of the search (train and validation) and of the report after it (the test split)
    are kept apart: they are the two "provider" columns of the stored run. A resumed recorder
    (:meth:`attach`) also holds the scores recorded before, for :meth:`evaluator` to replay.

    Args:
        store: The store.
        seed: The seed prompt (a candidate's stored text is the seed's front matter + its body).
        provider: The task model as the run's settings describe it (``id``, ``label``...).
        variables: Each example's variables, by example index.
    """

    PHASES = ("search", "test split")

    def __init__(self, store: Store, seed: SeedPrompt, provider: Mapping[str, Any],
                 variables: Mapping[int, Mapping[str, Any]]):
        self.store = store
        self.seed = seed
        self.provider = dict(provider)
        self.provider_id = str(provider.get("id"))
        self.variables = variables
        self.run_id = ""
        self.settings: dict[str, Any] = {}
        self.cells = 0
        self.recorded: list[Recorded] = [{} for _ in self.PHASES]
        self._indexes: dict[str, int] = {}  # prompt-file hash -> candidate number
        self._hashes: dict[str, str] = {}  # candidate (body) hash -> prompt-file hash

    def start(self, fingerprint: str, suite_path: str | None, total: int,
              extra: Mapping[str, Any], description: str) -> str:
        """Create the run (status ``running``); returns its id."""
        self.settings = {
            "kind": "optimize",
            "prompts": [],
            "providers": [{**self.provider, "label": f"{self.provider.get('label')} ({phase})"}
                          for phase in self.PHASES],
            "repeat": 1,
            "metrics": [],
            "optimize": dict(extra),
        }
        self.run_id = self.store.create_run(fingerprint, total, self.settings, description,
                                            suite_path)
        return self.run_id

    def attach(self, record: RunRecord) -> int:
        """Continue ``record`` (an unfinished optimization): load its candidates and scores.

        Returns:
            How many scores were recorded.
        """
        self.run_id = record.id
        self.settings = dict(record.settings)
        self._indexes = {p["hash"]: i for i, p in enumerate(self.settings.get("prompts", []))}
        for row in self.store.results(record.id):
            self.cells += 1
            phase = int(row["provider_idx"])
            if row["error_kind"] == "template" or phase >= len(self.recorded):
                continue  # a prompt that did not render cost nothing: it is simply redone
            self.recorded[phase][(row["prompt_hash"], row["test_idx"])] = _score_of(row)
        self.store.set_status(record.id, "running")
        return sum(len(r) for r in self.recorded)

    def prompt_hash(self, candidate: Candidate) -> str:
        """The hash of the candidate's stored text (the seed's front matter and its body)."""
        found = self._hashes.get(candidate.hash)
        if found is None:
            found = self._hashes[candidate.hash] = text_hash(self.seed.file_text(candidate.body))
        return found

    def phase(self, index: int) -> OnScore:
        def record(candidate: Candidate, score: ExampleScore, prompt_text: str) -> None:
            self._write(index, candidate, score, prompt_text)

        return record

    def evaluator(self, phase: int, *args: Any, **kwargs: Any) -> Evaluator:
        """An :class:`~promptwork.optimizer.candidate.Evaluator` (same arguments) that records
        every new score of ``phase`` and replays the scores recorded before."""
        recorded = self.recorded[phase]
        kwargs["on_score"] = self.phase(phase)
        if not recorded:
            return Evaluator(*args, **kwargs)
        return ReplayEvaluator(*args, replay=recorded, prompt_hash=self.prompt_hash, **kwargs)

    def finish(self, status: str, extra: Mapping[str, Any] | None = None) -> None:
        """Mark the run ``complete`` (with ``extra`` settings) or ``interrupted``/``failed``."""
        if not self.run_id:
            return
        if extra is not None:
            self.settings["optimize"] = {**self.settings.get("optimize", {}), **extra}
        n = len(self.settings.get("prompts", []))
        prompt = self.settings.get("optimize", {}).get("prompt")
        self.store.update_run(
            self.run_id, settings=self.settings,
            total_cells=self.cells if status == "complete" else None,
            description=f"optimize {prompt}: {n} candidate{'s' if n != 1 else ''}")
        self.store.finish_run(self.run_id, status, None)

    def report_record(self, result: OptimizeResult) -> dict[str, Any]:
        """What the run's settings keep of the report besides the provenance, for the pages
        that show stored optimizations (:mod:`promptwork.views.optimizations`):
        :meth:`OptimizeResult.report_record` with the stored prompt files' hashes."""
        return result.report_record(self.prompt_hash)

    def _number(self, candidate: Candidate) -> tuple[int, str]:
        """The candidate's number in the run and its prompt hash (stored when new)."""
        prompt_hash = self.prompt_hash(candidate)
        found = self._indexes.get(prompt_hash)
        if found is None:
            found = self._indexes[prompt_hash] = len(self._indexes)
            label = f"#{found} {candidate.note}"
            self.store.save_prompt(self.seed.file_text(candidate.body), label, prompt_hash)
            self.settings.setdefault("prompts", []).append(
                {"label": label, "hash": prompt_hash, "path": None})
            self.store.update_run(self.run_id, settings=self.settings)
        return found, prompt_hash

    def _write(self, phase: int, candidate: Candidate, score: ExampleScore,
               prompt_text: str) -> None:
        number, prompt_hash = self._number(candidate)
        completion = (Completion(score.output, self.provider_id) if score.output is not None
                      else None)
        extra = {f.name: getattr(score, f.name) for f in dataclasses.fields(score)
                 if f.name not in _COLUMNS and getattr(score, f.name) is not None}
        grade = _Grade(score.passed, score.score, score.reason, check_type="aggregate",
                       extra=extra)
        cell = CellResult(CellKey(number, phase, score.index), self.variables.get(score.index, {}),
                          prompt_text, completion, None if score.error else grade, score.error,
                          score.error_kind)
        if self.store.add_result(self.run_id, cell, prompt_hash, self.provider_id):
            self.cells += 1


def _score_of(row: Mapping[str, Any]) -> ExampleScore:
    """A stored result cell back as the score it was written from."""
    error = row["error"]
    grading = row["grading"] or {}
    reason = str(error) if error is not None else str(grading.get("reason", ""))
    names = {f.name for f in dataclasses.fields(ExampleScore)} - _COLUMNS
    extra = {k: v for k, v in (grading.get("optimize") or {}).items() if k in names}
    # An error is stored without a score (it has no verdict).
    return ExampleScore(int(row["test_idx"]), bool(row["success"]), float(row["score"] or 0.0),
                        row["output"], reason, error, row["error_kind"], **extra)


class ReplayEvaluator(Evaluator):
    """An evaluator that answers the evaluations an interrupted run recorded from the record.

    A recorded (candidate, example) pair makes no model call, but it is charged to the budget
    when the search first asks for it, exactly as the original evaluation was: a resumed search
    replays the same decisions and never spends more than its budget.

    Args:
        *args, **kwargs: As for :class:`~promptwork.optimizer.candidate.Evaluator`.
        replay: The recorded scores by (prompt-file hash, example index); consumed as used.
        prompt_hash: A candidate's prompt-file hash.
    """

    def __init__(self, *args: Any, replay: Recorded, prompt_hash: Callable[[Candidate], str],
                 **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.replay = replay
        self.prompt_hash = prompt_hash
        self.replayed = 0

    async def _run(self, todo: Sequence[tuple[Candidate, Example]]) -> None:
        fresh = []
        for cand, example in todo:  # already charged to the budget by score_many
            found = self.replay.pop((self.prompt_hash(cand), example.index), None)
            if found is None:
                fresh.append((cand, example))
            else:
                self.cache.put(cand.hash, found)
                self.replayed += 1
        if fresh:
            await super()._run(fresh)
