"""``file://provider.py`` gets the cell's vars as ``context["vars"]`` (promptfoo's contract), and
those vars are part of its cache key (the answer may depend on a var the prompt does not show)."""

from __future__ import annotations

import textwrap
from pathlib import Path

import promptwork as pw
from evalkit import write_suite
from promptwork.calls import cache_key
from promptwork.providers.python_file import PythonFileProvider
from promptwork.providers.registry import create_provider
from promptwork.runner import RunConfig
from promptwork.types import Params, RenderedPrompt

PROVIDER = textwrap.dedent("""\
    def call_api(prompt, options, context):
        v = context["vars"]
        return {"output": f"{prompt}|{v.get('hidden')}|{sorted(v)}"}
    """)


def test_a_suites_cells_hand_their_vars_to_the_provider(tmp_path: Path) -> None:
    (tmp_path / "provider.py").write_text(PROVIDER)
    write_suite(tmp_path, {
        "prompts": ["Q: {{ q }}"], "providers": ["file://provider.py"],
        # Same prompt text, different hidden var: a cache keyed on the prompt alone would
        # answer the second test from the first one's call.
        "tests": [{"vars": {"q": "x", "hidden": "one"}}, {"vars": {"q": "x", "hidden": "two"}}]})
    for _ in range(2):  # the second run is answered from the cache, each test its own answer
        run = pw.evaluate(tmp_path, config=RunConfig(use_cache=True))
        rows = {r["test_idx"]: r["output"] for r in run.rows()}
        assert rows == {0: "Q: x|one|['hidden', 'q']", 1: "Q: x|two|['hidden', 'q']"}


def test_vars_enter_the_cache_key_only_of_providers_that_read_them(tmp_path: Path) -> None:
    (tmp_path / "provider.py").write_text(PROVIDER)
    python = create_provider(f"file://{tmp_path / 'provider.py'}")
    assert isinstance(python, PythonFileProvider)
    echo = create_provider("echo")
    a = RenderedPrompt.from_text("hi")
    b, c = (RenderedPrompt(a.messages, a.plain, vars={"k": v}) for v in (1, 2))
    assert cache_key(python, b, Params()) != cache_key(python, c, Params())
    assert cache_key(echo, b, Params()) == cache_key(echo, c, Params()) == cache_key(
        echo, a, Params())
