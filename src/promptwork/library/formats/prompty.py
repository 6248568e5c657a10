"""Microsoft Prompty (``.prompty``): YAML front matter and a Jinja2 body with ``system:``,
``user:`` and ``assistant:`` lines starting each message.

Both front matter generations are read: the first (``model: {api, configuration: {type, name |
azure_deployment}, parameters}``, ``inputs`` as a mapping of name to ``{type, description,
default}`` or to a sample value, ``sample``) and the second (``model: {id, provider, options}``,
``inputs`` as a list of ``{name, kind, description, default, required}``). Carried over: name,
description, tags, model, the parameters promptwork knows, inputs; ``sample`` values are given
back as samples (they are examples, not defaults). Dropped and listed: authors, version,
connection settings, outputs, tools, role line attributes, other parameters. Role lines are
matched as Prompty does (any case, an optional leading ``#``); ``function:`` and ``tool:``
messages are refused by name. Export writes the first generation, which Prompty's tools read.
"""

from __future__ import annotations

import re
from typing import Any

import yaml

from promptwork.errors import ConfigError
from promptwork.library.formats.common import (
    Draft,
    Dropped,
    Exported,
    Imported,
    Source,
    give_params,
    input_spec,
    read_front_matter_mapping,
    slug,
    take_params,
)
from promptwork.types import PARAM_NAMES
from promptwork.yamlfile import LineMap

_ROLE = re.compile(r"^\s*#?\s*(system|user|assistant|developer|function|tool)\s*"
                   r"(\[[^\]]*\])?\s*:\s*$", re.IGNORECASE)
_IMAGE = re.compile(r"!\[[^\]]*\]\([^)\s]+")
PARAM_MAP = {name: name for name in PARAM_NAMES} | {
    "maxOutputTokens": "max_tokens", "topP": "top_p", "topK": "top_k",
    "stopSequences": "stop", "frequencyPenalty": "frequency_penalty",
    "presencePenalty": "presence_penalty",
}
_KNOWN = ("name", "description", "tags", "model", "inputs", "sample", "template",
          "$schema", "metadata")


def import_prompty(raw: str, path: str) -> list[Imported]:
    """A ``.prompty`` file as a promptwork prompt.

    Raises:
        ConfigError: Bad YAML, a template engine other than Jinja2 with logic, a ``function:``
            or ``tool:`` message, with file and line.
    """
    data, where, body, first = read_front_matter_mapping(raw, path)
    stem = path.rsplit("/", 1)[-1].removesuffix(".prompty")
    draft = Draft(str(data.get("name") or stem), path, "prompty")
    if data.get("description"):
        draft.description = str(data["description"])
    meta: dict[str, Any] = data["metadata"] if isinstance(data.get("metadata"), dict) else {}
    tags = data.get("tags") or meta.get("tags") or []
    draft.tags = [str(t) for t in tags] if isinstance(tags, list) else []
    _template(data.get("template"), body, where, path)
    _model(data.get("model"), draft, where)
    _inputs(data.get("inputs"), draft, where)
    sample = data.get("sample")
    if isinstance(sample, dict):
        draft.samples = dict(sample)
    elif sample is not None:
        draft.drop("sample", "a sample file is not read; give its values with --vars",
                   where.line_of(["sample"]))
    for key in data:
        if key not in _KNOWN:
            draft.drop(str(key), "promptwork prompt files have no such key",
                       where.line_of([str(key)]))
    for key in meta:
        if key != "tags":
            draft.drop(f"metadata.{key}", "not carried over", where.line_of(["metadata", key]))
    draft.messages = _messages(body, first, path, draft)
    if image := _IMAGE.search(body):
        draft.drop("images", "Markdown images (![alt](file)) stay text: promptwork prompt files "
                   "hold no image parts", first + body.count("\n", 0, image.start()))
    return [draft.finish()]


def _template(spec: Any, body: str, where: LineMap, path: str) -> None:
    kind = spec.get("format", spec.get("type")) if isinstance(spec, dict) else spec
    if isinstance(kind, dict):
        kind = kind.get("kind")
    if kind in (None, "jinja2"):
        return
    if kind == "mustache" and not re.search(r"\{\{\s*[#^/>&]", body):
        return  # plain {{name}} mustache reads the same in Jinja2
    raise where.error(["template"], f"template engine {kind!r} is not supported (Jinja2, or "
                      "mustache with plain variables only)")


