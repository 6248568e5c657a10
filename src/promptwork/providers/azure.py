"""Azure OpenAI (``azure:chat:DEPLOYMENT``, ``azure:completion:``, ``azure:responses:``).

promptfoo's settings: the resource is ``apiHost`` (``xxx.openai.azure.com``; also ``api_host``,
``$AZURE_API_HOST`` or ``$AZURE_OPENAI_API_HOST``) or a full ``apiBaseUrl`` (also ``base_url``,
``$AZURE_API_BASE_URL``, ``$AZURE_BASE_URL`` or ``$AZURE_OPENAI_BASE_URL``); the key is
``$AZURE_API_KEY`` or ``$AZURE_OPENAI_API_KEY`` (or the variable named by ``apiKeyEnvar``), sent
in the ``api-key`` header; ``apiVersion`` (or ``api_version``) is the ``api-version`` query
parameter. Chat calls go to ``{base}/openai/deployments/{deployment}/chat/completions``.
Everything else (retries, errors, usage, streaming, cost) is the OpenAI-compatible provider's.
Microsoft Entra ID credentials (``azureClientId``...) are not supported: use a key.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from promptwork.errors import ConfigError
from promptwork.providers.base import Provider
from promptwork.providers.httpbase import (
    COMMON_CONFIG_KEYS,
    check_config_keys,
    read_api_key,
    read_settings,
    tls_context,
)
from promptwork.providers.openai_compat import (
    Flavor,
    OpenAICompletionProvider,
    OpenAIProvider,
    parse_model_id,
)
from promptwork.providers.openai_responses import OpenAIResponsesProvider
from promptwork.providers.registry import require
from promptwork.secrets import Secrets

#: Default ``api-version`` per endpoint (the Responses API needs a 2025 preview version).
API_VERSIONS = {"chat": "2024-10-21", "completion": "2024-10-21", "responses": "2025-04-01-preview"}
KEY_VARS = ("AZURE_API_KEY", "AZURE_OPENAI_API_KEY")
HOST_VARS = ("AZURE_API_HOST", "AZURE_OPENAI_API_HOST")
BASE_URL_VARS = ("AZURE_API_BASE_URL", "AZURE_BASE_URL", "AZURE_OPENAI_BASE_URL")
CONFIG_KEYS = frozenset({"apiHost", "api_host", "apiVersion", "api_version", "stream_usage"})
_ENTRA_KEYS = frozenset({"azureClientId", "azureClientSecret", "azureTenantId",
                         "azureAuthorityHost", "azureTokenScope"})
FLAVOR = Flavor("azure", "", None, KEY_VARS, local=False)


class _AzureClient:
    """Builds the SDK's Azure client: ``api-key`` header, ``api-version`` query parameter."""

    api_version = API_VERSIONS["chat"]

    def _new_client(self: Any) -> Any:
        return self._sdk.AsyncAzureOpenAI(
            api_key=self._api_key,
            azure_endpoint=self.settings.base_url,
            api_version=self.api_version,
            max_retries=0,
            timeout=self.settings.timeout,
            default_headers=dict(self.settings.headers) or None,
            http_client=self._sdk.DefaultAsyncHttpxClient(verify=tls_context()),
        )

    def cache_identity(self: Any) -> dict[str, Any]:
        return {**super().cache_identity(), "api_version": self.api_version}  # type: ignore[misc]


class AzureChatProvider(_AzureClient, OpenAIProvider):
    """Chat completions on an Azure OpenAI deployment."""


class AzureCompletionProvider(_AzureClient, OpenAICompletionProvider):
    """Text completions on an Azure OpenAI deployment."""


class AzureResponsesProvider(_AzureClient, OpenAIResponsesProvider):
    """The Responses API on an Azure OpenAI resource (the deployment is the ``model``)."""


_CLASSES: dict[str, type[OpenAIProvider]] = {
    "chat": AzureChatProvider, "completion": AzureCompletionProvider,
    "responses": AzureResponsesProvider,
}


def endpoint(config: Mapping[str, Any], where: str, env: Mapping[str, str]) -> str:
    """The resource's base URL from config (``apiBaseUrl``, ``apiHost``) or the environment."""
    base = config.get("base_url", config.get("apiBaseUrl"))
    if isinstance(base, str) and base:
        return base
    host = config.get("apiHost", config.get("api_host"))
    if host is None:
        host = next((env[name] for name in HOST_VARS if env.get(name)), None)
    if host is None:
        base_env = next((env[name] for name in BASE_URL_VARS if env.get(name)), None)
        if base_env:
            return base_env
        raise ConfigError(
            f"{where} needs the Azure resource: set config apiHost (e.g. "
            "myresource.openai.azure.com) or the environment variable AZURE_API_HOST"
        )
    if not isinstance(host, str) or not host.strip():
        raise ConfigError(f"{where}: apiHost must be a host name, got {host!r}")
    host = host.strip().rstrip("/")
    return host if host.startswith(("http://", "https://")) else f"https://{host}"


def create(model_id: str, rest: str, config: dict[str, Any], label: str | None) -> Provider:
    """Factory for ``azure:chat:DEPLOYMENT``, ``azure:completion:...``, ``azure:responses:...``."""
    mode, deployment = parse_model_id("azure", rest)
    cls = _CLASSES[mode]
    entra = sorted(_ENTRA_KEYS & set(config))
    if entra:
        raise ConfigError(
            f"{model_id}: Microsoft Entra ID credentials ({', '.join(entra)}) are not "
            "supported; set AZURE_API_KEY (or name a variable with apiKeyEnvar)"
        )
    check_config_keys(config, COMMON_CONFIG_KEYS | CONFIG_KEYS | cls.config_keys, model_id)
    require("openai", "openai")
    version = config.get("apiVersion", config.get("api_version", API_VERSIONS[mode]))
    if not isinstance(version, str) or not version.strip():
        raise ConfigError(f"{model_id}: apiVersion must be a version such as 2024-10-21")
    base = endpoint(config, model_id, os.environ)
    settings = read_settings(
        {k: v for k, v in config.items() if k not in ("base_url", "apiBaseUrl")}, model_id,
        default_base_url=base,
    )
    secrets = Secrets()
    api_key = read_api_key(secrets, config, model_id, KEY_VARS)
    provider = cls(
        model_id, label, flavor=FLAVOR, stream_usage=bool(config.get("stream_usage", True)),
        model=deployment, settings=settings, api_key=api_key, secrets=secrets,
    )
    provider.api_version = version.strip()  # type: ignore[attr-defined]
    provider.configure(config, model_id)
    return provider
