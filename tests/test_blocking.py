"""``run_blocking``: the synchronous API's way onto the event loop."""

from __future__ import annotations

import warnings

import pytest

from promptwork.blocking import run_blocking
from promptwork.errors import PromptworkError


async def _answer() -> int:
    return 42


def test_runs_the_coroutine_to_its_result() -> None:
    assert run_blocking(_answer(), "complete") == 42


async def test_inside_a_running_loop_it_refuses_and_names_the_async_twin() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # an un-awaited coroutine would warn
        with pytest.raises(PromptworkError, match=r"optimize\(\) was called inside an event "
                                                  r"loop; use 'await aoptimize\(\)'"):
            run_blocking(_answer(), "optimize")
