"""Preparing an optimization: what eval would refuse or apply, the optimizer does too, before
any model call (a prompt entry's own ``config``, the variables of assert values)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from promptwork.errors import MissingVariableError, ParamError
from promptwork.optimizer import aoptimize, plan_optimization

from .kit import smart_provider, write_sentiment_suite


def _edit(folder: Path, change: Any) -> Path:
    path = folder / "promptwork.yaml"
    data = yaml.safe_load(path.read_text())
    change(data)
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return folder


def _entry_config(folder: Path, config: dict[str, Any]) -> Path:
    write_sentiment_suite(folder)

    def change(data: dict[str, Any]) -> None:
        data["prompts"] = [{"id": data["prompts"][0], "config": config}]

    return _edit(folder, change)


async def test_the_prompt_entrys_config_applies_to_every_call(tmp_path: Path) -> None:
    # The seed's front matter says temperature 0 and max_tokens 5; the entry's config wins.
    folder = _entry_config(tmp_path / "s", {"temperature": 0.7, "max_tokens": 3})
    provider = smart_provider()
    result = await aoptimize(None, folder, budget=60, task_provider=provider, ablate=False)
    assert provider.calls and result.budget["used"] > 0
    sent = {(params.temperature, params.max_tokens) for _, params in provider.calls}
    assert sent == {(0.7, 3)}


async def test_without_an_entry_config_the_front_matter_applies(tmp_path: Path) -> None:
    folder = tmp_path / "s"
    write_sentiment_suite(folder)
    provider = smart_provider()
    await aoptimize(None, folder, budget=60, task_provider=provider, ablate=False)
    assert {(p.temperature, p.max_tokens) for _, p in provider.calls} == {(0, 5)}


def test_an_unsupported_entry_parameter_is_refused_before_any_call(tmp_path: Path) -> None:
    folder = _entry_config(tmp_path / "s", {"top_k": 5})
    provider = smart_provider()
    with pytest.raises(ParamError, match="top_k"):
        plan_optimization(None, folder, budget=60, task_provider=provider)
    assert provider.calls == []


def test_a_missing_assert_value_variable_is_refused_before_any_call(tmp_path: Path) -> None:
    folder = tmp_path / "s"
    write_sentiment_suite(folder)

    def change(data: dict[str, Any]) -> None:
        data["tests"][2]["assert"].append({"type": "icontains", "value": "{{ topic }}"})

    _edit(folder, change)
    provider = smart_provider()
    with pytest.raises(MissingVariableError) as caught:
        plan_optimization(None, folder, budget=60, task_provider=provider)
    assert caught.value.names == ["topic"]
    [(name, rows)] = caught.value.where.items()
    assert name == "topic" and rows[0].endswith("icontains value")
    assert provider.calls == []
