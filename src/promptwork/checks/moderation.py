"""``moderation``: the output passes OpenAI's moderation endpoint (promptfoo's default moderation).

The output is sent to ``POST {base}/moderations`` with the OpenAI key (``OPENAI_API_KEY``, from the
environment or promptwork's key file; base ``OPENAI_BASE_URL`` or ``https://api.openai.com/v1``)
and model ``omni-moderation-latest``, or the model named by the check's ``provider``
(``openai:moderation:MODEL``). A ``provider`` written ``{id, config}`` may point elsewhere:
``base_url`` (or promptfoo's ``apiBaseUrl``) replaces the base, ``api_key_env`` (or
``apiKeyEnvar``) names the variable holding the key. The check passes when no category is
flagged; the value may list the categories that count (``[harassment, sexual/minors]``), as in
promptfoo. Score 1 or 0.

Only OpenAI's moderation is available: a ``provider`` of another vendor (Replicate's LlamaGuard,
``azure:moderation``) is refused by name when the suite loads. A moderation call that cannot be
made or fails is no verdict, never a failed check: without the key (looked up when the check runs,
since promptwork's key file may hold it), or on an HTTP error or timeout, it raises a
:class:`~promptwork.errors.ProviderError`, so the cell becomes a ``grader`` error, like a failed
grading-model call: counted apart from failed checks, out of the pass rate, and graded again by
``--resume`` once the key is set.

The call itself is made by :class:`promptwork.providers.openai_moderation.ModerationProvider`
through the run's grader (:class:`promptwork.grading.TestGrader`), so it goes through the call
cache and the retry policy like every other model call: the same text moderated again by the same
model at the same endpoint is answered from the cache, and rate limits, server errors, timeouts
and dropped connections are retried. Without a grader (a check run on its own), it is retried
but not cached.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from promptwork.checks.base import CheckContext, CheckResult, CheckSpec, Grader, outcome
from promptwork.errors import ProviderError
from promptwork.providers.openai_moderation import CONFIG_KEYS, DEFAULT_MODEL
from promptwork.types import Params, RenderedPrompt

__all__ = ["DEFAULT_MODEL", "moderation", "spec_problem"]

_PREFIX = "openai:moderation"


def _provider_id(provider: Any) -> str | None:
    if isinstance(provider, Mapping):
        provider = provider.get("id")
    return provider.strip() if isinstance(provider, str) and provider.strip() else None


def spec_problem(spec: CheckSpec) -> str | None:
    """What is wrong with a ``moderation`` check (checked when the suite loads), or ``None``."""
    value = spec.value
    if value is not None and not (
        isinstance(value, list) and value and all(isinstance(v, str) and v for v in value)
    ):
        return "value must be a list of moderation categories (e.g. [harassment, violence])"
    provider = spec.config.get("provider")
    if provider is None:
        return None
    ident = _provider_id(provider)
    if ident is None:
        return "'provider' must be a moderation provider id or {id, config}"
    if ident != _PREFIX and not ident.startswith(_PREFIX + ":"):
        return (
            f"moderation provider {ident!r} is not supported: promptwork calls only OpenAI's "
            "moderation endpoint (openai:moderation or openai:moderation:MODEL)"
        )
    config = provider.get("config") if isinstance(provider, Mapping) else None
    if config is not None and not isinstance(config, Mapping):
        return "the moderation provider's 'config' must be a mapping"
    unknown = [str(k) for k in (config or {}) if k not in CONFIG_KEYS]
    if unknown:
        return (f"the moderation provider's config key {unknown[0]!r} is not supported; it "
                f"takes {', '.join(CONFIG_KEYS)} (the key itself through api_key_env)")
    base = (config or {}).get("base_url") or (config or {}).get("apiBaseUrl")
    if base is not None and not (isinstance(base, str) and base.startswith(("http://", "https://"))):
        return f"the moderation provider's base_url must be an http(s) URL, got {base!r}"
    return None


def _model(spec: CheckSpec) -> str:
    ident = _provider_id(spec.config.get("provider")) or _PREFIX
    return ident[len(_PREFIX) + 1 :] if ident.startswith(_PREFIX + ":") else DEFAULT_MODEL


def _config(spec: CheckSpec) -> dict[str, Any]:
    provider = spec.config.get("provider")
    config = provider.get("config") if isinstance(provider, Mapping) else None
    return dict(config) if isinstance(config, Mapping) else {}


async def _moderate(text: str, model: str, config: dict[str, Any],
                    grader: Grader | None) -> Mapping[str, Any]:
    """The endpoint's result for ``text``, through the grader (cache and retries)."""
    ident = f"{_PREFIX}:{model}"
    if grader is not None:
        answer = await grader(text, {"id": ident, "config": config})
    else:
        from promptwork.calls import CallPolicy, ModelCaller
        from promptwork.providers.openai_moderation import create

        caller = ModelCaller(create(ident, f"moderation:{model}", config, None), None,
                             CallPolicy())
        outcome = await caller.call(RenderedPrompt.from_text(text), Params())
        if isinstance(outcome, ProviderError):
            raise outcome
        answer = outcome.text
    try:
        result = json.loads(answer)
    except ValueError:
        result = None
    if not isinstance(result, Mapping):
        raise ProviderError("moderation answer is not a JSON result", kind="invalid_response")
    return result


async def moderation(spec: CheckSpec, ctx: CheckContext) -> CheckResult:
    """No moderation category (of those listed in the value, if any) is flagged."""
    result = await _moderate(ctx.output, _model(spec), _config(spec), ctx.grader)
    categories = result.get("categories")
    flags = categories if isinstance(categories, Mapping) else {}
    wanted = spec.value if isinstance(spec.value, list) else None
    flagged = sorted(
        name for name, on in flags.items() if on is True and (wanted is None or name in wanted)
    )
    if not flags and result.get("flagged") is True and wanted is None:
        flagged = ["(unnamed)"]
    if flagged:
        return outcome(False, f"moderation flagged: {', '.join(flagged)}")
    scope = f" among {', '.join(wanted)}" if wanted else ""
    return outcome(True, f"moderation flagged nothing{scope}")
