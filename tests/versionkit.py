"""Stores with real runs for the compare, prompt-version and optimization tests.

Import it as a top-level module (``from versionkit import two_versions``): ``conftest.py`` puts
the ``tests`` folder on ``sys.path``. Every run is made by ``promptwork.evaluate`` with the
``scripted`` provider, whose answer depends on the prompt version and the test:

* version 1 of ``prompts/ask.prompt`` answers "yes it is blue", except on test 1 ("no sir");
* version 2 answers "yes it is red", except on test 2 ("no");
* the inline prompt ``other`` always answers "nope".

The check wants "yes": from run 1 to run 2, test 1 is a fix and test 2 a regression.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from evalkit import isolate_env
from promptwork.evaluation import evaluate
from promptwork.store import Store

V1 = "---\ndescription: first\n---\nv1 question Q{{ i }}.\n"
V2 = "---\ndescription: second\n---\nv2 question Q{{ i }}. Think.\n"
RESPONSES = {"v1 question Q1.": "no sir", "v1 question": "yes it is blue",
             "v2 question Q2.": "no", "v2 question": "yes it is red", "*": "nope"}


@dataclass
class TwoRuns:
    """The folder, its store, and the two runs (version 1, then version 2)."""

    folder: Path
    store: Store
    first: str
    second: str

    @property
    def prompt_path(self) -> str:
        return str(self.folder / "prompts" / "ask.prompt")


def write_suite(folder: Path, body: str, n: int = 10) -> Path:
    (folder / "prompts").mkdir(parents=True, exist_ok=True)
    (folder / "prompts" / "ask.prompt").write_text(body, encoding="utf-8")
    suite = {
        "description": "versions",
        "prompts": ["file://prompts/ask.prompt", {"id": "Other {{ i }}", "label": "other"}],
        "providers": [{"id": "scripted", "label": "bot", "config": {"responses": RESPONSES}}],
        "defaultTest": {"assert": [{"type": "icontains", "value": "yes"}]},
        "tests": [{"vars": {"i": i}} for i in range(n)],
    }
    path = folder / "promptwork.yaml"
    path.write_text(yaml.safe_dump(suite, sort_keys=False), encoding="utf-8")
    return path


def two_versions(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> TwoRuns:
    """Run the suite with version 1 of the prompt, then with version 2."""
    isolate_env(monkeypatch, tmp_path)
    folder = tmp_path / "suite"
    ids = []
    for body in (V1, V2):
        run = evaluate(write_suite(folder, body))
        ids.append(run.id)
    return TwoRuns(folder, Store.for_folder(folder), ids[0], ids[1])
