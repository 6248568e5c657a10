"""Langfuse prompts as JSON: one prompt object (as its API and SDKs give it) or a list of them.

A prompt object has ``name``, ``type`` (``text`` or ``chat``), ``prompt`` (text, or a list of
``{role, content}`` messages and ``{type: placeholder, name}`` slots), ``config`` (any JSON:
``model`` and model parameters by convention), ``labels``, ``tags`` and ``version``. Variables
are ``{{name}}``, with no logic. Carried over: the text or messages, ``config.model`` (a bare
OpenAI/Anthropic/Google name), the parameters promptwork knows, ``tags``, and ``labels`` (given
back to be applied with ``promptwork prompts label``; ``latest`` is Langfuse's own). Dropped and
listed: placeholders, other config keys, the version number. Of several versions of one name,
the one labelled ``production`` (else the highest version) is imported; the others are listed.
"""

from __future__ import annotations

import json
import re
from typing import Any

from promptwork.errors import ConfigError
from promptwork.library.formats.common import (
    Draft,
    Dropped,
    Exported,
    Imported,
    Source,
    bare_model,
    give_params,
    jinja_literal,
    model_from_bare,
    slug,
    take_params,
)
from promptwork.library.formats.jinjasubset import parse_subset, plain_variables
from promptwork.types import PARAM_NAMES
from promptwork.yamlfile import LineMap

_VAR = re.compile(r"\{\{(.*?)\}\}", re.DOTALL)
_REFERENCE = re.compile(r"@@@langfusePrompt:.*?@@@")
_ROLES = ("system", "user", "assistant")
#: Parameters written into ``config`` on export (promptwork's names are OpenAI's, as Langfuse's
#: playground uses them).
CONFIG_NAMES = {name: name for name in PARAM_NAMES}


def looks_like(data: Any) -> bool:
    """Whether parsed JSON is a Langfuse prompt object or a list of them."""
    items = data if isinstance(data, list) else [data]
    return bool(items) and all(
        isinstance(i, dict) and "prompt" in i and "name" in i for i in items)


def import_langfuse(raw: str, path: str) -> list[Imported]:
    """The prompts of a Langfuse JSON export.

    Raises:
        ConfigError: Invalid JSON, a prompt object without name or prompt, a bad message, a
            variable that is not a plain name, or a reference to another prompt.
    """
    try:
        data = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise ConfigError(f"invalid JSON: {exc.msg}", path, exc.lineno) from None
    items = data if isinstance(data, list) else [data]
    if not looks_like(data):
        raise ConfigError("not a Langfuse prompt: expected an object (or a list of objects) with "
                          "'name' and 'prompt'", path, 1)
    chosen: dict[str, dict[str, Any]] = {}
    skipped: dict[str, list[Any]] = {}
    for item in items:
        name = str(item["name"])
        best = chosen.get(name)
        if best is None or _rank(item) > _rank(best):
            if best is not None:
                skipped.setdefault(name, []).append(best.get("version"))
            chosen[name] = item
        else:
            skipped.setdefault(name, []).append(item.get("version"))
    out = []
    for name, item in chosen.items():
        draft = _import_one(item, path, raw)
        if skipped.get(name):
            versions = ", ".join(str(v) for v in skipped[name])
            draft.drop("versions", f"other versions of {name!r} not imported ({versions}); "
                       "only the production (else latest) one")
        out.append(draft.finish())
    return out


def _rank(item: dict[str, Any]) -> tuple[bool, int]:
    version = item.get("version")
    return ("production" in (item.get("labels") or []),
            version if isinstance(version, int) else 0)


