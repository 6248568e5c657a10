"""``scripted``: a fake model that answers from a script, for unit tests and users' own tests.

Answers can be a list (used in order, then the last one repeats), a mapping from a substring of
the prompt to the answer, or a function of the prompt. An answer that is a :class:`ProviderError`
is raised, which lets tests exercise error handling. An answer that is a :class:`Completion` is
returned as it is (logprobs included only when asked for), to script logprobs.
"""

from __future__ import annotations

import asyncio
import dataclasses
import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from promptwork.errors import ConfigError, ProviderError
from promptwork.providers.base import COMMON_PARAMS, Provider, Stopwatch
from promptwork.types import Capabilities, Completion, Params, RenderedPrompt, Usage

Answer = str | Completion | ProviderError
Script = Sequence[Answer] | Mapping[str, Answer] | Callable[[RenderedPrompt, Params], Answer]


class ScriptedProvider(Provider):
    """A deterministic fake model.

    Args:
        script: Answers: a list (in order; the last repeats), a ``{substring: answer}`` mapping
            (first key found in the prompt text wins; key ``"*"`` is the fallback), or a function.
        id: Model id to report.
        delay: Seconds each call waits (to test concurrency and timeouts).
        capabilities: Override the advertised capabilities.

    Attributes:
        calls: Every ``(prompt, params)`` received, in order.
    """

    supported_params = COMMON_PARAMS | {
        "frequency_penalty", "presence_penalty", "response_schema", "logprobs", "top_logprobs",
    }

    def __init__(
        self,
        script: Script = ("ok",),
        id: str = "scripted",
        label: str | None = None,
        delay: float = 0.0,
        capabilities: Capabilities | None = None,
    ):
        super().__init__(id, label)
        self.script = script
        self.delay = delay
        self.calls: list[tuple[RenderedPrompt, Params]] = []
        self.capabilities = capabilities or Capabilities(chat=True, completion=True, streaming=True)  # type: ignore[misc]

    def _answer(self, prompt: RenderedPrompt, params: Params) -> Answer:
        script = self.script
        if callable(script):
            return script(prompt, params)
        if isinstance(script, Mapping):
            text = prompt.as_text()
            for key, answer in script.items():
                if key != "*" and key in text:
                    return answer
            if "*" in script:
                return script["*"]
            raise ProviderError(f"scripted provider has no answer for prompt {text[:60]!r}")
        index = min(len(self.calls) - 1, len(script) - 1)
        return script[index]

    async def complete(self, prompt: RenderedPrompt, params: Params) -> Completion:
        watch = Stopwatch()
        self.calls.append((prompt, params))
        if self.delay:
            await asyncio.sleep(self.delay)
        answer = self._answer(prompt, params)
        if isinstance(answer, ProviderError):
            raise answer
        if isinstance(answer, Completion):
            return dataclasses.replace(answer, provider=self.id, latency_ms=watch.ms(),
                                       logprobs=answer.logprobs if params.logprobs else None)
        if params.max_tokens is not None:
            answer = " ".join(answer.split(" ")[: params.max_tokens])
        for stop in params.stop or ():
            if stop in answer:
                answer = answer[: answer.index(stop)]
        prompt_tokens = len(prompt.as_text().split())
        return Completion(
            text=answer,
            provider=self.id,
            usage=Usage(prompt_tokens, len(answer.split())),
            latency_ms=watch.ms(),
            cost=0.0,
            finish_reason="stop",
        )

    async def stream_complete(
        self, prompt: RenderedPrompt, params: Params, on_text: Any
    ) -> Completion:
        """The scripted answer given to ``on_text`` word by word, yielding to the event loop
        between pieces so that several streams interleave as real ones do."""
        completion = await self.complete(prompt, params)
        for piece in re.findall(r"\s*\S+\s*", completion.text) or [completion.text]:
            on_text(piece)
            await asyncio.sleep(0)
        return completion

    def cache_identity(self) -> dict[str, Any]:
        return {"provider": self.id, "script": repr(self.script)[:200]}


def create(model_id: str, rest: str, config: dict[str, Any], label: str | None) -> Provider:
    script = config.get("responses", config.get("script", ["ok"]))
    if not isinstance(script, list | dict) or not script:
        raise ConfigError("scripted provider needs config 'responses': a list or a mapping")
    return ScriptedProvider(script, id=model_id, label=label, delay=float(config.get("delay", 0)))
