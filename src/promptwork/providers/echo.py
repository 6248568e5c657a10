"""``echo``: answers with the rendered prompt (for checking templates and for tests)."""

from __future__ import annotations

import json
from typing import Any

from promptwork.providers.base import Provider, Stopwatch
from promptwork.types import PARAM_NAMES, Capabilities, Completion, Params, RenderedPrompt, Usage


class EchoProvider(Provider):
    """Returns the prompt: its text when plain, else the messages as JSON (as promptfoo does)."""

    capabilities = Capabilities(chat=True, completion=True, images=True)  # it echoes the parts
    #: It ignores them all, so a suite written for a real model checks its templates as is.
    supported_params = frozenset(PARAM_NAMES)

    async def complete(self, prompt: RenderedPrompt, params: Params) -> Completion:
        watch = Stopwatch()
        if prompt.plain:
            text = prompt.messages[0].content
        else:
            text = json.dumps(prompt.to_list(), ensure_ascii=False)
        return Completion(
            text=text,
            provider=self.id,
            usage=Usage(0, 0),
            latency_ms=watch.ms(),
            cost=0.0,
            finish_reason="stop",
        )


def create(model_id: str, rest: str, config: dict[str, Any], label: str | None) -> Provider:
    return EchoProvider(model_id, label)
