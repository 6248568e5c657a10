"""Core value types shared by every layer: messages, parameters, completions, capabilities.

Hot-path records are frozen slotted dataclasses (cheap to build thousands of times); user-facing
input that needs validation (:class:`Params`) is a Pydantic model.
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from promptwork.errors import ParamError

Role = Literal["system", "user", "assistant"]
ROLES: tuple[str, ...] = ("system", "user", "assistant")


@dataclass(frozen=True, slots=True)
class Message:
    """One chat message.

    ``content`` is its text. A multi-part message (text and images, promptfoo's and OpenAI's
    ``[{type: text}, {type: image_url}]``) also keeps its ``parts`` in OpenAI's form; its
    ``content`` is then the text parts joined. Only providers whose capabilities include
    ``images`` send parts; the others refuse such messages by name.
    """

    role: Role
    content: str
    parts: tuple[dict[str, Any], ...] | None = None

    def to_dict(self) -> dict[str, Any]:
        if self.parts is not None:
            return {"role": self.role, "content": [dict(p) for p in self.parts]}
        return {"role": self.role, "content": self.content}

    @property
    def images(self) -> tuple[str, ...]:
        """The image URLs (``https:`` or ``data:``) of a multi-part message."""
        return tuple(p["image_url"]["url"] for p in self.parts or () if p["type"] == "image_url")


@dataclass(frozen=True, slots=True)
class RenderedPrompt:
    """A prompt ready for a model: chat messages, and whether it was plain text.

    ``plain`` is true when the source had no role sections (one user message). Text-completion
    providers (base models) then send that text as is; otherwise they lay the turns out as text.
    """

    messages: tuple[Message, ...]
    plain: bool = False
    #: The test's vars it was rendered with, for providers that are handed them (promptfoo's
    #: ``context.vars`` of ``file://provider.py``); part of the cache key only for those.
    vars: Mapping[str, Any] | None = field(default=None, compare=False)

    @classmethod
    def from_text(cls, text: str) -> RenderedPrompt:
        return cls((Message("user", text),), plain=True)

    def as_text(self) -> str:
        """The prompt as one string, for text-completion (base) models.

        A plain prompt is its text; chat turns become ``System:/User:/Assistant:`` paragraphs ending
        with ``Assistant:`` so that a base model continues as the assistant.
        """
        if self.plain and len(self.messages) == 1:
            return self.messages[0].content
        parts = [f"{m.role.capitalize()}: {m.content}" for m in self.messages]
        if not self.messages or self.messages[-1].role != "assistant":
            parts.append("Assistant:")
        return "\n\n".join(parts)

    def to_list(self) -> list[dict[str, Any]]:
        return [m.to_dict() for m in self.messages]

    def has_images(self) -> bool:
        return any(m.images for m in self.messages)


class Params(BaseModel):
    """Playground-style generation parameters. ``None`` means "provider default"."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    temperature: float | None = Field(default=None, ge=0.0, le=2.0)
    top_p: float | None = Field(default=None, gt=0.0, le=1.0)
    max_tokens: int | None = Field(default=None, ge=1)
    stop: tuple[str, ...] | None = None
    seed: int | None = None
    frequency_penalty: float | None = Field(default=None, ge=-2.0, le=2.0)
    presence_penalty: float | None = Field(default=None, ge=-2.0, le=2.0)
    response_schema: dict[str, Any] | None = None
    logprobs: bool | None = None
    #: With ``logprobs``: also the most likely tokens at each position (that many).
    top_logprobs: int | None = Field(default=None, ge=1, le=20)
    #: Sample only among the k most likely tokens (llama.cpp, Anthropic, Gemini).
    top_k: int | None = Field(default=None, ge=1)
    #: JSON mode: the answer is some JSON object (OpenAI's ``response_format: json_object``).
    json_object: bool | None = None
    #: Tool (function) definitions and the choice among them, sent as the API takes them.
    tools: tuple[dict[str, Any], ...] | None = None
    tool_choice: str | dict[str, Any] | None = None
    #: Reasoning models' effort (``low``, ``medium``, ``high``...), sent as the API takes it.
    reasoning_effort: str | None = None

    @field_validator(
        "temperature", "top_p", "max_tokens", "seed", "frequency_penalty", "presence_penalty",
        "top_logprobs", "top_k", mode="before",
    )
    @classmethod
    def _no_bool(cls, value: Any) -> Any:
        # YAML's `yes`/`true` would otherwise pass as 1 or 1.0.
        if isinstance(value, bool):
            raise ValueError("expected a number, got a boolean")
        return value

    @classmethod
    def parse(cls, values: Mapping[str, Any] | None, where: str = "") -> Params:
        """Validate user-given values, with a clear message naming the allowed parameters."""
        prefix = f"{where}: " if where else ""
        if values is not None and not isinstance(values, Mapping):
            raise ParamError(
                f"{prefix}parameters must be a mapping of names to values, "
                f"got {type(values).__name__}"
            )
        values = dict(values or {})
        if isinstance(values.get("stop"), str):
            values["stop"] = [values["stop"]]
        unknown = sorted(str(k) for k in set(values) - set(PARAM_NAMES))
        if unknown:
            hints = []
            for name in unknown:
                close = difflib.get_close_matches(name, PARAM_NAMES, n=1, cutoff=0.6)
                hints.append(f"{name!r}" + (f" (did you mean {close[0]!r}?)" if close else ""))
            raise ParamError(
                f"{prefix}unknown parameter{'s' if len(unknown) > 1 else ''} "
                f"{', '.join(hints)}; allowed: {', '.join(PARAM_NAMES)}"
            )
        try:
            return cls.model_validate(values)
        except ValidationError as exc:
            problems = "; ".join(
                f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()
            )
            raise ParamError(f"{prefix}bad parameter value: {problems}") from None

    def __hash__(self) -> int:
        # The generated hash fails on the ``response_schema`` dict.
        return hash(json.dumps(self.given(), sort_keys=True))

    def given(self) -> dict[str, Any]:
        """Only the parameters that were set, as plain JSON-able values."""
        return self.model_dump(exclude_none=True, mode="json")

    def bare_schema(self) -> dict[str, Any] | None:
        """The JSON schema the answer must follow, without OpenAI's ``{name, schema}`` wrapper.

        ``json_object`` alone stands for "any JSON object".
        """
        schema = self.response_schema
        if schema is not None and "name" in schema and isinstance(schema.get("schema"), dict):
            inner: dict[str, Any] = schema["schema"]
            return inner
        if schema is None and self.json_object:
            return {"type": "object"}
        return schema

    def merged(self, other: Params | dict[str, Any] | None) -> Params:
        """These params overridden by ``other``'s set values."""
        if other is None:
            return self
        extra = other.given() if isinstance(other, Params) else Params.parse(other).given()
        return Params.model_validate({**self.given(), **extra})


