"""promptfoo's ``options.storeOutputAs``: a test's output becomes a var of the tests after it.

::

    tests:
      - vars: {message: "Hi, I'm Ada"}
        options: {storeOutputAs: first_reply}
      - vars: {message: "What did you just say? You said: {{ first_reply }}"}

The runner ends its window of tests right after a test with ``storeOutputAs`` (see
:func:`windows`), so every later test starts once that test's answers are stored. The stored
value is kept per column (prompt x model): each column's later tests see that column's own
answer (promptwork's choice where promptfoo keeps one value for the whole run), which makes a
multi-turn chain per model. With ``repeat``, the first repeat's answer is kept. A test's own var
of the same name wins over a stored one; a var written in the suite that uses a stored name
(``{{ first_reply }}``) is rendered once the value is known (:attr:`TestCase.deferred`); values
from data files, and text a var got when rendered at load, stay literal. An error cell stores
nothing (the later tests then see the var as written). On ``--resume`` the answers are read
back from the store, so a resumed run sees the same values.
"""

from __future__ import annotations

import contextlib
import dataclasses
import itertools
from collections.abc import Iterable, Iterator, Mapping
from typing import Any, Protocol

from promptwork.cases import TestCase
from promptwork.datasets.parse import Where
from promptwork.datasets.varrefs import has_template, render_refs
from promptwork.errors import ConfigError
from promptwork.templates import TemplateEngine


class _Rows(Protocol):
    def test_results(self, run_id: str, tests: list[int]) -> Iterable[Mapping[str, Any]]: ...


def store_as(test: TestCase) -> str | None:
    """The var name a test stores its output under, if any."""
    name = test.options.get("storeOutputAs")
    return name if isinstance(name, str) and name else None


def windows(tests: Iterator[TestCase], size: int) -> Iterator[list[TestCase]]:
    """Windows of at most ``size`` tests; one ends right after each test with
    ``storeOutputAs``, so that the tests after it wait for its answers."""
    window: list[TestCase] = []
    for test in tests:
        window.append(test)
        if len(window) >= size or store_as(test) is not None:
            yield window
            window = []
    if window:
        yield window


def with_names(variables: Mapping[str, Any], names: Iterable[str]) -> Mapping[str, Any]:
    """``variables`` plus placeholders for stored names (to check a prompt's variables)."""
    extra = {name: "" for name in names if name not in variables}
    return {**extra, **variables} if extra else variables


class StoredOutputs:
    """The values stored by ``storeOutputAs`` so far in one run, per column."""

    def __init__(self, engine: TemplateEngine | None = None) -> None:
        self._values: dict[tuple[int, int], dict[str, Any]] = {}
        self._engine = engine or TemplateEngine()

    def test_for(self, prompt: int, provider: int, test: TestCase) -> TestCase:
        """``test`` with the column's stored values under its own vars, and its vars that use
        them (left as written at load) rendered now."""
        stored = self._values.get((prompt, provider))
        if not stored:
            return test
        variables = {**stored, **test.vars}
        # Only the vars left as written at load for a stored name: every other value is
        # rendered already or is data (from a file), and is never rendered (again) here.
        waiting = [name for name in test.deferred if has_template(test.vars.get(name))]
        if waiting:
            where = Where(test.source or "suite", None, f"tests[{test.index}]")
            # A var that cannot be rendered stays as written.
            with contextlib.suppress(ConfigError):
                variables = render_refs(variables, waiting, self._engine, lambda _: where)
        return dataclasses.replace(test, vars=variables)

    def remember(self, rows: _Rows, run_id: str, window: list[TestCase]) -> None:
        """Store the answers of the window's ``storeOutputAs`` tests (read from the store, so
        that cells answered before a resume count too). An error cell stores nothing."""
        names = {t.index: name for t in window if (name := store_as(t)) is not None}
        if not names:
            return
        found = sorted(rows.test_results(run_id, list(names)),
                       key=lambda r: (r["prompt_idx"], r["provider_idx"], r["test_idx"],
                                      r["repeat_idx"]))
        for (column, test_idx), group in itertools.groupby(
                found, key=lambda r: ((r["prompt_idx"], r["provider_idx"]), r["test_idx"])):
            first = next(iter(group))
            if first.get("error") is None and first.get("output") is not None:
                self._values.setdefault(column, {})[names[test_idx]] = first["output"]
