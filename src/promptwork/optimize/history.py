"""The optimization's history in the store: one run whose prompts are the candidates.

Every per-example score of the search and of the test report becomes a result cell (candidate x
phase x example), so ``promptwork runs show RUN`` and the run reports show what was tried and how
each candidate did, and ``promptwork runs compare RUN --a 0:1 --b N:1`` compares the seed (#0)
with candidate N on the test split; each candidate's text is stored as a prompt version.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from promptwork.cases import CellKey, CellResult
from promptwork.checks.base import CheckResult
from promptwork.optimize.budget import ExampleScore, text_hash
from promptwork.optimize.candidate import Candidate, SeedPrompt
from promptwork.store import Store
from promptwork.types import Completion


class Recorder:
    """Collects every new per-example score; :meth:`phase` gives the ``on_score`` callbacks.

    Scores of the search (train and validation) and of the report after it (the test split)
    are kept apart: they become two "provider" columns of the stored run.
    """

    PHASES = ("search", "test split")

    def __init__(self) -> None:
        self.candidates: dict[str, tuple[int, Candidate]] = {}
        self.cells: list[tuple[int, int, ExampleScore, str]] = []

    def phase(self, index: int) -> Callable[[Candidate, ExampleScore, str], None]:
        def record(candidate: Candidate, score: ExampleScore, prompt_text: str) -> None:
            found = self.candidates.get(candidate.hash)
            if found is None:
                found = self.candidates[candidate.hash] = (len(self.candidates), candidate)
            self.cells.append((found[0], index, score, prompt_text))

        return record

    def save(
        self, store: Store, seed: SeedPrompt, fingerprint: str, suite_path: str | None,
        provider: Mapping[str, Any], variables: Mapping[int, Mapping[str, Any]],
        extra: Mapping[str, Any],
    ) -> str:
        """Write the history as a completed run; returns its id."""
        ordered = sorted(self.candidates.values(), key=lambda item: item[0])
        hashes = []
        for index, cand in ordered:
            text = seed.file_text(cand.body)
            label = f"#{index} {cand.note}"
            hashes.append(store.save_prompt(text, label, text_hash(text)))
        settings = {
            "kind": "optimize",
            "prompts": [{"label": f"#{i} {c.note}", "hash": h, "path": None}
                        for (i, c), h in zip(ordered, hashes, strict=True)],
            "providers": [{**provider, "label": f"{provider.get('label')} ({phase})"}
                          for phase in self.PHASES],
            "repeat": 1,
            "metrics": [],
            "optimize": dict(extra),
        }
        description = f"optimize {extra.get('prompt')}: {len(ordered)} candidates"
        run_id = store.create_run(fingerprint, len(self.cells), settings, description, suite_path)
        provider_id = str(provider.get("id"))
        for cand_index, phase, score, prompt_text in self.cells:
            key = CellKey(cand_index, phase, score.index)
            completion = (Completion(score.output, provider_id) if score.output is not None
                          else None)
            grade = CheckResult(score.passed, score.score, score.reason, check_type="aggregate")
            cell = CellResult(key, variables.get(score.index, {}), prompt_text, completion,
                              None if score.error else grade, score.error, score.error_kind)
            store.add_result(run_id, cell, hashes[cand_index], provider_id)
        store.finish_run(run_id, "complete", None)
        return run_id
