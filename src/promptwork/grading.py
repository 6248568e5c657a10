"""The grader that model-graded checks (llm-rubric, factuality, ...) call.

It sends one prompt to a grading model through the same call wrapper as every other call (cache,
retries, timeouts), so judge calls are cached and retried like task calls. The grading model is
the assertion's ``provider``, else the test's ``options.provider`` (promptfoo's
``defaultTest.options.provider``), else promptfoo's default for the vendor keys found, else the
embedded default model (:mod:`promptwork.providers.defaults`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from promptwork.calls import Cache, CallPolicy, ModelCaller
from promptwork.checks.base import GraderRef
from promptwork.errors import ConfigError, ProviderError
from promptwork.providers.base import Provider
from promptwork.providers.defaults import GRADER_PARAMS, DefaultGrader, default_grader
from promptwork.providers.registry import create_provider
from promptwork.types import Params, RenderedPrompt

__all__ = ["GRADER_PARAMS", "GraderPool", "TestGrader", "provider_ref"]


def provider_ref(value: Any, kind: str = "text") -> tuple[str, dict[str, Any]] | None:
    """``"openai:gpt-4o"`` or ``{id, config}`` -> (id, config); None when absent.

    promptfoo's map by kind (``{text: ..., embedding: ...}``) gives its ``kind`` entry (None when
    it has none). Suites are checked at load (:func:`promptwork.datasets.options.provider_problem`).
    """
    if value is None:
        return None
    if isinstance(value, Mapping) and "id" not in value and kind in value:
        return provider_ref(value[kind], kind)
    if isinstance(value, Mapping) and value and "id" not in value and all(
            k in ("text", "embedding", "classification", "moderation") for k in value):
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
        #: The grading model of tests that name none, and why (recorded with the run).
        self.default: DefaultGrader = default_grader()

    def caller(self, ref: tuple[str, dict[str, Any]]) -> ModelCaller:
        model_id, config = ref
        key = model_id + repr(sorted(config.items()))
        if key not in self._callers:
            provider = self._injected.get(model_id) or create_provider(model_id, config)
            concurrency = 1 if model_id.startswith("local:") else self._concurrency
            self._callers[key] = ModelCaller(provider, self._cache, self._policy, concurrency)
        return self._callers[key]

    def for_test(self, options: Mapping[str, Any]) -> TestGrader:
        named = provider_ref(options.get("provider"))
        if named is None:
            return TestGrader(self, self.default.ref, self.default.params)
        return TestGrader(self, named)

    async def aclose(self) -> None:
        for caller in self._callers.values():
            await caller.provider.aclose()


class TestGrader:
    """A :class:`promptwork.checks.base.Grader` bound to one test's default grading model."""

    __test__ = False  # not a pytest test class

    def __init__(self, pool: GraderPool, default: tuple[str, dict[str, Any]],
                 default_params: Params = GRADER_PARAMS):
        self._pool = pool
        self._default = default
        self._default_params = default_params

    @property
    def model_id(self) -> str:
        """The test's grading model (checks naming their own ``provider`` use that instead)."""
        return self._default[0]

    async def __call__(self, prompt: str, provider: GraderRef | None = None) -> str:
        # The check's own model, with its config (base_url, key, parameters), else the test's.
        named = provider_ref(provider)
        caller = self._pool.caller(named or self._default)
        # The grader's own config (promptfoo's {id, config: {temperature: ...}}) wins.
        base = GRADER_PARAMS if named else self._default_params
        params = base.merged(caller.provider.config_params)
        outcome = await caller.call(RenderedPrompt.from_text(prompt), params)
        if isinstance(outcome, ProviderError):
            raise outcome
        return outcome.text
