"""The optimizer on generation tasks: free text judged by checks, without reference answers.

A reply-writing suite (business variables, a product that must be named, tone words, forbidden
promises) and a scripted model that names the product only when the prompt asks for it: the
optimizer must see that the task has no reference answers, pick the suite's provider for the
prompt, choose instruction edits made from the checks (never "Answer with one word." or an
answer line), score by the checks' weighted score, and say why it stopped.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from promptwork.errors import ConfigError
from promptwork.optimizer import aoptimize, plan_optimization
from promptwork.optimizer.report import render
from promptwork.providers.scripted import ScriptedProvider
from promptwork.store import Store
from promptwork.types import Completion, Params, RenderedPrompt

from .kit import smart_provider, write_sentiment_suite

REPLY = """---
params: {temperature: 0, max_tokens: 60}
---
Write a short reply from {{ brand }} customer service to {{ customer }}.

Message about the {{ product }}: {{ issue }}
Reply:
"""
PRODUCTS = ["Nimbus kettle", "Breeze fan", "Aurora lamp", "Cedar chair", "Pebble clock"]
CHECKS = [
    {"type": "icontains", "value": "{{ product }}", "metric": "facts"},
    {"type": "icontains-any", "value": ["sorry", "thank"], "metric": "tone"},
    {"type": "not-icontains-any", "value": ["full refund", "free replacement"]},
]


def write_reply_suite(folder: Path, n: int = 20, providers: list[Any] | None = None,
                      prompts: list[Any] | None = None) -> Path:
    (folder / "prompts").mkdir(parents=True, exist_ok=True)
    (folder / "prompts" / "reply.prompt").write_text(REPLY, encoding="utf-8")
    tests = [{"vars": {"customer": f"customer {i}", "product": PRODUCTS[i % len(PRODUCTS)],
                       "issue": f"problem number {i}"}} for i in range(n)]
    suite = {"prompts": prompts or ["file://prompts/reply.prompt"],
             "providers": providers or ["scripted:writer"],
             "defaultTest": {"vars": {"brand": "Hearth & Home"}, "assert": CHECKS},
             "tests": tests}
    path = folder / "promptwork.yaml"
    path.write_text(yaml.safe_dump(suite, sort_keys=False), encoding="utf-8")
    return path


_PRODUCT = re.compile(r"Message about the (.+?):")


def writer_answer(prompt: RenderedPrompt, params: Params) -> str:
    """Names the product only when the prompt asks to include it; short answers when the
    prompt asks for one word (which fails the checks, as it would on a real reply)."""
    text = prompt.as_text()
    found = _PRODUCT.findall(text)
    product = found[-1] if found else "item"
    if "one word" in text.lower():
        return "Sorry."
    if f'include "{product.lower()}"' in text.lower():
        return f"Thank you for writing about your {product}; we are sorry and will help."
    return "Thank you for writing; we are sorry and will help."


def writer(**kw: Any) -> ScriptedProvider:
    return ScriptedProvider(writer_answer, id="scripted:writer", **kw)


def test_a_reply_task_is_a_generation_task(tmp_path: Path) -> None:
    write_reply_suite(tmp_path)
    plan = plan_optimization(None, tmp_path, task_provider=writer())
    # icontains "{{ product }}" reads an input of the prompt: a mention, not a reference answer
    assert plan.reference_source == "bootstrap (8)"
    assert plan.task == "generation" and "no equals-like check" in plan.task_reason
    assert plan.metric == "score" and "weighted score" in plan.metric_reason
    lines = "\n".join(plan.lines())
    assert "task: generation: free text without reference answers" in lines
    assert "no 'Answer with one word.', no answer line" in lines
    assert "no instruction induction" in lines
    # --metric given: kept, and said so
    assert plan_optimization(None, tmp_path, metric="pass", task_provider=writer()).metric == "pass"


def test_a_labelled_task_keeps_the_reference_strategies(tmp_path: Path) -> None:
    write_sentiment_suite(tmp_path, n=12)
    plan = plan_optimization(None, tmp_path, task_provider=smart_provider())
    assert plan.task == "reference" and plan.metric == "pass"
    assert "check equals" in plan.task_reason
    # icontains on a variable the prompt is not given is still a reference answer
    other = tmp_path / "other"
    write_sentiment_suite(other, n=12, check={"type": "icontains", "value": "{{ label }}"})
    assert plan_optimization(None, other, task_provider=smart_provider()).task == "reference"


async def test_generation_search_edits_the_instruction_with_the_checks(tmp_path: Path) -> None:
    write_reply_suite(tmp_path)
    lines: list[str] = []
    provider = writer()
    result = await aoptimize(None, tmp_path, budget=80, strategy="components",
                             task_provider=provider, log=lines.append)
    sent = [p.as_text() for p, _ in provider.calls]
    assert not any("one word" in t.lower() or "only the answer" in t.lower() for t in sent)
    assert not any(t.rstrip().endswith("Answer:") for t in sent)
    # the check-made sentence that names the product won, judged by the checks themselves
    assert result.improved and 'Include "{{ product }}" in the answer.' in result.best.body
    assert result.best_val > result.seed_val
    log = "\n".join(lines)
    assert "task: generation" in log and "strategies: components, as asked" in log
    assert "metric score:" in log


def test_the_task_model_is_the_suite_provider_that_runs_the_prompt(tmp_path: Path) -> None:
    providers = [{"id": "scripted:base", "prompts": ["completion"]},
                 {"id": "scripted:chat", "prompts": ["chat"]}]
    prompts = [{"id": "file://prompts/reply.prompt", "label": "completion"},
               {"id": "file://prompts/reply.prompt", "label": "chat"}]
    write_reply_suite(tmp_path, providers=providers, prompts=prompts)
    chat = plan_optimization("chat", tmp_path)
    assert chat.task_model == "scripted:chat"
    assert "providers[].prompts" in chat.model_reason
    assert plan_optimization("completion", tmp_path).task_model == "scripted:base"
    # --model wins, by id or label
    assert plan_optimization("chat", tmp_path, model="scripted:base").task_model == "scripted:base"


def test_a_prompt_no_provider_runs_is_refused(tmp_path: Path) -> None:
    providers = [{"id": "scripted:base", "prompts": ["completion"]}]
    prompts = [{"id": "file://prompts/reply.prompt", "label": "completion"},
               {"id": "file://prompts/reply.prompt", "label": "chat"}]
    write_reply_suite(tmp_path, providers=providers, prompts=prompts)
    with pytest.raises(ConfigError, match="no provider of the suite runs prompt 'chat'"):
        plan_optimization("chat", tmp_path)


async def test_every_stop_says_why(tmp_path: Path) -> None:
    write_reply_suite(tmp_path)
    # components on this prompt run out of ideas long before a budget of 400 is spent
    lines: list[str] = []
    idle = await aoptimize(None, tmp_path, budget=400, strategy="components",
                           task_provider=writer(), log=lines.append)
    assert idle.stop_reason.startswith("no candidates left")
    assert idle.budget["used"] < idle.budget["search_limit"]
    stopped = [line for line in lines if line.startswith("search stopped after")]
    assert stopped == [f"search stopped after {idle.budget['used']} of "
                       f"{idle.budget['search_limit']} search calls: {idle.stop_reason}"]
    assert idle.provenance()["stop_reason"] == idle.stop_reason
    assert "Search stopped" in idle.html() and "no candidates left" in idle.html()
    from rich.console import Console

    console = Console(record=True, width=200)
    console.print(render(idle))
    assert "search stopped after" in console.export_text()
    # a small budget: spent
    small = tmp_path / "small"
    write_reply_suite(small)
    tight = await aoptimize(None, small, budget=28, task_provider=writer())
    assert tight.stop_reason.startswith("budget spent")


async def test_an_interruption_is_recorded_with_its_reason(tmp_path: Path) -> None:
    write_reply_suite(tmp_path)

    class Stop(BaseException):
        """Stands for Ctrl-C in the middle of a search."""

    class Dying(ScriptedProvider):
        async def complete(self, prompt: RenderedPrompt, params: Params) -> Completion:
            if len(self.calls) >= 5:
                raise Stop
            return await super().complete(prompt, params)

    lines: list[str] = []
    with pytest.raises(Stop):
        await aoptimize(None, tmp_path, budget=80,
                        task_provider=Dying(writer_answer, id="scripted:writer"),
                        log=lines.append)
    assert any(line.startswith("optimization stopped: interrupted") for line in lines)
    store = Store.for_folder(tmp_path)
    try:
        run = store.get_run()
        assert run.status == "interrupted"
        assert run.settings["optimize"]["stop_reason"].startswith("interrupted")
    finally:
        store.close()
