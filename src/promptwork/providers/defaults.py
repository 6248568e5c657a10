"""Which model grades when a suite names none: promptfoo's rule, then the embedded model.

promptfoo picks its default grading model from the API keys it finds: an OpenAI key wins; without
one, Azure OpenAI (a key plus both ``AZURE_DEPLOYMENT_NAME`` and ``AZURE_OPENAI_DEPLOYMENT_NAME``),
then Anthropic, then Google AI Studio (``GEMINI_API_KEY``, ``GOOGLE_API_KEY``, ``PALM_API_KEY``),
then Mistral, then GitHub Models (``GITHUB_TOKEN``). promptwork follows the same order and models,
reading keys where its providers read them (the environment, then the ``[keys]`` table of the
user config file). Without any of them, the embedded model grades (promptfoo would call OpenAI
and fail). Google's Vertex default (application default credentials) is not detected.

Reasoning models (``gpt-5``, Gemini 2.5 Pro) reject ``temperature: 0`` or spend a small token
limit on thinking, so their defaults are called without those parameters.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from promptwork.providers.local_models import DEFAULT_MODEL
from promptwork.secrets import Secrets
from promptwork.types import Params

#: Parameters of a grading call (deterministic, short) unless the model rejects them.
GRADER_PARAMS = Params(temperature=0, max_tokens=256)
_REASONING_PARAMS = Params()

OPENAI_MODEL = "gpt-5"
ANTHROPIC_MODEL = "claude-sonnet-4-5-20250929"
GEMINI_MODEL = "gemini-2.5-pro"
MISTRAL_MODEL = "mistral-large-latest"
GITHUB_MODEL = "openai/gpt-5"


@dataclass(frozen=True)
class DefaultGrader:
    """The grading model used when neither a check nor its test names one.

    Attributes:
        id: Model id (``openai:gpt-5``, ``local:gemma3-270m``...).
        reason: Why it was chosen (which key was found, or that none was).
        config: Provider config for it.
        params: Parameters of its grading calls.
        embedding: promptfoo's default embedding model in the same situation, if any.
    """

    id: str
    reason: str
    config: dict[str, Any] = field(default_factory=dict)
    params: Params = GRADER_PARAMS
    embedding: str | None = None

    @property
    def ref(self) -> tuple[str, dict[str, Any]]:
        """``(id, config)``, as grading provider references are passed around."""
        return self.id, dict(self.config)

    def describe(self) -> dict[str, Any]:
        """What the run records: the model and why."""
        return {"id": self.id, "reason": self.reason}


def default_grader(env: Mapping[str, str] | None = None) -> DefaultGrader:
    """promptfoo's default grading model for the keys available, else the embedded model."""
    secrets = Secrets(env)

    def has(*names: str) -> str | None:
        return next((name for name in names if secrets.get(name)), None)

    def env_var(name: str) -> str | None:
        return (secrets.get(name) or "").strip() or None

    if has("OPENAI_API_KEY"):
        return DefaultGrader(f"openai:{OPENAI_MODEL}", "OPENAI_API_KEY is set",
                             params=_REASONING_PARAMS,
                             embedding="openai:embedding:text-embedding-3-large")
    azure_key = has("AZURE_OPENAI_API_KEY", "AZURE_API_KEY")
    deployment = env_var("AZURE_OPENAI_DEPLOYMENT_NAME")
    if azure_key and deployment and env_var("AZURE_DEPLOYMENT_NAME"):
        embedding = env_var("AZURE_OPENAI_EMBEDDING_DEPLOYMENT_NAME") or deployment
        return DefaultGrader(
            f"azure:chat:{deployment}",
            f"{azure_key}, AZURE_DEPLOYMENT_NAME and AZURE_OPENAI_DEPLOYMENT_NAME are set",
            embedding=f"azure:embedding:{embedding}")
    if has("ANTHROPIC_API_KEY"):
        return DefaultGrader(f"anthropic:messages:{ANTHROPIC_MODEL}", "ANTHROPIC_API_KEY is set",
                             embedding="openai:embedding:text-embedding-3-large")
    google = has("GEMINI_API_KEY", "GOOGLE_API_KEY", "PALM_API_KEY")
    if google:
        config = {"api_key_env": google} if google == "PALM_API_KEY" else {}
        return DefaultGrader(f"google:{GEMINI_MODEL}", f"{google} is set", config,
                             params=Params(temperature=0),
                             embedding="vertex:embedding:text-embedding-004")
    if has("MISTRAL_API_KEY"):
        return DefaultGrader(f"mistral:{MISTRAL_MODEL}", "MISTRAL_API_KEY is set",
                             embedding="mistral:embedding:mistral-embed")
    if has("GITHUB_TOKEN"):
        return DefaultGrader(f"github:{GITHUB_MODEL}", "GITHUB_TOKEN is set",
                             params=_REASONING_PARAMS)
    return DefaultGrader(
        DEFAULT_MODEL,
        "no grading model named and no vendor key found (OPENAI_API_KEY, ANTHROPIC_API_KEY, "
        "GEMINI_API_KEY, ...): the embedded model grades",
    )
