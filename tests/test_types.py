"""Core value types: messages, rendered prompts, parameters, completions."""

from __future__ import annotations

import dataclasses

import pytest

from promptwork.errors import ConfigError, ParamError
from promptwork.types import (
    PARAM_NAMES,
    ROLES,
    Capabilities,
    Completion,
    Message,
    Params,
    RenderedPrompt,
    TokenLogprob,
    Usage,
)

# --- messages and rendered prompts ----------------------------------------------------------


def test_message() -> None:
    message = Message("system", "Be brief.")
    assert message.to_dict() == {"role": "system", "content": "Be brief."}
    with pytest.raises(dataclasses.FrozenInstanceError):
        message.content = "x"  # type: ignore[misc]
    assert ROLES == ("system", "user", "assistant")


def test_plain_prompt_as_text_is_the_text() -> None:
    prompt = RenderedPrompt.from_text("Q: 2+2?\nA:")
    assert prompt.plain
    assert prompt.messages == (Message("user", "Q: 2+2?\nA:"),)
    assert prompt.as_text() == "Q: 2+2?\nA:"
    assert prompt.to_list() == [{"role": "user", "content": "Q: 2+2?\nA:"}]


def test_chat_prompt_as_text_ends_with_assistant_turn() -> None:
    prompt = RenderedPrompt((Message("system", "Be brief."), Message("user", "Hi")))
    assert not prompt.plain
    assert prompt.as_text() == "System: Be brief.\n\nUser: Hi\n\nAssistant:"


def test_chat_prompt_with_assistant_prefill_is_continued() -> None:
    prompt = RenderedPrompt((Message("user", "Hi"), Message("assistant", "Hello,")))
    assert prompt.as_text() == "User: Hi\n\nAssistant: Hello,"


def test_single_user_message_that_is_not_plain_uses_turns() -> None:
    assert RenderedPrompt((Message("user", "Hi"),)).as_text() == "User: Hi\n\nAssistant:"


def test_empty_prompt_as_text() -> None:
    assert RenderedPrompt(()).as_text() == "Assistant:"
    assert RenderedPrompt(()).to_list() == []


def test_rendered_prompts_compare_and_hash_by_value() -> None:
    a = RenderedPrompt.from_text("x")
    b = RenderedPrompt((Message("user", "x"),), plain=True)
    assert a == b
    assert hash(a) == hash(b)
    assert a != RenderedPrompt((Message("user", "x"),))


# --- params ---------------------------------------------------------------------------------


def test_params_parse_and_given() -> None:
    params = Params.parse(
        {"temperature": 0.2, "max_tokens": 50, "stop": ["\n\n", "END"], "seed": 7}
    )
    assert params.temperature == 0.2
    assert params.stop == ("\n\n", "END")
    assert params.top_p is None
    assert params.given() == {"temperature": 0.2, "max_tokens": 50, "stop": ["\n\n", "END"],
                              "seed": 7}
    assert Params.parse(None).given() == {}
    assert Params.parse({}).given() == {}
    assert Params().given() == {}


def test_stop_as_a_string() -> None:
    assert Params.parse({"stop": "END"}).stop == ("END",)


def test_params_names() -> None:
    assert tuple(Params.model_fields) == PARAM_NAMES
    assert {"temperature", "top_p", "max_tokens", "stop", "seed", "response_schema"} <= set(
        PARAM_NAMES
    )


def test_unknown_parameter_names_the_allowed_ones() -> None:
    with pytest.raises(ParamError) as info:
        Params.parse({"tempreature": 0.5})
    message = str(info.value)
    assert "unknown parameter 'tempreature' (did you mean 'temperature'?)" in message
    assert "allowed: " + ", ".join(PARAM_NAMES) in message
    assert isinstance(info.value, ConfigError)


def test_several_unknown_parameters() -> None:
    with pytest.raises(ParamError) as info:
        Params.parse({"zzz": 1, "max_token": 5, "temperature": 1})
    assert "unknown parameters 'max_token' (did you mean 'max_tokens'?), 'zzz';" in str(info.value)


def test_where_prefixes_the_message() -> None:
    with pytest.raises(ParamError) as info:
        Params.parse({"nope": 1}, where="suite.yaml prompts[0]")
    assert str(info.value).startswith("suite.yaml prompts[0]: unknown parameter")


