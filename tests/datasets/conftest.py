"""Fixtures of the test-data tests."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(autouse=True)
def _in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Tests pass tmp_path as the suite folder; load() names it relatively, as a user would.
    monkeypatch.chdir(tmp_path)
