"""Events the runner emits. The terminal UI, the store writer and (later) the web UI subscribe;
the runner itself never prints."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from promptwork.cases import CellResult


@dataclass(frozen=True, slots=True)
class RunStarted:
    run_id: str
    total: int
    already_done: int
    settings: dict[str, Any]


@dataclass(frozen=True, slots=True)
class CellFinished:
    result: CellResult
    prompt_label: str
    provider_label: str


@dataclass(frozen=True, slots=True)
class Retrying:
    provider: str
    attempt: int
    wait_s: float
    error: str


@dataclass(frozen=True, slots=True)
class RunFinished:
    run_id: str
    status: str  # complete | interrupted | failed


Event = RunStarted | CellFinished | Retrying | RunFinished
Subscriber = Callable[[Event], None]