PARAM_NAMES: tuple[str, ...] = tuple(Params.model_fields)


@dataclass(frozen=True, slots=True)
class Usage:
    prompt_tokens: int | None = None
    completion_tokens: int | None = None

    @property
    def total_tokens(self) -> int | None:
        if self.prompt_tokens is None and self.completion_tokens is None:
            return None
        return (self.prompt_tokens or 0) + (self.completion_tokens or 0)


@dataclass(frozen=True, slots=True)
class TokenLogprob:
    """One answer token and its log-probability.

    Attributes:
        token: The token's text.
        logprob: Its log-probability.
        top: The most likely tokens at this position, most likely first (when asked for with
            ``top_logprobs``).
    """

    token: str
    logprob: float
    top: tuple[TokenLogprob, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"token": self.token, "logprob": self.logprob}
        if self.top:
            out["top"] = [{"token": t.token, "logprob": t.logprob} for t in self.top]
        return out


@dataclass(frozen=True, slots=True)
class Completion:
    """What a model call returned.

    Attributes:
        text: The answer.
        provider: Provider id that produced it (``local:gemma3-270m``).
        usage: Prompt and completion token counts.
        latency_ms: Wall time of the call (0 for a cache hit's original latency is kept).
        cost: US dollars when the price is known, else ``None``.
        finish_reason: ``stop``, ``length``, ... as the provider reports it.
        logprobs: Per-token log-probabilities of the answer, when asked for and supported.
        raw: The provider's raw response (JSON-able), for debugging.
        cached: True when served from the cache.
    """

    text: str
    provider: str
    usage: Usage = field(default_factory=Usage)
    latency_ms: float = 0.0
    cost: float | None = None
    finish_reason: str | None = None
    logprobs: tuple[TokenLogprob, ...] | None = None
    raw: Any = None
    cached: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {
            "text": self.text,
            "provider": self.provider,
            "prompt_tokens": self.usage.prompt_tokens,
            "completion_tokens": self.usage.completion_tokens,
            "total_tokens": self.usage.total_tokens,
            "latency_ms": round(self.latency_ms, 3),
            "cost": self.cost,
            "finish_reason": self.finish_reason,
            "logprobs": (
                [t.to_dict() for t in self.logprobs] if self.logprobs is not None else None
            ),
            "cached": self.cached,
        }


@dataclass(frozen=True, slots=True)
class Capabilities:
    """What a provider can do. The runner and CLI decide from these flags, never from types."""

    chat: bool = True
    completion: bool = False
    streaming: bool = False
    json_schema: bool = False
    logprobs: bool = False
    images: bool = False
    batching: bool = False
