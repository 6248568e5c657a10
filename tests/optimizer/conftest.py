"""Fixtures of the optimizer tests (helpers live in :mod:`.kit`)."""

from __future__ import annotations

from pathlib import Path

import pytest

from promptwork.optimizer.candidate import SeedPrompt
from promptwork.optimizer.data import Example, load_examples
from promptwork.suite import Suite, load_suite

from .kit import write_sentiment_suite


@pytest.fixture
def suite_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "suite"
    write_sentiment_suite(folder)
    return folder


@pytest.fixture
def suite(suite_dir: Path) -> Suite:
    return load_suite(suite_dir)


@pytest.fixture
def seed_prompt(suite: Suite) -> SeedPrompt:
    return SeedPrompt.of(suite.prompts[0].template)


@pytest.fixture
def examples(suite: Suite, seed_prompt: SeedPrompt) -> list[Example]:
    return load_examples(suite.tests, seed_prompt.variables)
