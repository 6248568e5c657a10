"""The short Python API (``complete``, ``acomplete``, ``prepare``) on the fake providers."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

import promptwork as pw
import promptwork.api as api
from promptwork.errors import MissingVariableError, ParamError, PromptworkError
from promptwork.providers.base import COMMON_PARAMS
from promptwork.providers.echo import EchoProvider
from promptwork.providers.local_models import DEFAULT_MODEL
from promptwork.providers.scripted import ScriptedProvider
from promptwork.types import Completion, Message, Params, RenderedPrompt

REPLY = """\
---
name: reply
model: scripted
params: {temperature: 0.2, max_tokens: 50}
inputs:
  tone: {type: string, default: warm}
---
system:
You answer in a {{ tone }} tone.

user:
{{ customer }} asks: {{ question }}
"""


@pytest.fixture
def reply_prompt(tmp_path: Path) -> Path:
    path = tmp_path / "reply.prompt"
    path.write_text(REPLY, encoding="utf-8")
    return path


@pytest.fixture
def created(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Record the model ids the API asks the registry for; every one becomes an echo provider."""
    ids: list[str] = []

    def fake_create(model_id: str, config: Any = None, label: Any = None) -> EchoProvider:
        ids.append(model_id)
        return EchoProvider(model_id)

    monkeypatch.setattr(api, "create_provider", fake_create)
    return ids


def test_vars_are_rendered() -> None:
    result = pw.complete("Translate to French: {{ text }}", vars={"text": "cheese"}, model="echo")
    assert result.text == "Translate to French: cheese"
    assert result.provider == "echo"


def test_values_are_inserted_literally() -> None:
    result = pw.complete("Say {{ x }}", vars={"x": "{{ 7*7 }}"}, model="echo")
    assert result.text == "Say {{ 7*7 }}"


def test_chat_prompt_file_through_echo(reply_prompt: Path) -> None:
    result = pw.complete(
        str(reply_prompt), vars={"customer": "Ada", "question": "Where is my kettle?"}, model="echo"
    )
    assert '"role": "system"' in result.text
    assert "You answer in a warm tone." in result.text
    assert "Ada asks: Where is my kettle?" in result.text


def test_explicit_model_wins_over_front_matter(reply_prompt: Path, created: list[str]) -> None:
    vars = {"customer": "Ada", "question": "q"}
    result = pw.complete(str(reply_prompt), vars=vars, model="echo")
    assert created == ["echo"]
    assert result.provider == "echo"


def test_front_matter_model_wins_over_default(reply_prompt: Path, created: list[str]) -> None:
    pw.complete(str(reply_prompt), vars={"customer": "Ada", "question": "q"})
    assert created == ["scripted"]


def test_default_model_without_front_matter(created: list[str]) -> None:
    pw.complete("Hello")
    assert created == [DEFAULT_MODEL] == ["local:gemma3-270m"]


def test_default_model_is_the_embedded_gemma() -> None:
    # prepare() builds the provider (resolving the model file) but never loads or calls it.
    call = pw.prepare("Hello")
    assert call.provider.id == "local:gemma3-270m"


def test_front_matter_model_really_used(reply_prompt: Path) -> None:
    result = pw.complete(str(reply_prompt), vars={"customer": "Ada", "question": "q"})
    assert result.provider == "scripted"
    assert result.text == "ok"


def test_params_merge_kwargs_override_front_matter(reply_prompt: Path) -> None:
    scripted = ScriptedProvider(["fine"])
    pw.complete(
        str(reply_prompt), vars={"customer": "Ada", "question": "q"}, model=scripted,
        max_tokens=5, seed=7,
    )
    (_, params), = scripted.calls
    assert params.given() == {"temperature": 0.2, "max_tokens": 5, "seed": 7}


def test_prepare_merges_params_too(reply_prompt: Path) -> None:
    call = pw.prepare(
        str(reply_prompt), {"customer": "Ada", "question": "q"}, "echo",
        params={"temperature": 0.9},
    )
    assert call.params == Params(temperature=0.9, max_tokens=50)


def test_unknown_param_rejected_before_any_call() -> None:
    scripted = ScriptedProvider(["never"])
    with pytest.raises(ParamError, match="unknown parameter") as info:
        pw.complete("Hi", model=scripted, temprature=0.5)
    assert "temprature" in str(info.value)
    assert "temperature" in str(info.value)  # the allowed ones are listed
    assert scripted.calls == []


def test_bad_param_value_rejected_before_any_call() -> None:
    scripted = ScriptedProvider(["never"])
    with pytest.raises(ParamError, match="temperature"):
        pw.complete("Hi", model=scripted, temperature=5)
    assert scripted.calls == []


class _PlainScripted(ScriptedProvider):
    """A provider that supports only the common parameters."""

    supported_params = COMMON_PARAMS


