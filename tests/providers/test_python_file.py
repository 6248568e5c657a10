"""Custom Python providers (``file://provider.py[:fn]``, promptfoo's ``call_api`` contract)."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest

import promptwork as pw
from evalkit import write_suite
from promptwork.errors import ConfigError, ProviderError
from promptwork.providers.python_file import (
    PythonFileProvider,
    resolve_reference,
    split_reference,
)
from promptwork.providers.registry import create_provider
from promptwork.runner import RunConfig
from promptwork.suite import load_suite
from promptwork.types import Message, Params, RenderedPrompt

PROVIDER = textwrap.dedent("""\
    import asyncio

    def call_api(prompt, options, context):
        config = options["config"]
        if prompt == "fail":
            return {"error": "the backend said no"}
        if prompt == "raise":
            raise RuntimeError("kaboom")
        if prompt == "nothing":
            return "just text"
        if prompt == "data":
            return {"output": {"answer": 42}}
        return {
            "output": config.get("prefix", "") + prompt.upper(),
            "tokenUsage": {"prompt": 3, "completion": 2, "total": 5},
            "cost": 0.25,
        }

    async def shout(prompt, options, context):
        await asyncio.sleep(0)
        return {"output": f"{options['id']}|{context['prompt']['raw']}|{options['config']}"}
    """)


@pytest.fixture
def provider_file(tmp_path: Path) -> Path:
    path = tmp_path / "provider.py"
    path.write_text(PROVIDER)
    return path


async def test_call_api_output_usage_cost_and_config(provider_file: Path) -> None:
    provider = create_provider(f"file://{provider_file}", {"prefix": "> "})
    assert isinstance(provider, PythonFileProvider)
    completion = await provider.complete(RenderedPrompt.from_text("hello"), Params())
    assert completion.text == "> HELLO"
    assert (completion.usage.prompt_tokens, completion.usage.completion_tokens) == (3, 2)
    assert completion.cost == 0.25
    data = await provider.complete(RenderedPrompt.from_text("data"), Params())
    assert json.loads(data.text) == {"answer": 42}


async def test_named_async_function_gets_chat_json_and_params(provider_file: Path) -> None:
    provider = create_provider(f"file://{provider_file}:shout", {"k": 1}, label="mine")
    chat = RenderedPrompt((Message("system", "S"), Message("user", "U")))
    completion = await provider.complete(chat, Params(temperature=0.5))
    label, raw, config = completion.text.split("|")
    assert label == "mine"
    assert json.loads(raw) == chat.to_list()
    assert config == str({"k": 1, "temperature": 0.5})


@pytest.mark.parametrize(("prompt", "kind", "words"), [
    ("fail", "other", "the backend said no"),
    ("raise", "other", "RuntimeError: kaboom"),
    ("nothing", "invalid_response", "must return a dict"),
])
async def test_errors_are_provider_errors_not_answers(
    provider_file: Path, prompt: str, kind: str, words: str
) -> None:
    provider = create_provider(f"file://{provider_file}")
    with pytest.raises(ProviderError) as info:
        await provider.complete(RenderedPrompt.from_text(prompt), Params())
    assert info.value.kind == kind and words in info.value.message


def test_load_errors_are_config_errors(tmp_path: Path, provider_file: Path) -> None:
    with pytest.raises(ConfigError, match="defines no function 'missing'; functions: call_api"):
        create_provider(f"file://{provider_file}:missing")
    broken = tmp_path / "broken.py"
    broken.write_text("x = 1\ndef call_api(:\n")
    with pytest.raises(ConfigError, match=r"broken.py:2 failed to load: SyntaxError"):
        create_provider(f"file://{broken}")
    with pytest.raises(ConfigError, match="not found"):
        create_provider(f"file://{tmp_path / 'nope.py'}")
    with pytest.raises(ConfigError, match="must be Python files"):
        create_provider("file://provider.js")


def test_cache_identity_follows_the_file_content(provider_file: Path) -> None:
    before = create_provider(f"file://{provider_file}").cache_identity()
    provider_file.write_text(PROVIDER + "\n# edited\n")
    after = create_provider(f"file://{provider_file}").cache_identity()
    assert before["sha256"] != after["sha256"]
    assert str(provider_file.parent) not in json.dumps(after)  # the folder may move


def test_references_split_and_resolve_inside_the_suite_folder(tmp_path: Path) -> None:
    assert split_reference("file://a/p.py:fn") == ("a/p.py", "fn")
    assert split_reference("file://a/p.py") == ("a/p.py", "call_api")
    assert resolve_reference("file://p.py:fn", tmp_path) == f"file://{tmp_path.resolve()}/p.py:fn"
    with pytest.raises(ConfigError, match="outside the suite folder"):
        resolve_reference("file://../p.py", tmp_path)


def test_suite_resolves_against_its_folder_and_refuses_outside_paths(tmp_path: Path) -> None:
    folder = tmp_path / "suite"
    folder.mkdir()
    (folder / "provider.py").write_text(PROVIDER)
    (tmp_path / "outside.py").write_text(PROVIDER)
    suite = load_suite(write_suite(folder, {
        "prompts": ["{{ q }}"], "providers": ["file://provider.py"], "tests": [{}]}))
    entry = suite.providers[0]
    assert entry.id == f"file://{(folder / 'provider.py').resolve()}"
    assert entry.label == "file://provider.py"
    path = write_suite(folder, {"prompts": ["{{ q }}"], "tests": [{}], "providers": [
        "echo", {"id": "file://../outside.py", "label": "x"}]})
    with pytest.raises(ConfigError) as info:
        load_suite(path)
    entry_line = path.read_text().splitlines().index("- id: file://../outside.py") + 1
    assert "outside the suite folder" in str(info.value) and info.value.line == entry_line
    path = write_suite(folder, {"prompts": ["{{ q }}"], "tests": [{}],
                                "providers": ["file://provider.py:nope"]})
    with pytest.raises(ConfigError, match="defines no function 'nope'"):
        load_suite(path)


def test_a_returned_error_is_an_error_cell_in_a_run(tmp_path: Path) -> None:
    (tmp_path / "provider.py").write_text(PROVIDER)
    write_suite(tmp_path, {
        "prompts": ["{{ q }}"], "providers": ["file://provider.py"],
        "defaultTest": {"assert": [{"type": "contains", "value": "O"}]},
        "tests": [{"vars": {"q": "hello"}}, {"vars": {"q": "fail"}}]})
    run = pw.evaluate(tmp_path, config=RunConfig(use_cache=False))
    rows = {r["test_idx"]: r for r in run.rows()}
    assert rows[0]["output"] == "HELLO" and rows[0]["success"] is True
    assert rows[1]["output"] is None and rows[1]["grading"] is None
    assert "the backend said no" in rows[1]["error"]
    assert run.stats() == {"successes": 1, "failures": 0, "errors": 1}


@pytest.mark.parametrize("how", ["raise", "return"])
async def test_keys_in_a_providers_error_are_redacted(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, how: str
) -> None:
    # The user's code fails with a message quoting its key (an SDK echoing a header): neither
    # the planted key value nor a key-shaped string reaches the cell's error.
    planted = "groq-secret-value-0123456789"
    monkeypatch.setenv("GROQ_API_KEY", planted)
    path = tmp_path / "leaky.py"
    path.write_text(textwrap.dedent(f"""\
        import os

        def call_api(prompt, options, context):
            message = "401 for key " + os.environ["GROQ_API_KEY"] + " / sk-abcdefghijklmnop0123"
            if {how!r} == "raise":
                raise RuntimeError(message)
            return {{"error": message}}
        """))
    provider = create_provider(f"file://{path}")
    with pytest.raises(ProviderError) as info:
        await provider.complete(RenderedPrompt.from_text("hi"), Params())
    assert "401 for key" in info.value.message
    assert planted not in info.value.message and "sk-abcdefghijklmnop" not in info.value.message