@pytest.mark.parametrize(
    ("values", "fragment"),
    [
        ({"temperature": 3}, "temperature"),
        ({"temperature": -0.1}, "temperature"),
        ({"top_p": 0}, "top_p"),
        ({"max_tokens": 0}, "max_tokens"),
        ({"max_tokens": 1.5}, "max_tokens"),
        ({"max_tokens": "many"}, "max_tokens"),
        ({"frequency_penalty": 2.5}, "frequency_penalty"),
        ({"presence_penalty": -3}, "presence_penalty"),
        ({"stop": ["a", 1]}, "stop.1"),
        ({"stop": 5}, "stop"),
        ({"seed": "x"}, "seed"),
        ({"response_schema": "schema"}, "response_schema"),
        ({"temperature": True}, "boolean"),
        ({"max_tokens": False}, "boolean"),
        ({"seed": True}, "boolean"),
        ({"temperature": float("nan")}, "temperature"),
    ],
)
def test_bad_parameter_values(values: dict[str, object], fragment: str) -> None:
    with pytest.raises(ParamError) as info:
        Params.parse(values)
    assert str(info.value).startswith("bad parameter value: ")
    assert fragment in str(info.value)


def test_parameters_must_be_a_mapping() -> None:
    with pytest.raises(ParamError) as info:
        Params.parse([("temperature", 1)])  # type: ignore[arg-type]
    assert "mapping" in str(info.value)


def test_numeric_strings_are_accepted() -> None:
    # Values from the command line arrive as text.
    assert Params.parse({"temperature": "0.5", "max_tokens": "10"}).given() == {
        "temperature": 0.5,
        "max_tokens": 10,
    }


def test_params_are_frozen_and_hashable() -> None:
    params = Params.parse({"temperature": 1, "response_schema": {"type": "object"}})
    with pytest.raises(ValueError, match="frozen"):
        params.temperature = 0.5
    same = Params.parse({"response_schema": {"type": "object"}, "temperature": 1.0})
    assert params == same
    assert hash(params) == hash(same)
    assert len({params, same, Params()}) == 2


def test_merged_overrides_set_values_only() -> None:
    base = Params.parse({"temperature": 0.2, "max_tokens": 100, "stop": "END"})
    merged = base.merged({"max_tokens": 20, "seed": 1})
    assert merged.given() == {"temperature": 0.2, "max_tokens": 20, "stop": ["END"], "seed": 1}
    assert base.merged(Params.parse({"temperature": 1})).temperature == 1.0
    assert base.merged(Params()) == base
    assert base.merged(None) is base
    assert base.merged({"stop": "STOP"}).stop == ("STOP",)
    assert base.given()["max_tokens"] == 100  # unchanged


def test_merged_validates_the_override() -> None:
    base = Params.parse({"temperature": 0.2})
    with pytest.raises(ParamError, match="unknown parameter 'bogus'"):
        base.merged({"bogus": 1})
    with pytest.raises(ParamError, match="temperature"):
        base.merged({"temperature": 9})


# --- completions ----------------------------------------------------------------------------


def test_usage_totals() -> None:
    assert Usage().total_tokens is None
    assert Usage(prompt_tokens=3).total_tokens == 3
    assert Usage(completion_tokens=4).total_tokens == 4
    assert Usage(3, 4).total_tokens == 7


def test_completion_to_dict() -> None:
    completion = Completion(
        text="hi",
        provider="echo",
        usage=Usage(2, 1),
        latency_ms=12.34567,
        cost=0.001,
        finish_reason="stop",
        logprobs=(TokenLogprob("hi", -0.1),),
        raw={"secret": "not exported"},
        cached=True,
    )
    assert completion.to_dict() == {
        "text": "hi",
        "provider": "echo",
        "prompt_tokens": 2,
        "completion_tokens": 1,
        "total_tokens": 3,
        "latency_ms": 12.346,
        "cost": 0.001,
        "finish_reason": "stop",
        "logprobs": [{"token": "hi", "logprob": -0.1}],
        "cached": True,
    }
    minimal = Completion("x", "p").to_dict()
    assert minimal["logprobs"] is None
    assert minimal["total_tokens"] is None
    assert minimal["cached"] is False


def test_capabilities_defaults() -> None:
    caps = Capabilities()
    assert caps.chat and not caps.completion and not caps.streaming
    assert Capabilities(completion=True, logprobs=True).logprobs
