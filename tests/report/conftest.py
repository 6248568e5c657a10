"""Fixtures of the report tests."""

from __future__ import annotations

from typing import Any

import pytest

from promptwork.store import RunRecord

from .synthetic import make_run, standard_rows


@pytest.fixture
def rows() -> list[dict[str, Any]]:
    return standard_rows()


@pytest.fixture
def run() -> RunRecord:
    return make_run()
