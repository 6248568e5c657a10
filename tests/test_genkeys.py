"""Generation parameters written in a config, in promptfoo's and the vendors' spellings."""

from __future__ import annotations

from typing import Any

import pytest

from promptwork.genkeys import GenerationKeyError, prompt_config_params, split_config


def test_generation_keys_leave_the_connection_keys_alone() -> None:
    rest, params = split_config({"base_url": "http://127.0.0.1:1/v1", "temperature": 0,
                                 "max_tokens": 8, "headers": {"x": "y"}}, "openai:chat:m")
    assert rest == {"base_url": "http://127.0.0.1:1/v1", "headers": {"x": "y"}}
    assert params.given() == {"temperature": 0.0, "max_tokens": 8}


@pytest.mark.parametrize(("config", "expected"), [
    ({"maxTokens": 5, "topP": 0.5, "topK": 3}, {"max_tokens": 5, "top_p": 0.5, "top_k": 3}),
    ({"frequencyPenalty": 0.1, "presencePenalty": -0.2},
     {"frequency_penalty": 0.1, "presence_penalty": -0.2}),
    ({"max_completion_tokens": 64}, {"max_tokens": 64}),
    ({"maxOutputTokens": 9, "stopSequences": ["END"]}, {"max_tokens": 9, "stop": ["END"]}),
    ({"stop": "###"}, {"stop": ["###"]}),
    ({"generationConfig": {"temperature": 0.3, "topK": 2, "responseMimeType": "application/json"}},
     {"temperature": 0.3, "top_k": 2, "json_object": True}),
    ({"reasoningEffort": "low", "toolChoice": "auto"},
     {"reasoning_effort": "low", "tool_choice": "auto"}),
    ({"logprobs": True, "topLogprobs": 3}, {"logprobs": True, "top_logprobs": 3}),
])
def test_camel_case_and_vendor_spellings_map_to_one_name(
    config: dict[str, Any], expected: dict[str, Any]
) -> None:
    rest, params = split_config(config)
    assert rest == {}
    assert params.given() == expected


def test_response_format_json_object_and_json_schema() -> None:
    _, params = split_config({"response_format": {"type": "json_object"}})
    assert params.given() == {"json_object": True}
    assert params.bare_schema() == {"type": "object"}
    schema = {"type": "object", "properties": {"a": {"type": "string"}}}
    spec = {"name": "answer", "strict": True, "schema": schema}
    _, params = split_config({"responseFormat": {"type": "json_schema", "json_schema": spec}})
    assert params.response_schema == {"name": "answer", "strict": True, "schema": schema}
    assert params.bare_schema() == schema
    _, params = split_config({"response_format": {"type": "text"}})
    assert params.given() == {}


@pytest.mark.parametrize(("config", "key", "words"), [
    ({"temperature": "hot"}, "temperature", "temperature"),
    ({"generationConfig": {"topK": 0}}, "generationConfig", "top_k"),
    ({"response_format": {"type": "xml"}}, "response_format", "json_object"),
    ({"response_format": {"type": "json_schema"}}, "response_format", "json_schema"),
    ({"max_tokens": 5, "maxTokens": 6}, "maxTokens", "keep one"),
    ({"generationConfig": {"candidateCount": 2}}, "generationConfig", "candidateCount"),
])
def test_a_bad_value_names_the_key_as_written(config: dict[str, Any], key: str,
                                              words: str) -> None:
    with pytest.raises(GenerationKeyError) as info:
        split_config(config, "google:gemini")
    assert info.value.key == key
    assert words in info.value.message and "google:gemini" in info.value.message


def test_two_spellings_with_the_same_value_are_one_parameter() -> None:
    _, params = split_config({"max_tokens": 5, "maxTokens": 5})
    assert params.max_tokens == 5


def test_a_prompt_config_takes_only_generation_keys() -> None:
    assert prompt_config_params({"topP": 0.2}, "prompts[0]").top_p == 0.2
    with pytest.raises(GenerationKeyError) as info:
        prompt_config_params({"base_url": "http://x"}, "prompts[0]")
    assert info.value.key == "base_url" and "not a generation parameter" in info.value.message
