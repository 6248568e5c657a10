"""The embedded llama.cpp provider, on the real built-in models (a few tokens per call)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import jsonschema  # type: ignore[import-untyped]
import pytest

import promptwork as pw
from promptwork.errors import ConfigError, ParamError, ProviderError
from promptwork.providers import local_models
from promptwork.providers.local import LocalProvider
from promptwork.providers.local_models import POOL, sha256_file, verify
from promptwork.providers.registry import create_provider
from promptwork.types import Message, Params, RenderedPrompt

pytestmark = pytest.mark.embedded

COUNT = RenderedPrompt.from_text("1, 2, 3, 4,")
CHAT = RenderedPrompt((Message("system", "Answer briefly."), Message("user", "Name a colour.")))
GREEDY = Params(temperature=0, max_tokens=8)


@pytest.fixture(scope="module")
def gemma() -> LocalProvider:
    provider = create_provider("local:gemma3-270m")
    assert isinstance(provider, LocalProvider)
    return provider


@pytest.fixture(scope="module")
def smollm2() -> LocalProvider:
    provider = create_provider("local:smollm2")
    assert isinstance(provider, LocalProvider)
    return provider


def test_greedy_is_deterministic(gemma: LocalProvider) -> None:
    first = gemma.complete_sync(COUNT, GREEDY)
    second = gemma.complete_sync(COUNT, GREEDY)
    assert first.text.strip()
    assert first.text == second.text
    assert first.provider == "local:gemma3-270m"
    assert first.cost == 0.0
    assert first.usage.prompt_tokens and first.usage.prompt_tokens > 0


async def test_async_and_sync_agree(gemma: LocalProvider) -> None:
    via_async = await gemma.complete(COUNT, GREEDY)
    assert via_async.text == gemma.complete_sync(COUNT, GREEDY).text


def test_public_api_on_default_model(gemma: LocalProvider) -> None:
    result = pw.complete("1, 2, 3, {{ n }},", {"n": 4}, temperature=0, max_tokens=8)
    assert result.provider == "local:gemma3-270m"
    assert result.text == gemma.complete_sync(COUNT, GREEDY).text


@pytest.mark.parametrize("n", [1, 3])
def test_max_tokens_respected(gemma: LocalProvider, n: int) -> None:
    result = gemma.complete_sync(COUNT, Params(temperature=0, max_tokens=n))
    assert result.usage.completion_tokens is not None
    assert 1 <= result.usage.completion_tokens <= n
    assert result.finish_reason == "length"


def test_stop_sequence_respected(gemma: LocalProvider) -> None:
    full = gemma.complete_sync(COUNT, Params(temperature=0, max_tokens=12)).text
    stop = full.strip()[2:5]  # a piece from the middle of the greedy answer
    assert stop and stop in full
    cut = gemma.complete_sync(COUNT, Params(temperature=0, max_tokens=12, stop=(stop,)))
    assert cut.text == full[: full.index(stop)]
    assert stop not in cut.text
    assert cut.finish_reason == "stop"


def test_chat_prompt_on_base_model_is_plain_text(gemma: LocalProvider) -> None:
    assert gemma.mode == "completion"
    text = gemma.prompt_text(CHAT)
    assert text == "System: Answer briefly.\n\nUser: Name a colour.\n\nAssistant:"
    assert "<start_of_turn>" not in text
    result = gemma.complete_sync(CHAT, Params(temperature=0, max_tokens=4))
    assert result.usage.completion_tokens and result.usage.completion_tokens <= 4


def test_plain_prompt_on_base_model_is_sent_as_is(gemma: LocalProvider) -> None:
    assert gemma.prompt_text(COUNT) == "1, 2, 3, 4,"


def test_smollm2_uses_its_chat_template(smollm2: LocalProvider) -> None:
    assert smollm2.mode == "chat"
    text = smollm2.prompt_text(CHAT)
    assert "<|im_start|>system\nAnswer briefly.<|im_end|>" in text
    assert "<|im_start|>user\nName a colour.<|im_end|>" in text
    assert text.rstrip().endswith("<|im_start|>assistant")
    result = smollm2.complete_sync(CHAT, Params(temperature=0, max_tokens=6))
    assert result.text.strip()
    assert "<|im_end|>" not in result.text and "<|im_start|>" not in result.text


def test_gguf_path_infers_chat_mode(smollm2: LocalProvider) -> None:
    provider = create_provider(f"local:{smollm2.path}")
    assert isinstance(provider, LocalProvider)
    assert provider.model is smollm2.model  # same file and settings: loaded once
    assert provider.mode == "chat"
    assert provider.cache_identity()["sha256"] is None
    forced = create_provider(f"local:{smollm2.path}", {"mode": "completion"})
    assert isinstance(forced, LocalProvider)
    assert forced.prompt_text(CHAT).endswith("Assistant:")


def test_logprobs(gemma: LocalProvider) -> None:
    result = gemma.complete_sync(COUNT, Params(temperature=0, max_tokens=6, logprobs=True))
    assert result.logprobs is not None
    assert len(result.logprobs) == result.usage.completion_tokens == 6
    assert "".join(t.token for t in result.logprobs) == result.text
    for item in result.logprobs:
        assert math.isfinite(item.logprob)
        assert item.logprob <= 0
    # Recording logprobs does not change the answer.
    assert result.text == gemma.complete_sync(COUNT, Params(temperature=0, max_tokens=6)).text


def test_logprobs_are_cut_at_the_stop_sequence(gemma: LocalProvider) -> None:
    full = gemma.complete_sync(COUNT, Params(temperature=0, max_tokens=12)).text
    stop = full.strip()[2:5]
    result = gemma.complete_sync(
        COUNT, Params(temperature=0, max_tokens=12, stop=(stop,), logprobs=True)
    )
    assert result.logprobs is not None
    assert "".join(t.token for t in result.logprobs) == result.text


def test_no_logprobs_unless_asked(gemma: LocalProvider) -> None:
    assert gemma.complete_sync(COUNT, Params(temperature=0, max_tokens=2)).logprobs is None


SCHEMA = {
    "type": "object",
    "properties": {"answer": {"type": "string"}},
    "required": ["answer"],
}


def test_response_schema_gives_valid_json(gemma: LocalProvider) -> None:
    # A prompt this small model closes within budget (greedy text can also run on inside a string).
    prompt = RenderedPrompt.from_text("Answer in JSON. What is 2+2?")
    result = gemma.complete_sync(
        prompt, Params(temperature=0, max_tokens=30, response_schema=SCHEMA)
    )
    assert result.finish_reason == "stop"
    data = json.loads(result.text)
    jsonschema.validate(data, SCHEMA)


async def test_streaming_pieces_join_to_the_text(gemma: LocalProvider) -> None:
    pieces: list[str] = []
    result = await gemma.stream_complete(COUNT, GREEDY, pieces.append)
    assert len(pieces) > 1
    assert "".join(pieces) == result.text
    assert result.text == gemma.complete_sync(COUNT, GREEDY).text
    assert result.usage.completion_tokens and result.usage.completion_tokens <= 8
    assert result.usage.prompt_tokens == gemma.complete_sync(COUNT, GREEDY).usage.prompt_tokens


async def test_streaming_through_the_api(smollm2: LocalProvider) -> None:
    pieces: list[str] = []
    result = await pw.acomplete(
        "Name a colour.", model=smollm2, on_text=pieces.append, temperature=0, max_tokens=5
    )
    assert "".join(pieces) == result.text
    assert "<|im_end|>" not in result.text


def test_prompt_longer_than_context_is_a_provider_error(gemma: LocalProvider) -> None:
    long = RenderedPrompt.from_text("word " * 2100)
    with pytest.raises(ProviderError) as info:
        gemma.complete_sync(long, Params(max_tokens=2))
    assert info.value.kind == "context_length"
    assert not info.value.retryable
    # The model still works afterwards.
    assert gemma.complete_sync(COUNT, GREEDY).text


def test_context_below_llama_cpp_minimum_is_refused() -> None:
    with pytest.raises(ConfigError, match="n_ctx must be at least 256"):
        create_provider("local:gemma3-270m", {"n_ctx": 64})


def test_small_context_overflow_is_a_provider_error() -> None:
    small = create_provider("local:gemma3-270m", {"n_ctx": 256})
    assert isinstance(small, LocalProvider)
    with pytest.raises(ProviderError) as info:
        small.complete_sync(RenderedPrompt.from_text("word " * 300), Params(max_tokens=2))
    assert info.value.kind in ("context_length", "bad_request")
    assert small.complete_sync(COUNT, Params(temperature=0, max_tokens=2)).text


async def test_context_overflow_async(gemma: LocalProvider) -> None:
    with pytest.raises(ProviderError):
        await gemma.complete(RenderedPrompt.from_text("word " * 2100), Params(max_tokens=2))
    results = await gemma.complete_batch(
        [(RenderedPrompt.from_text("word " * 2100), Params(max_tokens=2)), (COUNT, GREEDY)]
    )
    assert isinstance(results[0], ProviderError)
    assert not isinstance(results[1], ProviderError) and results[1].text


def test_model_is_loaded_once(gemma: LocalProvider) -> None:
    other = LocalProvider("local:gemma3-270m", "gemma3-270m")
    assert other.path == gemma.path
    assert other.model is gemma.model
    assert POOL.get(gemma.path, gemma.settings) is gemma.model
    assert sum(1 for m in POOL.loaded() if m.path == gemma.path
               and m.settings == gemma.settings) == 1


def test_different_settings_load_separately(gemma: LocalProvider) -> None:
    small = LocalProvider("local:gemma3-270m", "gemma3-270m", {"n_ctx": 256})
    assert small.model is not gemma.model
    assert small.model is LocalProvider("x", "gemma3-270m", {"n_ctx": 256}).model


def test_describe_and_cache_identity(gemma: LocalProvider) -> None:
    identity = gemma.cache_identity()
    assert identity["model"] == "gemma3-270m"
    assert identity["sha256"] == local_models.BUILTIN_MODELS["gemma3-270m"].sha256
    assert identity["mode"] == "completion"
    described = gemma.describe()
    assert described["path"] == str(gemma.path)
    assert described["n_ctx"] == 2048


def test_builtin_file_matches_pinned_sha256(smollm2: LocalProvider) -> None:
    spec = local_models.BUILTIN_MODELS["smollm2"]
    assert sha256_file(smollm2.path) == spec.sha256


def test_verify_detects_a_wrong_digest(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PROMPTWORK_CACHE_DIR")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    model = tmp_path / "model.gguf"
    model.write_bytes(b"GGUF not really a model")
    good = sha256_file(model)
    with pytest.raises(ConfigError) as info:
        verify(model, "0" * 64)
    assert good in str(info.value) and "0" * 64 in str(info.value)
    assert "reinstall" in str(info.value)
    assert not (tmp_path / "cache" / "promptwork" / "verified-models.json").exists()

    verify(model, good)  # passes, and remembers it
    stamp = tmp_path / "cache" / "promptwork" / "verified-models.json"
    assert list(json.loads(stamp.read_text()).values()) == [good]

    model.write_bytes(b"GGUF replaced by something else")  # the stamp no longer applies
    with pytest.raises(ConfigError, match="sha256"):
        verify(model, good)


def test_verify_trusts_its_stamp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PROMPTWORK_CACHE_DIR")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    model = tmp_path / "m.gguf"
    model.write_bytes(b"abc")
    digest = sha256_file(model)
    verify(model, digest)

    def no_hashing(path: Path) -> str:
        raise AssertionError("re-hashed a stamped file")

    monkeypatch.setattr(local_models, "sha256_file", no_hashing)
    verify(model, digest)  # the stamp matches: no hashing
    with pytest.raises(AssertionError, match="re-hashed"):
        verify(model, "f" * 64)  # a different expectation is checked for real


def test_unknown_local_model() -> None:
    with pytest.raises(ConfigError) as info:
        create_provider("local:gemma-9000")
    message = str(info.value)
    assert "'gemma-9000'" in message
    assert "gemma3-270m" in message and "smollm2" in message
    assert ".gguf" in message


def test_default_local_model_is_gemma() -> None:
    provider = create_provider("local")
    assert isinstance(provider, LocalProvider)
    assert provider.cache_identity()["model"] == "gemma3-270m"


def test_unknown_config_option_rejected() -> None:
    with pytest.raises(ConfigError) as info:
        create_provider("local:gemma3-270m", {"n_gpu_layers": 1})
    assert "unknown option(s) for local:gemma3-270m: n_gpu_layers" in str(info.value)
    assert "n_ctx" in str(info.value)  # lists the allowed ones


def test_generation_keys_in_config_are_the_models_default_params() -> None:
    provider = create_provider("local:gemma3-270m",
                               {"temperature": 0, "max_tokens": 8, "topK": 4, "n_ctx": 512})
    assert provider.config_params.given() == {"temperature": 0.0, "max_tokens": 8, "top_k": 4}
    assert isinstance(provider, LocalProvider)
    assert provider.settings["n_ctx"] == 512  # the options still reach the model
    with pytest.raises(ParamError) as info:  # what it cannot honour: refused by name at once
        create_provider("local:gemma3-270m", {"tools": [{"type": "function"}]})
    assert "tools" in str(info.value)


def test_bad_mode_rejected() -> None:
    with pytest.raises(ConfigError, match="mode must be 'chat' or 'completion'"):
        create_provider("local:smollm2", {"mode": "instruct"})