def _import_one(item: dict[str, Any], path: str, raw: str) -> Draft:
    name = str(item["name"])
    draft = Draft(name, path, "langfuse")
    empty = LineMap(path, {})
    at = f"prompt {name!r}"
    prompt = item["prompt"]
    kind = item.get("type") or ("chat" if isinstance(prompt, list) else "text")
    if kind == "text":
        if not isinstance(prompt, str):
            raise ConfigError(f"{at}: a text prompt's 'prompt' must be a string", path)
        draft.messages = [(None, _template(prompt, path, at, raw))]
    elif kind == "chat":
        if not isinstance(prompt, list) or not prompt:
            raise ConfigError(f"{at}: a chat prompt's 'prompt' must be a list of messages", path)
        for i, msg in enumerate(prompt):
            where = f"{at}, message {i + 1}"
            if isinstance(msg, dict) and msg.get("type") == "placeholder":
                draft.drop(f"message {i + 1}", f"placeholder {msg.get('name')!r} (a slot for "
                           "messages given at run time) has no promptwork equivalent")
                continue
            if not isinstance(msg, dict) or msg.get("role") not in _ROLES or \
                    not isinstance(msg.get("content"), str):
                raise ConfigError(f"{where}: expected {{role: system|user|assistant, content: "
                                  "text}", path)
            draft.messages.append((msg["role"], _template(msg["content"], path, where, raw)))
        if not draft.messages:
            raise ConfigError(f"{at}: only placeholders, no message to import", path)
    else:
        raise ConfigError(f"{at}: type must be 'text' or 'chat', got {kind!r}", path)
    config = item.get("config") or {}
    if not isinstance(config, dict):
        raise ConfigError(f"{at}: config must be an object", path)
    model_from_bare(config.get("model"), draft, "config.model", None)
    known = {k: v for k, v in config.items() if k in PARAM_NAMES}
    take_params(known, draft, "config", empty)
    for key in config:
        if key != "model" and key not in PARAM_NAMES:
            draft.drop(f"config.{key}", "promptwork has no such parameter")
    draft.labels = [str(label) for label in item.get("labels") or [] if label != "latest"]
    draft.tags = [str(tag) for tag in item.get("tags") or []]
    if item.get("version") is not None:
        draft.drop("version", f"Langfuse version {item['version']}: promptwork identifies "
                   "versions by content")
    for key in item:
        if key not in ("name", "type", "prompt", "config", "labels", "tags", "version"):
            draft.drop(str(key), "not carried over")
    return draft


def _line_of(raw: str, text: str) -> int | None:
    """The line of the JSON file where the string ``text`` is written (JSON strings hold no
    raw newlines), when it is written plainly."""
    found = raw.find(json.dumps(text, ensure_ascii=False)[1:-1])
    return raw.count("\n", 0, found) + 1 if found >= 0 and text else None


def _template(text: str, path: str, at: str, raw: str) -> str:
    if m := _REFERENCE.search(text):
        raise ConfigError(f"{at}: the prompt reference {m.group()!r} (another Langfuse prompt "
                          "inserted) is not supported; paste its text", path, _line_of(raw, text))
    out: list[str] = []
    pos = 0
    for m in _VAR.finditer(text):
        out.append(jinja_literal(text[pos:m.start()]))
        name = m.group(1).strip()
        if not name.isidentifier():
            raise ConfigError(f"{at}: variable {{{{{m.group(1)}}}}} is not a plain name "
                              "(letters, digits, _)", path, _line_of(raw, text))
        out.append(f"{{{{ {name} }}}}")
        pos = m.end()
    out.append(jinja_literal(text[pos:]))
    return "".join(out)


def export_langfuse(source: Source, labels: list[str] | None = None) -> Exported:
    """A promptwork prompt as a Langfuse prompt object (JSON).

    Raises:
        ConfigError: A template with logic (Langfuse holds variables only), by name and line.
    """
    dropped: list[Dropped] = []
    texts = []
    for role, text, line in source.messages:
        pieces = plain_variables(parse_subset(text, source.path, line, "Langfuse"),
                                 source.path, "Langfuse")
        parts = []
        for piece in pieces:
            if piece.kind == "var":
                if piece.optional:
                    dropped.append(Dropped(piece.path, "Langfuse has no defaults in templates",
                                           piece.line))
                parts.append(f"{{{{{piece.path}}}}}")
            elif "{{" in piece.value:
                raise ConfigError("the text holds '{{', which Langfuse would read as a "
                                  "variable", source.path, piece.line)
            else:
                parts.append(piece.value)
        texts.append((role, "".join(parts)))
    obj: dict[str, Any] = {"name": source.name}
    if source.plain:
        obj.update(type="text", prompt=texts[0][1])
    else:
        obj.update(type="chat", prompt=[{"role": r, "content": t} for r, t in texts])
    config: dict[str, Any] = {}
    model = bare_model(source.meta.model, dropped)
    if model:
        config["model"] = model
    config.update(give_params(source, CONFIG_NAMES, dropped))
    obj["config"] = config
    obj["labels"] = list(labels or [])
    obj["tags"] = list(source.meta.tags)
    meta = source.meta
    if meta.description:
        dropped.append(Dropped("description", "Langfuse prompts have no description"))
    for name, spec in meta.inputs.items():
        if spec.default is not None or spec.description:
            dropped.append(Dropped(f"inputs.{name}", "Langfuse declares no variables (type, "
                                   "default, description)"))
    if meta.output_schema:
        dropped.append(Dropped("output_schema", "Langfuse has no output schema"))
    text = json.dumps(obj, indent=2, ensure_ascii=False) + "\n"
    return Exported("langfuse", {slug(source.name) + ".json": text}, dropped)
