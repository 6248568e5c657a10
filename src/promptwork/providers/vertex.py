"""Gemini on Google Cloud Vertex AI (``vertex:MODEL``) through ``google-genai`` (``vertexai=True``).

Install with ``pip install 'promptwork[vertex]'``. promptfoo's settings: the project is config
``projectId`` (or ``project_id``), else ``$VERTEX_PROJECT_ID``, ``$GOOGLE_CLOUD_PROJECT`` or the
project of the application default credentials; the region is config ``region`` (or
``location``), else ``$VERTEX_REGION`` or ``$GOOGLE_CLOUD_LOCATION``, else ``us-central1``.
Credentials are Google's application default credentials (``gcloud auth application-default
login``, ``GOOGLE_APPLICATION_CREDENTIALS``), or an API key in ``$VERTEX_API_KEY`` (Vertex
express mode, which needs no project). Requests, answers and errors are read as for ``google:``;
only Gemini models are served (not Claude or Llama on Vertex).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from promptwork.errors import ConfigError
from promptwork.providers.base import Provider
from promptwork.providers.google import GoogleProvider
from promptwork.providers.httpbase import (
    COMMON_CONFIG_KEYS,
    check_config_keys,
    read_api_key,
    read_settings,
)
from promptwork.providers.registry import require
from promptwork.secrets import Secrets

CONFIG_KEYS = frozenset({"projectId", "project_id", "region", "location"})
PROJECT_VARS = ("VERTEX_PROJECT_ID", "GOOGLE_CLOUD_PROJECT", "GCLOUD_PROJECT")
REGION_VARS = ("VERTEX_REGION", "GOOGLE_CLOUD_LOCATION")
KEY_VARS = ("VERTEX_API_KEY",)
DEFAULT_REGION = "us-central1"


class VertexProvider(GoogleProvider):
    """Gemini through Vertex AI: a project and region with credentials, or an express-mode key.

    Args:
        id: Full model id.
        label: Display name.
        project: Google Cloud project (``None`` in express mode).
        location: Region.
        credentials: ``google.auth`` credentials (``None`` in express mode).
        **kwargs: Model, settings, key and secrets, as for :class:`HttpProvider`.
    """

    def __init__(self, id: str, label: str | None, *, project: str | None, location: str,
                 credentials: Any, **kwargs: Any):
        super().__init__(id, label, **kwargs)
        self.project = project
        self.location = location
        self._credentials = credentials

    def cache_identity(self) -> dict[str, Any]:
        return {**super().cache_identity(), "project": self.project, "location": self.location}

    def _new_client(self) -> Any:
        options = self._http_options()
        if self._api_key:
            return self._sdk.Client(vertexai=True, api_key=self._api_key, http_options=options)
        return self._sdk.Client(vertexai=True, project=self.project, location=self.location,
                                credentials=self._credentials, http_options=options)


def _first(config: Mapping[str, Any], keys: tuple[str, ...], env: Mapping[str, str],
           names: tuple[str, ...]) -> str | None:
    for key in keys:
        if config.get(key):
            return str(config[key])
    return next((env[name] for name in names if env.get(name)), None)


def default_credentials(where: str) -> tuple[Any, str | None]:
    """Application default credentials and their project, or a ConfigError saying how to log in."""
    auth = require("google.auth", "vertex")
    exceptions = require("google.auth.exceptions", "vertex")
    try:
        credentials, project = auth.default(
            scopes=["https://www.googleapis.com/auth/cloud-platform"])
    except exceptions.DefaultCredentialsError:
        raise ConfigError(
            f"{where} needs Google Cloud credentials: run 'gcloud auth application-default "
            "login', set GOOGLE_APPLICATION_CREDENTIALS, or set VERTEX_API_KEY (express mode)"
        ) from None
    return credentials, project


def create(model_id: str, rest: str, config: dict[str, Any], label: str | None) -> Provider:
    """Factory for ``vertex:MODEL`` (Gemini models)."""
    model = rest.strip().removeprefix("chat:").removeprefix("models/")
    if not model:
        raise ConfigError(f"model id {model_id} names no model; e.g. vertex:gemini-2.5-flash")
    if model.startswith(("embedding:", "claude", "llama", "mistral")):
        raise ConfigError(f"{model_id}: only Gemini models are supported on vertex:; use "
                          "anthropic:, bedrock: or an OpenAI-compatible provider for others")
    check_config_keys(config, COMMON_CONFIG_KEYS | CONFIG_KEYS, model_id)
    require("google.genai", "vertex")
    env = os.environ
    settings = read_settings(config, model_id, default_base_url=None)
    secrets = Secrets()
    api_key = read_api_key(secrets, config, model_id, KEY_VARS, required=False, dummy="")
    location = _first(config, ("region", "location"), env, REGION_VARS) or DEFAULT_REGION
    project = _first(config, ("projectId", "project_id"), env, PROJECT_VARS)
    credentials = None
    if not api_key:
        credentials, found = default_credentials(model_id)
        project = project or found
        if not project:
            raise ConfigError(f"{model_id} needs a Google Cloud project: set config projectId "
                              "or the environment variable VERTEX_PROJECT_ID")
    return VertexProvider(
        model_id, label, model=model, settings=settings, api_key=api_key, secrets=secrets,
        project=None if api_key else project, location=location, credentials=credentials,
    )
