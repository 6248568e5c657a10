"""Google's Dotprompt (``.prompt`` files: YAML front matter and a Handlebars template).

Carried over: ``name``, ``description``, ``model`` (``googleai/``, ``vertexai/``, ``openai/``,
``anthropic/``, ``ollama/`` names), ``config`` (``temperature``, ``maxOutputTokens``, ``topP``,
``topK``, ``stopSequences``, ``seed``, penalties), ``input.schema`` (Picoschema or JSON Schema:
the variables, their types, descriptions and which are optional) with ``input.default``,
``output.schema`` and ``output.format: json``. The template is translated to Jinja2 by
:mod:`promptwork.library.formats.handlebars`. Everything else (``tools``, ``variant``,
``metadata``, extension keys) is listed as dropped.
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
from promptwork.library.formats.handlebars import translate
from promptwork.library.formats.jinjasubset import Piece, parse_subset
from promptwork.yamlfile import LineMap

CONFIG_NAMES = {
    "temperature": "temperature", "maxOutputTokens": "max_tokens", "topP": "top_p",
    "topK": "top_k", "stopSequences": "stop", "seed": "seed",
    "frequencyPenalty": "frequency_penalty", "presencePenalty": "presence_penalty",
}
_PROVIDERS = {"googleai": "google", "vertexai": "vertex", "openai": "openai",
              "anthropic": "anthropic", "ollama": "ollama"}
_KEY = re.compile(r"([A-Za-z_]\w*)(\?)?(?:\(\s*(\w+)\s*(?:,\s*(.*))?\))?")
_SCALARS = ("string", "number", "integer", "boolean", "null", "any")
#: Front matter keys that only Dotprompt uses (tells a Dotprompt file from promptwork's).
KEYS = ("config", "input", "output", "variant", "tools", "metadata", "ext")


def import_dotprompt(raw: str, path: str) -> list[Imported]:
    """A ``.prompt`` file of Dotprompt as a promptwork prompt.

    Raises:
        ConfigError: Bad YAML, a bad schema, or a template outside the translated subset.
    """
    data, where, body, first = read_front_matter_mapping(raw, path)
    stem = path.rsplit("/", 1)[-1].removesuffix(".prompt")
    draft = Draft(str(data.get("name") or stem), path, "dotprompt")
    if data.get("description"):
        draft.description = str(data["description"])
    _model(data.get("model"), draft, where)
    take_params(data.get("config"), draft, "config", where, CONFIG_NAMES)
    optional = _input(data.get("input"), draft, where, path)
    _output(data.get("output"), draft, where, path)
    for key in data:
        if key not in ("name", "description", "model", "config", "input", "output"):
            draft.drop(str(key), "promptwork prompt files have no such key",
                       where.line_of([str(key)]))
    draft.messages = translate(body.rstrip("\n"), path, first, optional)
    return [draft.finish()]


def _model(model: Any, draft: Draft, where: LineMap) -> None:
    if model is None:
        return
    provider, _, name = str(model).partition("/")
    if provider in _PROVIDERS and name:
        draft.model = f"{_PROVIDERS[provider]}:{name}"
    else:
        draft.drop("model", f"{model!r}: no promptwork provider for this plugin",
                   where.line_of(["model"]))


def _input(section: Any, draft: Draft, where: LineMap, path: str) -> set[str]:
    if section is None:
        return set()
    if not isinstance(section, dict):
        raise where.error(["input"], "input must be a mapping (schema, default)")
    optional: set[str] = set()
    schema = section.get("schema")
    if schema is not None:
        json_schema = to_json_schema(schema, where, ("input", "schema"))
        required = set(json_schema.get("required", []))
        for name, prop in json_schema.get("properties", {}).items():
            draft.inputs[name] = input_spec(prop.get("type", "any"), prop.get("description"),
                                            required=name in required)
            if name not in required:
                optional.add(name)
            inner = {k: v for k, v in prop.items() if k not in ("type", "description")}
            if inner:
                draft.drop(f"input.schema.{name}", f"{', '.join(sorted(inner))}: promptwork "
                           "checks an input's type only", where.line_of(["input", "schema"]))
    defaults = section.get("default") or {}
    if not isinstance(defaults, dict):
        raise where.error(["input", "default"], "input.default must be a mapping")
    for name, value in defaults.items():
        spec = draft.inputs.setdefault(str(name), input_spec(_type_of(value)))
        spec["default"] = value
        spec.pop("required", None)
    for key in section:
        if key not in ("schema", "default"):
            draft.drop(f"input.{key}", "not carried over", where.line_of(["input", str(key)]))
    return optional


def _output(section: Any, draft: Draft, where: LineMap, path: str) -> None:
    if section is None:
        return
    if not isinstance(section, dict):
        raise where.error(["output"], "output must be a mapping (format, schema)")
    if section.get("schema") is not None:
        draft.output_schema = to_json_schema(section["schema"], where, ("output", "schema"))
    fmt = section.get("format")
    if fmt == "json" and draft.output_schema is None:
        draft.params["json_object"] = True
    elif fmt not in (None, "json", "text"):
        draft.drop("output.format", f"format {fmt!r} is not carried over",
                   where.line_of(["output", "format"]))
    for key in section:
        if key not in ("schema", "format"):
            draft.drop(f"output.{key}", "not carried over", where.line_of(["output", str(key)]))


def _type_of(value: Any) -> str:
    for kind, types in (("boolean", bool), ("integer", int), ("number", float), ("string", str),
                        ("array", list), ("object", dict)):
        if isinstance(value, types):
            return kind
    return "any"


def to_json_schema(schema: Any, where: LineMap, at: tuple[str, ...]) -> dict[str, Any]:
    """A Picoschema (or a JSON Schema, kept as is) as a JSON Schema.

    Raises:
        ConfigError: A field that is not Picoschema, with its line.
    """
    if isinstance(schema, dict) and ("properties" in schema or schema.get("type") in (
            "object", "array", "string", "number", "integer", "boolean")):
        return schema
    if isinstance(schema, str):
        return _scalar(schema, where, at)
    if not isinstance(schema, dict):
        raise where.error(list(at), f"{'.'.join(at)}: not a Picoschema")
    props: dict[str, Any] = {}
    required: list[str] = []
    for key, value in schema.items():
        m = _KEY.fullmatch(str(key))
        if not m:
            raise where.error([*at, str(key)], f"Picoschema field {key!r} is not supported")
        name, opt, kind, desc = m.groups()
        here = (*at, str(key))
        if kind == "array":
            prop: dict[str, Any] = {"type": "array", "items": to_json_schema(value, where, here)}
        elif kind == "object":
            prop = to_json_schema(value, where, here)
        elif kind == "enum":
            prop = {"type": "string", "enum": list(value or [])}
        elif kind is not None:
            raise where.error(list(here), f"Picoschema type ({kind}) is not supported")
        else:
            prop = to_json_schema(value, where, here)
        if desc:
            prop["description"] = desc
        props[name] = prop
        if not opt:
            required.append(name)
    return {"type": "object", "properties": props, "required": required}


def _scalar(text: str, where: LineMap, at: tuple[str, ...]) -> dict[str, Any]:
    kind, _, desc = text.partition(",")
    kind = kind.strip()
    if kind not in _SCALARS:
        raise where.error(list(at), f"Picoschema type {kind!r} is not one of {', '.join(_SCALARS)}")
    out: dict[str, Any] = {} if kind == "any" else {"type": kind}
    if desc.strip():
        out["description"] = desc.strip()
    return out


# --- export ---------------------------------------------------------------------------------


def export_dotprompt(source: Source) -> Exported:
    """A promptwork prompt as a Dotprompt file.

    Raises:
        ConfigError: Template constructs Handlebars' common subset cannot say, by name and line.
    """
    dropped: list[Dropped] = []
    meta = source.meta
    front: dict[str, Any] = {"name": source.name}
    if meta.description:
        front["description"] = meta.description
    if meta.model:
        provider, _, name = meta.model.partition(":")
        back = {v: k for k, v in _PROVIDERS.items()}
        if provider in back and name:
            front["model"] = f"{back[provider]}/{name.removeprefix('chat:')}"
        else:
            dropped.append(Dropped("model", f"{meta.model!r} has no Dotprompt plugin name"))
    config = give_params(source, {v: k for k, v in CONFIG_NAMES.items()}, dropped)
    if config:
        front["config"] = config
    parsed = [(role, parse_subset(text, source.path, line, "Dotprompt"))
              for role, text, line in source.messages]
    schema, defaults = _picoschema(source, dropped)
    for _role, pieces in parsed:  # guarded variables: optional in the schema, as Handlebars is
        for piece in pieces:
            name = piece.path.split(".")[0].split("[")[0]
            if piece.optional and name not in source.meta.inputs and name + "?" not in schema:
                schema[name + "?"] = "any"
    if schema or defaults:
        front["input"] = {k: v for k, v in (("schema", schema), ("default", defaults)) if v}
    if meta.output_schema:
        front["output"] = {"format": "json", "schema": meta.output_schema}
    for key, why in (("tags", "Dotprompt has no tags"), ("mode", "Dotprompt has no mode")):
        if getattr(meta, key):
            dropped.append(Dropped(key, why))
    body = []
    for role, pieces in parsed:
        hb = to_handlebars(pieces, source.path, dropped)
        if role is None:
            body.append(hb)
        else:
            body.append(f'{{{{role "{"model" if role == "assistant" else role}"}}}}\n{hb}')
    head = yaml.safe_dump(front, sort_keys=False, allow_unicode=True, width=100)
    text = f"---\n{head}---\n" + "\n".join(body) + "\n"
    return Exported("dotprompt", {slug(source.name) + ".prompt": text}, dropped)


def _picoschema(source: Source, dropped: list[Dropped]) -> tuple[dict[str, Any], dict[str, Any]]:
    schema: dict[str, Any] = {}
    defaults: dict[str, Any] = {}
    for name, spec in source.meta.inputs.items():
        kind = spec.type if spec.type in _SCALARS else "any"
        if spec.type == "object":
            dropped.append(Dropped(f"inputs.{name}.type", "object is written as any"))
        desc = f", {spec.description}" if spec.description else ""
        key = name if spec.is_required or spec.default is not None else name + "?"
        if spec.type == "array":
            schema[f"{key}(array{desc})"] = "any"
        else:
            schema[key] = kind + desc
        if spec.default is not None:
            defaults[name] = spec.default
    return schema, defaults


def to_handlebars(pieces: list[Piece], path: str, dropped: list[Dropped]) -> str:
    """Subset pieces as Handlebars; lines holding only a block tag get their newline doubled
    (Handlebars removes one), so the text renders as the Jinja2 did."""
    out: list[str] = []
    stack: list[tuple[str, str]] = []  # (closing helper, loop item)
    loops: list[str] = []

    def ref(p: str) -> str:
        if p.startswith("loop."):
            name = {"loop.index0": "@index", "loop.first": "@first", "loop.last": "@last"}.get(p)
            if name is None or not loops:
                raise ConfigError(f"{p} cannot be written in Dotprompt (only index0, first, "
                                  "last)", path)
            return name
        if loops and p.split(".")[0].split("[")[0] not in loops:
            return "@root." + p.replace("[", ".").replace("]", "")
        return p.replace("[", ".").replace("]", "")

    for piece in pieces:
        tl, tr = ("~" if piece.trim_left else ""), ("~" if piece.trim_right else "")
        block = True
        if piece.kind == "text":
            out.append(piece.value.replace("{{", "\\{{"))
            continue
        if piece.kind == "literal":
            out.append(piece.value.replace("{{", "\\{{"))
            continue
        if piece.kind == "var":
            tag, block = f"{{{{{tl}{ref(piece.path)}{tr}}}}}", False
        elif piece.kind == "json":
            indent = f" indent={piece.indent}" if piece.indent else ""
            tag, block = f"{{{{{tl}json {ref(piece.path)}{indent}{tr}}}}}", False
        elif piece.kind in ("if", "elif"):
            if piece.compare is not None:
                if piece.kind == "elif":
                    raise ConfigError("elif with a comparison cannot be written in Dotprompt",
                                      path, piece.line)
                op, value = piece.compare
                helper = "ifEquals" if op == "==" else "unlessEquals"
                lit = f'"{value}"' if isinstance(value, str) else str(value).lower()
                tag = f"{{{{{tl}#{helper} {ref(piece.path)} {lit}{tr}}}}}"
                stack.append((helper, ""))
            elif piece.kind == "elif":
                word = "unless" if piece.negate else "if"
                tag = f"{{{{{tl}else {word} {ref(piece.path)}{tr}}}}}"
            else:
                helper = "unless" if piece.negate else "if"
                tag = f"{{{{{tl}#{helper} {ref(piece.path)}{tr}}}}}"
                stack.append((helper, ""))
        elif piece.kind == "else":
            tag = f"{{{{{tl}else{tr}}}}}"
        elif piece.kind in ("endif", "endfor"):
            helper, item = stack.pop() if stack else ("if", "")
            if item:
                loops.pop()
            tag = f"{{{{{tl}/{helper}{tr}}}}}"
        else:  # for
            tag = f"{{{{{tl}#each {ref(piece.path)} as |{piece.target}|{tr}}}}}"
            stack.append(("each", piece.target))
            loops.append(piece.target)
        out.append(tag + ("\x00" if block else ""))
    return _standalone("".join(out), dropped)


def _standalone(text: str, dropped: list[Dropped]) -> str:
    """Resolve the markers left after block tags: a tag alone on its line gets one more newline
    (Handlebars removes the line's indentation and one newline)."""
    lines = text.split("\n")
    out: list[str] = []
    for i, line in enumerate(lines):
        if "\x00" not in line:
            out.append(line)
            continue
        bare = line.replace("\x00", "")
        alone = re.fullmatch(r"[ \t]*(\{\{~?[#/][^}]*\}\}|\{\{~?else[^}]*\}\})[ \t]*", bare)
        out.append(bare)
        if alone and i + 1 < len(lines):
            if bare != bare.lstrip():
                dropped.append(Dropped("indentation", "the indentation before a block tag "
                                       "alone on its line is removed by Handlebars"))
            out.append("")
    return "\n".join(out)
