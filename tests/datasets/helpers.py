"""Helpers of the test-data tests: write files, load a ``tests`` spec, catch its error."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from promptwork.cases import TestCase
from promptwork.datasets import TestSource
from promptwork.errors import ConfigError


def write(path: Path, text: str | bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


def load(spec: Any, base: Path, default: dict[str, Any] | None = None, **kw: Any) -> list[TestCase]:
    base = Path(os.path.relpath(base))
    return list(TestSource(spec, base, default, where="suite.yaml", **kw))


def error(spec: Any, base: Path, default: dict[str, Any] | None = None, **kw: Any) -> ConfigError:
    with pytest.raises(ConfigError) as info:
        load(spec, base, default, **kw)
    return info.value


def checks(case: TestCase) -> list[dict[str, Any]]:
    return [c.to_dict() for c in case.checks]
