"""Naming a prompt x model column by its labels, PROMPT@MODEL, or indices."""

from __future__ import annotations

import pytest

from promptwork.errors import ConfigError
from promptwork.report.columns import resolve_column, resolve_model, resolve_prompt

PROMPTS = ["instruction", "few-shot", "user@home"]
MODELS = ["gemma", "smollm2"]
IDS = ["local:gemma3-270m", "local:smollm2"]


def test_prompt_at_model() -> None:
    assert resolve_column("few-shot@smollm2", PROMPTS, MODELS) == (1, 1)
    assert resolve_column("instruction@local:gemma3-270m", PROMPTS, MODELS, IDS) == (0, 0)
    assert resolve_column("Few-Shot@GEMMA", PROMPTS, MODELS) == (1, 0)  # case-insensitive


def test_a_label_holding_an_at_sign() -> None:
    assert resolve_column("user@home@smollm2", PROMPTS, MODELS) == (2, 1)


def test_a_prompt_label_alone_needs_a_single_model() -> None:
    assert resolve_column("few-shot", PROMPTS, ["gemma"]) == (1, 0)
    with pytest.raises(ConfigError, match="several models: name the column as PROMPT@MODEL"):
        resolve_column("few-shot", PROMPTS, MODELS)


def test_a_model_label_alone_needs_a_single_prompt() -> None:
    assert resolve_column("smollm2", ["only"], MODELS) == (0, 1)


def test_index_forms_are_still_accepted() -> None:
    assert resolve_column("2:1", PROMPTS, MODELS) == (2, 1)
    assert resolve_column("1", PROMPTS, MODELS) == (1, 0)
    with pytest.raises(ConfigError, match=r"no column 3:0.*instruction@gemma \(0:0\)"):
        resolve_column("3:0", PROMPTS, MODELS)


def test_an_unknown_name_lists_the_columns() -> None:
    with pytest.raises(ConfigError) as info:
        resolve_column("zero-shot", PROMPTS, MODELS)
    assert "no column is named 'zero-shot'" in info.value.message
    assert "few-shot@smollm2 (1:1)" in info.value.message


def test_duplicate_labels_are_ambiguous() -> None:
    with pytest.raises(ConfigError, match="several columns"):
        resolve_column("same", ["same", "same"], ["m"])


def test_single_prompt_and_model_names() -> None:
    assert resolve_prompt("few-shot", PROMPTS) == 1
    assert resolve_prompt("0", PROMPTS) == 0
    assert resolve_model("local:smollm2", MODELS, IDS) == 1
    with pytest.raises(ConfigError, match=r"no prompt is named 'nope'.*instruction \(0\)"):
        resolve_prompt("nope", PROMPTS)
    with pytest.raises(ConfigError, match="no model is named"):
        resolve_model("gpt", MODELS, IDS)
