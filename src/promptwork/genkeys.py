"""Generation parameters written in a ``config`` mapping, as promptfoo suites write them.

promptfoo sets generation parameters inside a provider's ``config`` (and a prompt's), next to the
connection keys, in the vendor's spelling: ``max_tokens`` or ``maxTokens``, ``topP``,
``maxOutputTokens`` and ``stopSequences`` (Gemini), ``response_format`` (OpenAI),
``generationConfig: {...}`` (Gemini, nested). :func:`split_config` takes those out of a config and
returns them as :class:`~promptwork.types.Params`; what is left are the provider's own options.
Whether a provider can honour a parameter is decided later, by ``Provider.check_params``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from promptwork.errors import ParamError
from promptwork.types import PARAM_NAMES, Params

#: promptfoo / vendor spelling -> :class:`Params` field.
ALIASES: dict[str, str] = {
    **{name: name for name in PARAM_NAMES},
    "maxTokens": "max_tokens",
    "max_completion_tokens": "max_tokens",
    "maxCompletionTokens": "max_tokens",
    "max_output_tokens": "max_tokens",
    "maxOutputTokens": "max_tokens",
    "topP": "top_p",
    "topK": "top_k",
    "frequencyPenalty": "frequency_penalty",
    "presencePenalty": "presence_penalty",
    "stop_sequences": "stop",
    "stopSequences": "stop",
    "responseSchema": "response_schema",
    "topLogprobs": "top_logprobs",
    "toolChoice": "tool_choice",
    "reasoningEffort": "reasoning_effort",
    "jsonObject": "json_object",
}
#: Keys whose value is translated, not copied: ``response_format`` and Gemini's MIME type.
FORMAT_KEYS = ("response_format", "responseFormat", "responseMimeType", "response_mime_type")
#: Gemini's nested mapping of generation keys.
NESTED_KEYS = ("generationConfig", "generation_config")
#: Every config key read as a generation parameter.
GENERATION_KEYS: tuple[str, ...] = (*ALIASES, *FORMAT_KEYS, *NESTED_KEYS)


class GenerationKeyError(ParamError):
    """A generation key in a config has a bad value.

    Attributes:
        key: The config key as written (for the file:line of the message).
    """

    def __init__(self, key: str, message: str):
        super().__init__(message)
        self.key = key


def split_config(config: Mapping[str, Any], where: str = "") -> tuple[dict[str, Any], Params]:
    """Separate a config's generation parameters from the rest.

    Args:
        config: A provider's (or a prompt's) ``config`` mapping.
        where: Prefix of error messages (a provider id, ``prompts[0].config``).

    Returns:
        The other keys (the provider's own options), and the parameters.

    Raises:
        GenerationKeyError: A generation key has a bad value, or two spellings of one
            parameter disagree; ``key`` names the config key.
    """
    prefix = f"{where}: " if where else ""
    rest: dict[str, Any] = {}
    found: dict[str, tuple[str, Any]] = {}  # field -> (key as written, value)

    def put(key: str, name: str, value: Any) -> None:
        if name in found and found[name][1] != value:
            raise GenerationKeyError(
                key, f"{prefix}{found[name][0]!r} and {key!r} both set {name} "
                f"({found[name][1]!r} vs {value!r}); keep one")
        found[name] = (key, value)

    def read(mapping: Mapping[str, Any], nested: str | None) -> None:
        for key, value in mapping.items():
            shown = f"{nested}.{key}" if nested else str(key)
            if nested is None and key in NESTED_KEYS:
                if not isinstance(value, Mapping):
                    raise GenerationKeyError(key, f"{prefix}{key!r} must be a mapping")
                read(value, str(key))
            elif key in ALIASES:
                put(shown, ALIASES[key], value)
            elif key in FORMAT_KEYS:
                for name, translated in _format(shown, value, prefix).items():
                    put(shown, name, translated)
            elif nested is not None:
                raise GenerationKeyError(
                    nested, f"{prefix}unknown generation key {shown!r}; allowed: "
                    f"{', '.join(k for k in GENERATION_KEYS if k not in NESTED_KEYS)}")
            else:
                rest[key] = value

    read(config, None)
    values = {name: value for name, (_key, value) in found.items()}
    try:
        params = Params.parse(values, where)
    except ParamError as exc:
        bad = next((key for name, (key, value) in found.items()
                    if not _valid(name, value)), next(iter(found.values()))[0])
        raise GenerationKeyError(bad.split(".")[0], exc.message) from None
    return rest, params


def prompt_config_params(config: Any, where: str) -> Params:
    """A prompt's own ``config`` (or ``-p`` options): generation parameters only.

    Raises:
        GenerationKeyError: A key is not a generation parameter, or has a bad value.
    """
    if not isinstance(config, Mapping):
        raise GenerationKeyError("config", f"{where}: 'config' must be a mapping")
    rest, params = split_config(config, where)
    if rest:
        key = str(next(iter(rest)))
        raise GenerationKeyError(
            key, f"{where}: {key!r} is not a generation parameter; only those go here "
            "(temperature, max_tokens, top_p, stop, seed, response_format...)")
    return params


def _valid(name: str, value: Any) -> bool:
    try:
        Params.parse({name: value})
    except ParamError:
        return False
    return True


def _format(key: str, value: Any, prefix: str) -> dict[str, Any]:
    """``response_format`` / ``responseMimeType`` as :class:`Params` fields."""
    if key.endswith(("responseMimeType", "response_mime_type")):
        if value == "application/json":
            return {"json_object": True}
        if value == "text/plain":
            return {}
        raise GenerationKeyError(
            key, f"{prefix}{key} must be application/json or text/plain, got {value!r}")
    if not isinstance(value, Mapping):
        raise GenerationKeyError(
            key, f"{prefix}{key} must be a mapping such as {{type: json_object}} or "
            f"{{type: json_schema, json_schema: {{name, schema}}}}, got {value!r}")
    kind = value.get("type")
    if kind == "text":
        return {}
    if kind == "json_object":
        return {"json_object": True}
    if kind == "json_schema":
        spec = value.get("json_schema")
        if not isinstance(spec, Mapping) or not isinstance(spec.get("schema"), Mapping):
            raise GenerationKeyError(
                key, f"{prefix}{key} of type json_schema needs json_schema: {{name, schema}}")
        return {"response_schema": {"name": "response", **spec}}
    raise GenerationKeyError(
        key, f"{prefix}{key}.type must be text, json_object or json_schema, got {kind!r}")

