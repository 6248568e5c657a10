"""Transforms in the embedded V8: awaited off the event loop, their JavaScript errors reported as
the transform's failure (``options.transform``: an error cell; a check's: that check fails)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from pathlib import Path
from typing import Any

import pytest

from promptwork.checks import CheckContext
from promptwork.checks.grade import grade_cell
from promptwork.checks.registry import parse_spec
from promptwork.checks.transform import apply_transform, js_available

pytestmark = [pytest.mark.asyncio,
              pytest.mark.skipif(not js_available(), reason="needs mini-racer")]

#: JavaScript that keeps V8 busy for half a second, then returns the output upper-cased.
SLOW = "const t = Date.now(); while (Date.now() - t < 500) {}\nreturn output.toUpperCase();"


async def ticks_during(work: Awaitable[Any]) -> tuple[Any, int]:
    """Run ``work`` while another task counts 10 ms ticks: how far the loop got meanwhile."""
    ticks = 0
    done = asyncio.Event()

    async def ticker() -> None:
        nonlocal ticks
        while not done.is_set():
            await asyncio.sleep(0.01)
            ticks += 1

    task = asyncio.create_task(ticker())
    try:
        result = await work
    finally:
        done.set()
        await task
    return result, ticks


async def test_a_slow_javascript_transform_does_not_block_the_event_loop() -> None:
    result, ticks = await ticks_during(apply_transform(SLOW, "hi", CheckContext("hi")))
    assert result == "HI"
    # Blocked, the ticker would run at most once; free, about 50 times in 0.5 s.
    assert ticks >= 10


async def test_a_slow_javascript_check_does_not_block_the_event_loop() -> None:
    spec = parse_spec({"type": "javascript",
                       "value": SLOW.replace("output.toUpperCase()", "output === 'hi'")})
    graded, ticks = await ticks_during(grade_cell([spec], CheckContext("hi")))
    assert graded.grade is not None and graded.grade.passed
    assert ticks >= 10


async def test_a_javascript_file_transform(tmp_path: Path) -> None:
    (tmp_path / "t.js").write_text("module.exports = (output, context) => "
                                   "output + '!' + context.vars.n;\n")
    ctx = CheckContext("hi", vars={"n": 3}, base_dir=tmp_path)
    assert await apply_transform("file://t.js", "hi", ctx) == "hi!3"


async def test_a_throwing_check_transform_fails_that_check_only() -> None:
    checks = [parse_spec({"type": "contains", "value": "h",
                          "transform": "throw new Error('boom')"}),
              parse_spec({"type": "contains", "value": "h"})]
    graded = await grade_cell(checks, CheckContext("hi"))
    assert graded.error is None and graded.grade is not None
    (_, bad), (_, good) = graded.checks
    assert not bad.passed and good.passed
    assert bad.reason.startswith("transform failed: JavaScript script error: Error: boom")


async def test_a_throwing_test_transform_is_a_transform_error() -> None:
    checks = [parse_spec({"type": "contains", "value": "h"})]
    graded = await grade_cell(checks, CheckContext("hi"),
                              options={"transform": "throw new Error('boom')"})
    assert graded.grade is None and graded.error is not None
    assert graded.error.kind == "transform" and "Error: boom" in graded.error.message


async def test_an_unreadable_javascript_file_fails_the_check(tmp_path: Path) -> None:
    checks = [parse_spec({"type": "contains", "value": "h", "transform": "file://absent.js"})]
    graded = await grade_cell(checks, CheckContext("hi", base_dir=tmp_path))
    [(_, result)] = graded.checks
    assert not result.passed and "cannot read transform file" in result.reason
