"""examples/customer-support: its checks read the whole email, prefilled opening included.

The completion prompt writes the opening itself ("Dear Ada, thank you for contacting ... about
your Nimbus kettle.") and the model continues it; the suite's ``options.transform`` puts that
opening back before the checks, so the product named there counts, while the chat prompt's
answers (which write their own opening) are checked as they are. Scripted models stand in for the
embedded ones.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import promptwork as pw
from promptwork.providers.base import Provider
from promptwork.providers.scripted import ScriptedProvider
from promptwork.runner import RunConfig

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "customer-support"


def _run(tmp_path: Path, completion: str, chat: str) -> list[dict[str, object]]:
    folder = tmp_path / "customer-support"
    shutil.copytree(EXAMPLE, folder, ignore=shutil.ignore_patterns(".promptwork"))
    providers: dict[int, Provider] = {0: ScriptedProvider([completion], id="local:gemma3-270m"),
                 1: ScriptedProvider([chat], id="local:smollm2")}
    run = pw.evaluate(folder, config=RunConfig(use_cache=False), providers=providers)
    return list(run.rows())


def _facts(row: dict[str, object]) -> tuple[bool, str]:
    grading = row["grading"]
    assert isinstance(grading, dict)
    facts = next(c for c in grading["components"] if c.get("metric") == "facts")
    return bool(facts["pass"]), str(facts["reason"])


def test_the_prefilled_opening_counts_for_the_completion_prompt(tmp_path: Path) -> None:
    rows = _run(tmp_path, " We are sorry to hear it and will help you at once.",
                "We are sorry to hear it and will help.")
    completion = [r for r in rows if r["prompt_idx"] == 0]
    chat = [r for r in rows if r["prompt_idx"] == 1]
    assert len(completion) == len(chat) == 6
    # The opening names the product: every completion email passes, as the email really does.
    assert all(r["success"] for r in completion), [r["grading"] for r in completion]
    assert all(_facts(r)[0] for r in completion)
    # The chat answers are checked as written: no opening is invented for them.
    assert not any(_facts(r)[0] for r in chat)


def test_the_transform_does_not_hide_a_bad_continuation(tmp_path: Path) -> None:
    rows = _run(tmp_path, " We will send a free replacement today.",
                "Dear customer, sorry, we will help with your order.")
    completion = [r for r in rows if r["prompt_idx"] == 0]
    assert not any(r["success"] for r in completion)
    for row in completion:
        grading = row["grading"]
        assert isinstance(grading, dict)
        promise = next(c for c in grading["components"] if c.get("metric") == "no-promises")
        assert not promise["pass"] and "free replacement" in promise["reason"]
