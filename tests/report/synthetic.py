"""Synthetic stored rows and runs for the report tests: no database needed."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from promptwork.store import RunRecord

PROMPTS = ["concise", "detailed"]
PROVIDERS = ["gpt-mini", "claude-haiku"]

ANSI = "\x1b[31mRED\x1b[0m\x1b]8;;http://evil.example\x07link\x1b]8;;\x07"
XSS = (
    "<script>alert(1)</script><img src=x onerror=alert(2)><svg onload=alert(3)>"
    '<a href="javascript:alert(4)">click</a> ![t](https://evil.example/track.png) '
    "[bold red]markup[/] | pipe"
)


def make_row(
    test: int,
    prompt: int = 0,
    provider: int = 0,
    *,
    repeat: int = 0,
    success: bool = True,
    error: str | None = None,
    output: str | None = "ok",
    score: float | None = None,
    latency: float | None = 100.0,
    cost: float | None = 0.001,
    cached: bool = False,
    vars: dict[str, Any] | None = None,
    reason: str | None = None,
) -> dict[str, Any]:
    """One stored result row, shaped as Store.results() yields it."""
    passed = success and error is None
    grading = None
    if error is None:
        grading = {
            "pass": passed,
            "score": 1.0 if passed else 0.0,
            "reason": reason or ("all checks passed" if passed else "expected 'Paris'"),
            "type": "",
            "components": [
                {"pass": passed, "score": 1.0 if passed else 0.0, "type": "contains",
                 "reason": "output contains 'Paris'" if passed else "no 'Paris'",
                 "metric": "accuracy"},
                {"pass": True, "score": 1.0, "type": "latency", "reason": "fast enough"},
            ],
        }
    return {
        "run_id": "run-1",
        "prompt_idx": prompt,
        "provider_idx": provider,
        "test_idx": test,
        "repeat_idx": repeat,
        "prompt_hash": f"hash{prompt}",
        "provider_id": f"openai:{PROVIDERS[provider]}" if provider < len(PROVIDERS) else "x",
        "vars": {"city": f"city {test}", "n": test} if vars is None else vars,
        "prompt_text": f"Prompt {prompt} about city {test}",
        "output": None if error is not None else output,
        "error": error,
        "error_kind": "timeout" if error is not None else None,
        "success": passed,
        "score": (score if score is not None else (1.0 if passed else 0.0)),
        "grading": grading,
        "latency_ms": latency if error is None else None,
        "cost": cost if error is None else None,
        "prompt_tokens": 10 if error is None else None,
        "completion_tokens": 5 if error is None else None,
        "cached": cached,
        "finish_reason": "stop" if error is None else None,
        "created_at": datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC),
    }


def make_run(run_id: str = "run-1", repeat: int = 1) -> RunRecord:
    return RunRecord(
        id=run_id,
        created_at=datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC),
        finished_at=datetime(2026, 1, 2, 3, 5, 0, tzinfo=UTC),
        status="complete",
        description="synthetic <b>run</b>",
        suite_path="promptwork.yaml",
        fingerprint="f" * 64,
        total_cells=0,
        settings={
            "prompts": [{"label": p, "hash": f"hash{i}", "path": f"{p}.txt"}
                        for i, p in enumerate(PROMPTS)],
            "providers": [{"id": f"openai:{p}", "label": p, "settings": {}}
                          for p in PROVIDERS],
            "repeat": repeat,
        },
        summary=None,
    )


def standard_rows() -> list[dict[str, Any]]:
    """4 tests x 2 prompts x 2 providers, in matrix order.

    Column (0, 0): tests 0-3 pass except test 2 fails.
    Column (1, 0): all pass; test 3's output is hostile (XSS + markup).
    Column (0, 1): test 1 errors, others pass; test 0's output holds ANSI escapes.
    Column (1, 1): all fail.
    """
    rows = []
    for t in range(4):
        rows.append(make_row(t, 0, 0, success=t != 2))
        rows.append(make_row(t, 0, 1, error="timed out after 30s" if t == 1 else None,
                             output=ANSI if t == 0 else "ok"))
        rows.append(make_row(t, 1, 0, output=XSS if t == 3 else "Paris"))
        rows.append(make_row(t, 1, 1, success=False, cached=True, cost=None))
    return rows
