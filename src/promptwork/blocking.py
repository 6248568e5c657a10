"""Running the async API from synchronous code (``complete``, ``evaluate``, ``optimize``)."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any, TypeVar

from promptwork.errors import PromptworkError

T = TypeVar("T")


def run_blocking(coro: Coroutine[Any, Any, T], name: str) -> T:
    """Run ``coro`` to the end on a new event loop; refuse inside a running one.

    Args:
        coro: The async twin's coroutine.
        name: The synchronous function's name, for the error (its twin is ``a`` + name).

    Raises:
        PromptworkError: Called from a running event loop, where ``asyncio.run`` cannot work.
    """
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coro)
    coro.close()  # never awaited: close it so Python does not warn about it
    raise PromptworkError(f"{name}() was called inside an event loop; use 'await a{name}()'")
