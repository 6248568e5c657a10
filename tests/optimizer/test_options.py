"""``OptimizeOptions``: one value for the options of optimize(), the plan and the CLI."""

from __future__ import annotations

from pathlib import Path

import pytest

from promptwork.errors import ConfigError
from promptwork.optimizer import OptimizeOptions, aoptimize, plan_optimization

from .kit import smart_provider


def test_keyword_changes_override_a_given_value() -> None:
    base = OptimizeOptions(budget=120, strategy="demos")
    changed = OptimizeOptions.of(base, budget=300)
    assert (changed.budget, changed.strategy) == (300, "demos")
    assert base.budget == 120  # frozen: the original is untouched
    assert OptimizeOptions.of(base) is base
    assert OptimizeOptions(split="40/30/30").ratios == pytest.approx((0.4, 0.3, 0.3))


@pytest.mark.parametrize(("changes", "message"), [
    ({"budjet": 3}, r"unknown optimize option\(s\) 'budjet' \(did you mean 'budget'\?\)"),
    ({"max_test": 3, "zzz": 1}, r"'max_test', 'zzz' \(did you mean 'max_tests'\?\)"),
])
def test_an_unknown_option_is_refused_not_dropped(changes: dict[str, int], message: str) -> None:
    with pytest.raises(TypeError, match=message):
        OptimizeOptions.of(**changes)


@pytest.mark.parametrize(("changes", "message"), [
    ({"strategy": "magic"}, "unknown strategy 'magic'"),
    ({"metric": "f1"}, "unknown metric 'f1'"),
    ({"budget": 0}, "--budget must be a whole number >= 1"),
    ({"budget": True}, "--budget must be a whole number >= 1"),
    ({"split": "1/0/1"}, "validation share"),
])
def test_bad_values_fail_when_the_options_are_made(changes: dict[str, object],
                                                    message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        OptimizeOptions.of(**changes)


def test_the_plan_takes_the_same_options(suite_dir: Path) -> None:
    provider = smart_provider()
    options = OptimizeOptions(budget=77, split="0.5/0.25/0.25", task_provider=provider)
    assert plan_optimization(None, suite_dir, options) == plan_optimization(
        None, suite_dir, budget=77, split="0.5/0.25/0.25", task_provider=provider)
    with pytest.raises(TypeError, match="'use_cash'"):
        plan_optimization(None, suite_dir, use_cash=False)
    assert provider.calls == []


async def test_aoptimize_takes_the_value(suite_dir: Path) -> None:
    options = OptimizeOptions(budget=40, strategy="components", ablate=False,
                              task_provider=smart_provider())
    result = await aoptimize(None, suite_dir, options)
    assert result.budget["limit"] == 40 and result.plan.strategy == "components"


def test_a_check_file_outside_the_suite_folder_is_refused_as_in_eval(tmp_path: Path) -> None:
    # eval refuses it before any call; optimize grades with the same checks, so it must too.
    (tmp_path / "outside").mkdir()
    (tmp_path / "outside" / "check.py").write_text("def get_assert(output, context):\n"
                                                   "    return True\n")
    folder = tmp_path / "suite"
    folder.mkdir()
    tests = "".join(f"  - vars: {{q: q{i}}}\n    assert: [{{type: python, "
                    f"value: 'file://../outside/check.py'}}]\n" for i in range(12))
    (folder / "promptwork.yaml").write_text(
        f"prompts: ['Answer {{{{ q }}}}']\nproviders: [echo]\ntests:\n{tests}")
    provider = smart_provider()
    with pytest.raises(ConfigError, match="outside the suite folder") as info:
        plan_optimization(None, folder, task_provider=provider)
    assert info.value.line == 4  # the first test
    assert provider.calls == []