def test_unsupported_param_for_this_provider() -> None:
    limited = _PlainScripted(["never"], id="limited:model")
    with pytest.raises(ParamError) as info:
        pw.complete("Hi", model=limited, logprobs=True)
    message = str(info.value)
    assert "limited:model" in message
    assert "logprobs" in message
    assert "max_tokens" in message  # names what it does support
    assert limited.calls == []
    # The same parameter is fine on a provider that supports it.
    assert pw.complete("Hi", model="echo", logprobs=True).text == "Hi"


def test_unsupported_param_from_front_matter(tmp_path: Path) -> None:
    path = tmp_path / "p.prompt"
    path.write_text("---\nparams: {presence_penalty: 0.5}\n---\nHi\n", encoding="utf-8")
    limited = _PlainScripted(["never"])
    with pytest.raises(ParamError, match="presence_penalty"):
        pw.complete(str(path), model=limited)
    assert limited.calls == []


def test_missing_variable_before_any_call(reply_prompt: Path) -> None:
    scripted = ScriptedProvider(["never"])
    with pytest.raises(MissingVariableError) as info:
        pw.complete(str(reply_prompt), vars={"customer": "Ada"}, model=scripted)
    assert info.value.names == ["question"]
    assert str(reply_prompt) in str(info.value)
    assert scripted.calls == []


def test_missing_variables_inline() -> None:
    with pytest.raises(MissingVariableError, match="missing variables: a, b"):
        pw.complete("{{ b }} and {{ a }}", model="echo")


async def test_complete_inside_running_loop_is_a_clear_error() -> None:
    scripted = ScriptedProvider(["never"])
    with pytest.raises(PromptworkError, match="acomplete"):
        pw.complete("Hi", model=scripted)
    assert scripted.calls == []


async def test_acomplete() -> None:
    scripted = ScriptedProvider(["one", "two"])
    first = await pw.acomplete("Q {{ n }}", {"n": 1}, scripted)
    second = await pw.acomplete("Q {{ n }}", {"n": 2}, scripted, temperature=0)
    assert (first.text, second.text) == ("one", "two")
    assert [p.as_text() for p, _ in scripted.calls] == ["Q 1", "Q 2"]
    assert scripted.calls[1][1].temperature == 0


class _Gate(ScriptedProvider):
    """Answers only once ``n`` calls are in flight at the same time: one call at a time would
    wait for the others until the timeout and fail."""

    def __init__(self, n: int):
        super().__init__(["x"])
        self.n, self.started = n, 0
        self.all_in = asyncio.Event()

    async def complete(self, prompt: RenderedPrompt, params: Params) -> Completion:
        self.started += 1
        if self.started == self.n:
            self.all_in.set()
        await asyncio.wait_for(self.all_in.wait(), 30)
        return await super().complete(prompt, params)


async def test_acomplete_runs_concurrently() -> None:
    gate = _Gate(5)
    results = await asyncio.gather(*(pw.acomplete("Hi", model=gate) for _ in range(5)))
    assert [r.text for r in results] == ["x"] * 5
    assert gate.started == 5


def test_on_text_receives_the_text() -> None:
    pieces: list[str] = []
    result = pw.complete("Hello {{ who }}", {"who": "you"}, "echo", on_text=pieces.append)
    assert "".join(pieces) == result.text == "Hello you"


async def test_acomplete_on_text() -> None:
    pieces: list[str] = []
    scripted = ScriptedProvider(["streamed answer"])
    result = await pw.acomplete("Hi", model=scripted, on_text=pieces.append)
    assert "".join(pieces) == result.text == "streamed answer"


def test_prepare_returns_the_rendered_prompt(reply_prompt: Path) -> None:
    call = pw.prepare(str(reply_prompt), {"customer": "Ada", "question": "Why?"}, "echo")
    assert call.prompt.messages == (
        Message("system", "You answer in a warm tone."),
        Message("user", "Ada asks: Why?"),
    )
    assert call.prompt.plain is False
    assert call.provider.id == "echo"
    assert call.template.meta.name == "reply"


def test_prepare_plain_text() -> None:
    call = pw.prepare("Say {{ w }}", {"w": "hi"}, "echo")
    assert call.prompt.plain
    assert call.prompt.as_text() == "Say hi"
    assert call.params == Params()


def test_prepare_accepts_a_template_and_provider_config() -> None:
    template = pw.load_prompt("Q: {{ q }}")
    call = pw.prepare(template, {"q": "x"}, "scripted", provider_config={"responses": ["A"]})
    assert call.template is template
    assert pw.complete(template, {"q": "x"}, call.provider).text == "A"


def test_relative_prompt_path_with_base_dir(reply_prompt: Path) -> None:
    result = pw.complete(
        "reply.prompt", {"customer": "Ada", "question": "q"}, "echo", base_dir=reply_prompt.parent
    )
    assert "Ada asks: q" in result.text