def _model(model: Any, draft: Draft, where: LineMap) -> None:
    if model is None:
        return
    if isinstance(model, str):
        model = {"id": model}
    if not isinstance(model, dict):
        raise where.error(["model"], "model must be a mapping")
    config = model.get("configuration") or model.get("connection") or {}
    config = config if isinstance(config, dict) else {}
    provider = str(model.get("provider") or config.get("type") or "openai").lower()
    name = model.get("id") or config.get("name") or config.get("model") or \
        config.get("azure_deployment")
    if name:
        if provider in ("azure_openai", "azure", "foundry"):
            draft.model = f"azure:chat:{name}"
        elif provider in ("openai", "anthropic", "ollama"):
            draft.model = f"{provider}:{name}"
        else:
            draft.drop("model", f"provider {provider!r} has no promptwork equivalent",
                       where.line_of(["model"]))
    if model.get("api") == "completion":
        draft.mode = "completion"
    params = model.get("parameters", model.get("options"))
    key = "model.parameters" if "parameters" in model else "model.options"
    take_params(params, draft, key, where, PARAM_MAP)
    for sub in model:
        if sub not in ("api", "configuration", "connection", "parameters", "options", "id",
                       "provider"):
            draft.drop(f"model.{sub}", "not carried over", where.line_of(["model", sub]))
    for sub in config:
        if sub not in ("type", "name", "model", "azure_deployment"):
            draft.drop(f"model connection {sub}", "connection settings stay with the "
                       "provider's configuration", where.line_of(["model"]))


def _inputs(inputs: Any, draft: Draft, where: LineMap) -> None:
    if inputs is None:
        return
    if isinstance(inputs, list):  # second generation: [{name, kind, ...}]
        for i, item in enumerate(inputs):
            if not isinstance(item, dict) or not item.get("name"):
                raise where.error(["inputs", i], "an input needs a name")
            draft.inputs[str(item["name"])] = input_spec(
                item.get("kind", item.get("type")), item.get("description"),
                item.get("default"), item.get("required"))
            if item.get("example") is not None:
                draft.samples[str(item["name"])] = item["example"]
        return
    if not isinstance(inputs, dict):
        raise where.error(["inputs"], "inputs must be a mapping or a list")
    for name, spec in inputs.items():
        if isinstance(spec, dict) and ("type" in spec or "description" in spec
                                       or "default" in spec):
            draft.inputs[str(name)] = input_spec(spec.get("type"), spec.get("description"),
                                                 spec.get("default"), spec.get("required"))
            if spec.get("sample") is not None:
                draft.samples[str(name)] = spec["sample"]
        else:  # shortcut: name: sample value
            draft.inputs[str(name)] = input_spec("any")
            draft.samples[str(name)] = spec


def _messages(body: str, first: int, path: str, draft: Draft) -> list[tuple[str | None, str]]:
    sections: list[tuple[str | None, list[str]]] = [(None, [])]
    for i, line in enumerate(body.splitlines(keepends=True)):
        m = _ROLE.match(line)
        if not m:
            sections[-1][1].append(line)
            continue
        role = m.group(1).lower()
        if role in ("function", "tool"):
            raise ConfigError(f"{role} messages are not supported (promptwork prompts hold "
                              "system, user and assistant messages)", path, first + i)
        if m.group(2):
            draft.drop(f"{role} line attributes", f"{m.group(2)} not carried over", first + i)
        sections.append(("system" if role == "developer" else role, []))
    head = "".join(sections[0][1]).strip()
    if len(sections) == 1:
        return [(None, head)]
    out: list[tuple[str | None, str]] = [("user", head)] if head else []
    out += [(role, "".join(lines).strip("\n")) for role, lines in sections[1:]]
    return out


def export_prompty(source: Source) -> Exported:
    """A promptwork prompt as a ``.prompty`` file (Prompty's first front matter generation)."""
    dropped: list[Dropped] = []
    meta = source.meta
    front: dict[str, Any] = {"name": source.name}
    if meta.description:
        front["description"] = meta.description
    if meta.tags:
        front["tags"] = list(meta.tags)
    model: dict[str, Any] = {"api": "completion" if meta.mode == "completion" else "chat"}
    if meta.model:
        provider, _, name = meta.model.partition(":")
        name = name.removeprefix("chat:").removeprefix("messages:")
        if provider == "azure":
            model["configuration"] = {"type": "azure_openai", "azure_deployment": name}
        elif provider in ("openai", "anthropic", "ollama") and name:
            model["configuration"] = {"type": provider, "name": name}
        else:
            dropped.append(Dropped("model", f"{meta.model!r} has no Prompty configuration"))
    params = give_params(source, {n: n for n in PARAM_NAMES}, dropped)
    if params:
        model["parameters"] = params
    front["model"] = model
    inputs: dict[str, Any] = {}
    for name, spec in meta.inputs.items():
        entry: dict[str, Any] = {"type": "number" if spec.type == "integer" else spec.type}
        if spec.description:
            entry["description"] = spec.description
        if spec.default is not None:
            entry["default"] = spec.default
        inputs[name] = entry
    if inputs:
        front["inputs"] = inputs
    if meta.output_schema:
        dropped.append(Dropped("output_schema", "written nowhere: Prompty's outputs are not a "
                               "JSON schema"))
    front["template"] = "jinja2"
    body = "\n\n".join(f"{role or 'user'}:\n{text}" for role, text, _ in source.messages)
    for _role, text, line in source.messages:
        for j, x in enumerate(text.split("\n")):
            if _ROLE.match(x):
                raise ConfigError(f"the line {x.strip()!r} would start a new message in Prompty",
                                  source.path, line + j)
    head = yaml.safe_dump(front, sort_keys=False, allow_unicode=True, width=100)
    return Exported("prompty", {slug(source.name) + ".prompty": f"---\n{head}---\n{body}\n"},
                    dropped)
