"""The grader that model-graded checks (llm-rubric, factuality, ...) call.

It sends one prompt to a grading model through the same call wrapper as every other call (cache,
retries, timeouts), so judge calls are cached and retried like task calls. The grading model is
the assertion's ``provider``, else the test's ``options.provider`` (promptfoo's
``defaultTest.options.provider``), else the embedded default model.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from promptwork.calls import Cache, CallPolicy, ModelCaller
from promptwork.errors import ConfigError, ProviderError
from promptwork.providers.base import Provider
from promptwork.providers.local_models import DEFAULT_MODEL
from promptwork.providers.registry import create_provider
from promptwork.types import Params, RenderedPrompt

GRADER_PARAMS = Params(temperature=0, max_tokens=256)


def provider_ref(value: Any) -> tuple[str, dict[str, Any]] | None:
    """``"openai:gpt-4o"`` or ``{id, config}`` -> (id, config); None when absent."""
    if value is None:
        return None
    if isinstance(value, str):
        return value, {}
    if isinstance(value, Mapping) and isinstance(value.get("id"), str):
        config = value.get("config") or {}
        return value["id"], dict(config) if isinstance(config, Mapping) else {}
    raise ConfigError(f"a grading provider must be an id or {{id, config}}, got {value!r}")


class GraderPool:
    """Creates and keeps one call wrapper per grading model for a run."""

    def __init__(self, cache: Cache | None, policy: CallPolicy, concurrency: int = 4,
                 injected: Mapping[str, Provider] | None = None):
        self._cache = cache
        self._policy = policy
        self._concurrency = concurrency
        self._callers: dict[str, ModelCaller] = {}
        self._injected = dict(injected or {})

    def caller(self, ref: tuple[str, dict[str, Any]]) -> ModelCaller:
        model_id, config = ref
        key = model_id + repr(sorted(config.items()))
        if key not in self._callers:
            provider = self._injected.get(model_id) or create_provider(model_id, config)
            concurrency = 1 if model_id.startswith("local:") else self._concurrency
            self._callers[key] = ModelCaller(provider, self._cache, self._policy, concurrency)
        return self._callers[key]

    def for_test(self, options: Mapping[str, Any]) -> TestGrader:
        default = provider_ref(options.get("provider")) or (DEFAULT_MODEL, {})
        return TestGrader(self, default)

    async def aclose(self) -> None:
        for caller in self._callers.values():
            await caller.provider.aclose()


class TestGrader:
    """A :class:`promptwork.checks.base.Grader` bound to one test's default grading model."""

    __test__ = False  # not a pytest test class

    def __init__(self, pool: GraderPool, default: tuple[str, dict[str, Any]]):
        self._pool = pool
        self._default = default

    async def __call__(self, prompt: str, provider: str | None = None) -> str:
        ref = provider_ref(provider) or self._default
        outcome = await self._pool.caller(ref).call(RenderedPrompt.from_text(prompt),
                                                    GRADER_PARAMS)
        if isinstance(outcome, ProviderError):
            raise outcome
        return outcome.text
