"""promptfoo's ``extensions``: Python hooks called at points of an evaluation run.

    extensions:
      - file://hooks.py:extension_hook

Each entry names a Python function (the ``:name`` is required, as in promptfoo) called as
``fn(hook_name, context)`` for every hook, in the order listed:

* ``beforeAll`` once the run is created, before any model call: ``{"suite": {...}}`` (the
  suite's description, prompt labels, provider ids and labels, number of tests and cells);
* ``beforeEach`` before each cell is asked (prompt x provider x test x repeat, as promptfoo's
  eval steps): ``{"test": {...}}`` (vars, description, options, its checks);
* ``afterEach`` after each cell is stored: ``{"test": {...}, "result": {...}}`` (success, score,
  output, error, latencyMs, cost, the prompt's and provider's labels);
* ``afterAll`` when the run ends (complete, interrupted or failed): ``{"suite": ..., "results":
  [...], "status": ...}`` with the results of the cells of this invocation (a resumed run's
  earlier cells are in the store).

Hooks observe: what they return is ignored, as in promptfoo's documented contract, so a run stays
resumable and comparable. A cell answered from the cache still gets its hooks. A hook that raises
stops the run with an error naming it (the run can be resumed). JavaScript extensions are refused
by name: in the embedded V8 a hook could not reach anything outside itself (no ``require``, no
``console``), so it could not do what hooks are for. The files are loaded (and so checked) when
the suite loads, confined to the suite folder like every ``file://``.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from promptwork.cases import CellResult, TestCase
from promptwork.errors import ConfigError
from promptwork.events import CellFinished, Event, RunFinished, RunStarted
from promptwork.userfunc import FunctionLoader, is_python_ref, split_ref
from promptwork.yamlfile import LineMap

__all__ = ["HOOKS", "KEY", "Extensions", "load_extensions"]

KEY = "extensions"
HOOKS = ("beforeAll", "beforeEach", "afterEach", "afterAll")


class Extensions:
    """The loaded hooks of one suite (see the module doc)."""

    #: Tests remembered between a cell's ``beforeEach`` and ``afterEach`` (the most recent).
    SEEN_MAX = 4096

    def __init__(self, hooks: list[tuple[str, Callable[..., Any]]], suite: Mapping[str, Any]):
        self.hooks = hooks
        self.suite = dict(suite)
        self._seen: OrderedDict[int, dict[str, Any]] = OrderedDict()

    def call(self, name: str, context: Mapping[str, Any]) -> None:
        """Call every hook with ``name``.

        Raises:
            ConfigError: A hook raised (naming it and the hook point).
        """
        for ref, fn in self.hooks:
            try:
                fn(name, dict(context))
            except Exception as exc:  # the user's own code
                raise ConfigError(f"extension {ref} raised {type(exc).__name__} in {name}: "
                                  f"{exc}") from None

    def before_each(self, test: TestCase) -> None:
        seen = test_dict(test)
        self._seen[test.index] = seen
        self._seen.move_to_end(test.index)
        if len(self._seen) > self.SEEN_MAX:
            self._seen.popitem(last=False)
        self.call("beforeEach", {"test": seen})

    def subscriber(self) -> Callable[[Event], None]:
        """An event subscriber that calls ``beforeAll``, ``afterEach`` and ``afterAll``."""
        results: list[dict[str, Any]] = []

        def on(event: Event) -> None:
            if isinstance(event, RunStarted):
                self.call("beforeAll", {"suite": {**self.suite, "runId": event.run_id,
                                                  "cells": event.total}})
            elif isinstance(event, CellFinished):
                result = result_dict(event.result, event.prompt_label, event.provider_label)
                results.append(result)
                test = self._seen.get(event.result.key.test) or {
                    "vars": dict(event.result.vars), "description": event.result.description}
                self.call("afterEach", {"test": test, "result": result})
            elif isinstance(event, RunFinished):
                self.call("afterAll", {"suite": self.suite, "results": list(results),
                                       "status": event.status})

        return on


def test_dict(test: TestCase) -> dict[str, Any]:
    """A test as hooks see it (promptfoo's TestCase keys)."""
    return {"vars": dict(test.vars), "description": test.description,
            "options": dict(test.options), "assert": [c.to_dict() for c in test.checks]}


def result_dict(cell: CellResult, prompt: str, provider: str) -> dict[str, Any]:
    """A cell's result as hooks see it (promptfoo's EvaluateResult keys)."""
    done = cell.completion
    return {
        "success": cell.error is None and cell.grade is not None and cell.grade.passed,
        "score": cell.grade.score if cell.grade is not None and cell.error is None else None,
        "output": done.text if done is not None else None,
        "error": cell.error, "vars": dict(cell.vars),
        "latencyMs": done.latency_ms if done is not None else None,
        "cost": done.cost if done is not None else None,
        "prompt": {"label": prompt}, "provider": {"label": provider},
        "testIdx": cell.key.test, "promptIdx": cell.key.prompt, "repeat": cell.key.repeat,
    }


def load_extensions(spec: Any, where: LineMap, base_dir: Path, allow_outside: bool,
                    suite: Mapping[str, Any]) -> Extensions | None:
    """The suite's ``extensions``, each function loaded (so checked) now.

    Raises:
        ConfigError: At the entry's line: not a list, a JavaScript file, no function name, a
            missing file or function, an import error.
    """
    if spec is None:
        return None
    if not isinstance(spec, list):
        raise where.error((KEY,), f"'{KEY}' must be a list of file://hooks.py:function")
    loader = FunctionLoader(base_dir, allow_outside)
    hooks: list[tuple[str, Callable[..., Any]]] = []
    for i, ref in enumerate(spec):
        key = (KEY, i)
        if not isinstance(ref, str) or not ref.startswith("file://"):
            raise where.error(key, "an extension is file://hooks.py:function_name")
        path, name = split_ref(ref, "")
        if path.lower().endswith((".js", ".cjs", ".mjs", ".ts")):
            raise where.error(key, "JavaScript extensions are not supported: the embedded V8 has "
                                   "no require or console, so a hook could not reach anything; "
                                   "write the hook in Python (file://hooks.py:function_name)")
        if not is_python_ref(ref):
            raise where.error(key, f"an extension must be a Python file, got {ref!r}")
        if not name:
            raise where.error(key, f"name the hook function, as in file://{path}:extension_hook")
        try:
            hooks.append((ref.removeprefix("file://"), loader.function(ref, "", "extension")))
        except ConfigError as exc:
            raise where.error(key, exc.message) from None
    return Extensions(hooks, suite) if hooks else None
