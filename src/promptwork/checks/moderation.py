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
``--resume`` once the key is set. Moderation calls are neither cached nor retried (they do not go
through :class:`promptwork.calls.ModelCaller`, which wraps completion providers).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

import httpx

from promptwork.checks.base import CheckContext, CheckResult, CheckSpec, outcome
from promptwork.errors import ProviderError
from promptwork.secrets import Secrets, redact

__all__ = ["DEFAULT_MODEL", "moderation", "spec_problem"]

DEFAULT_MODEL = "omni-moderation-latest"
DEFAULT_BASE = "https://api.openai.com/v1"
TIMEOUT_S = 30.0
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
    base = (config or {}).get("base_url") or (config or {}).get("apiBaseUrl")
    if base is not None and not (isinstance(base, str) and base.startswith(("http://", "https://"))):
        return f"the moderation provider's base_url must be an http(s) URL, got {base!r}"
    return None


def _model(spec: CheckSpec) -> str:
    ident = _provider_id(spec.config.get("provider")) or _PREFIX
    return ident[len(_PREFIX) + 1 :] if ident.startswith(_PREFIX + ":") else DEFAULT_MODEL


def _kind(status: int) -> str:
    if status == 429:
        return "rate_limit"
    if status in (401, 403):
        return "auth"
    if status >= 500:
        return "server"
    return "bad_request"


def _config(spec: CheckSpec) -> Mapping[str, Any]:
    provider = spec.config.get("provider")
    config = provider.get("config") if isinstance(provider, Mapping) else None
    return config if isinstance(config, Mapping) else {}


async def _moderate(text: str, model: str, config: Mapping[str, Any]) -> Mapping[str, Any]:
    secrets = Secrets()
    key_var = str(config.get("api_key_env") or config.get("apiKeyEnvar") or "OPENAI_API_KEY")
    key = secrets.get(key_var)
    if not key:  # no verdict: a grader error (see the module doc), never a failed check
        raise ProviderError(
            f"'moderation' calls OpenAI's moderation endpoint and needs {key_var} "
            "(in the environment or promptwork's key file); set it and resume the run",
            kind="auth",
        )
    configured = config.get("base_url") or config.get("apiBaseUrl")
    base = str(configured or os.environ.get("OPENAI_BASE_URL") or DEFAULT_BASE).rstrip("/")
    try:
        async with httpx.AsyncClient(timeout=TIMEOUT_S) as client:
            response = await client.post(
                f"{base}/moderations",
                json={"model": model, "input": text},
                headers={"Authorization": f"Bearer {key}"},
            )
    except httpx.TimeoutException:
        raise ProviderError("moderation call timed out", kind="timeout") from None
    except httpx.HTTPError as exc:
        raise ProviderError(redact(f"moderation call failed: {exc}", secrets),
                            kind="connection") from None
    if response.status_code != 200:
        raise ProviderError(
            redact(f"moderation call failed: {response.text[:300]}", secrets),
            kind=_kind(response.status_code),
            status=response.status_code,
        )
    try:
        data = response.json()
        result = data["results"][0]
    except (ValueError, KeyError, IndexError, TypeError):
        raise ProviderError("moderation response has no results", kind="invalid_response",
                            status=200) from None
    if not isinstance(result, Mapping):
        raise ProviderError("moderation response has no results", kind="invalid_response",
                            status=200)
    return result


async def moderation(spec: CheckSpec, ctx: CheckContext) -> CheckResult:
    """No moderation category (of those listed in the value, if any) is flagged."""
    result = await _moderate(ctx.output, _model(spec), _config(spec))
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
