"""The short Python API: ``complete`` and ``acomplete``.

Example:
    >>> import promptwork as pw
    >>> pw.complete("Translate to French: {{ text }}", vars={"text": "cheese"}, model="echo").text
    'Translate to French: cheese'
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from promptwork.blocking import run_blocking
from promptwork.errors import MissingVariableError
from promptwork.prompts import PromptTemplate, load_prompt
from promptwork.providers.base import Provider
from promptwork.providers.local_models import DEFAULT_MODEL
from promptwork.providers.registry import create_provider
from promptwork.types import Completion, Params, RenderedPrompt


@dataclass(frozen=True)
class PreparedCall:
    """A prompt rendered for one model, checked and ready to send."""

    provider: Provider
    template: PromptTemplate
    prompt: RenderedPrompt
    params: Params


def prepare(
    prompt: str | PromptTemplate,
    vars: Mapping[str, Any] | None = None,
    model: str | Provider | None = None,
    *,
    base_dir: str | Path | None = None,
    provider_config: dict[str, Any] | None = None,
    params: Params | Mapping[str, Any] | None = None,
) -> PreparedCall:
    """Load, check and render a prompt for a model, without calling it.

    The model is ``model`` if given, else the prompt file's ``model``, else the embedded default.
    Parameters are the provider config's, overridden by the prompt file's, then by ``params``.
    Every error (missing variables, unknown parameters, unsupported parameters) is raised here,
    before any model call.
    """
    template = prompt if isinstance(prompt, PromptTemplate) else load_prompt(prompt, base_dir)
    if isinstance(model, Provider):
        provider = model
    else:
        provider = create_provider(model or template.meta.model or DEFAULT_MODEL, provider_config)
    extra = params if isinstance(params, Params) else Params.parse(dict(params or {}))
    merged = provider.config_params.merged(template.params).merged(extra)
    provider.check_params(merged)
    missing = template.missing(vars)
    if missing:
        raise MissingVariableError(missing, template.path)
    return PreparedCall(provider, template, template.render(vars), merged)


async def acomplete(
    prompt: str | PromptTemplate,
    vars: Mapping[str, Any] | None = None,
    model: str | Provider | None = None,
    *,
    base_dir: str | Path | None = None,
    provider_config: dict[str, Any] | None = None,
    on_text: Callable[[str], None] | None = None,
    **params: Any,
) -> Completion:
    """Render ``prompt`` with ``vars`` and run it on ``model`` (async twin of :func:`complete`)."""
    call = prepare(
        prompt, vars, model, base_dir=base_dir, provider_config=provider_config, params=params
    )
    if on_text is not None:
        return await call.provider.stream_complete(call.prompt, call.params, on_text)
    return await call.provider.complete(call.prompt, call.params)


def complete(
    prompt: str | PromptTemplate,
    vars: Mapping[str, Any] | None = None,
    model: str | Provider | None = None,
    *,
    base_dir: str | Path | None = None,
    provider_config: dict[str, Any] | None = None,
    on_text: Callable[[str], None] | None = None,
    **params: Any,
) -> Completion:
    """Render ``prompt`` with ``vars`` and run it on ``model``.

    Args:
        prompt: Inline template text, ``file://...`` or a path to a ``.prompt``/``.txt``/``.json``.
        vars: Template variables.
        model: A model id (``local:smollm2``, ``openai:gpt-4o-mini``...) or a provider instance.
        base_dir: Folder that relative prompt paths resolve against.
        provider_config: Provider options (``base_url``, ``n_threads``...).
        on_text: Called with each piece of the answer as it streams.
        **params: Generation parameters (``temperature``, ``max_tokens``, ``stop``, ``seed``...).

    Returns:
        The :class:`Completion` record.

    Raises:
        ConfigError: Bad prompt, variables or parameters (before any model call).
        ProviderError: The model call failed.
    """
    call = prepare(
        prompt, vars, model, base_dir=base_dir, provider_config=provider_config, params=params
    )
    sync = getattr(call.provider, "complete_sync", None)
    if sync is not None and on_text is None:
        # Embedded models need no event loop; skipping it keeps the API's overhead negligible.
        result: Completion = sync(call.prompt, call.params)
        return result
    coro = (
        call.provider.stream_complete(call.prompt, call.params, on_text)
        if on_text is not None
        else call.provider.complete(call.prompt, call.params)
    )
    return run_blocking(coro, "complete")
