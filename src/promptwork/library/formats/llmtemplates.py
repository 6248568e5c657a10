"""Simon Willison's ``llm`` templates (YAML): ``system``, ``prompt``, ``model``, ``defaults``,
``options``, ``schema_object``.

Their text uses Python's ``string.Template``: ``$name`` or ``${name}``, ``$$`` for a dollar.
``$input`` is what the user pipes in; a ``prompt`` without ``$input`` gets that input on a new
line after it when one is given, and a template without ``prompt`` sends the input itself: both
are translated (an optional ``input`` variable). Carried over: the system and user messages,
``defaults`` (as input defaults), ``model`` (a bare OpenAI/Anthropic/Google name), ``options``
that promptwork knows, ``schema_object`` (as the output schema). Dropped and listed: fragments,
attachments, tools, functions, ``extract``, other options.
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
    bare_model,
    give_params,
    input_spec,
    jinja_literal,
    model_from_bare,
    slug,
    take_params,
)
from promptwork.library.formats.jinjasubset import parse_subset, plain_variables
from promptwork.types import PARAM_NAMES
from promptwork.yamlfile import LineMap, load_yaml

_PLACEHOLDER = re.compile(r"\$(?:(\$)|([_a-zA-Z][_a-zA-Z0-9]*)|\{([_a-zA-Z][_a-zA-Z0-9]*)\}|())")
#: What a prompt without ``$input`` becomes: llm adds the piped input on a new line.
INPUT_AFTER = "{% if input is defined and input %}\n{{ input }}{% endif %}"
KEYS = ("name", "prompt", "system", "model", "defaults", "options", "schema_object")
OPTION_NAMES = {name: name for name in PARAM_NAMES}


def import_llm(raw: str, path: str) -> list[Imported]:
    """An ``llm`` template (YAML) as a promptwork prompt.

    Raises:
        ConfigError: Bad YAML, a value of the wrong type, a bad ``$`` placeholder, with line.
    """
    data, where = load_yaml(raw, path)
    if isinstance(data, str):  # llm reads a bare string as the prompt
        data = {"prompt": data}
    if not isinstance(data, dict):
        raise ConfigError("an llm template is a YAML mapping (prompt, system, model...)", path, 1)
    stem = path.rsplit("/", 1)[-1].rsplit(".", 1)[0]
    draft = Draft(str(data.get("name") or stem), path, "llm")
    for key in ("prompt", "system"):
        if data.get(key) is not None and not isinstance(data[key], str):
            raise where.error([key], f"{key} must be text")
    system, prompt = data.get("system"), data.get("prompt")
    lines = raw.splitlines()
    uses_input = False
    if system:
        text, used = _translate(system, path, _text_line(lines, where.line_of(["system"])))
        uses_input |= used
        draft.messages.append(("system", text))
    if prompt:
        text, used = _translate(prompt, path, _text_line(lines, where.line_of(["prompt"])))
        uses_input |= used
        draft.messages.append(("user", text if used else text + INPUT_AFTER))
    else:
        draft.messages.append(("user", "{{ input }}"))
        uses_input = True
    if not system:
        draft.messages = [(None, draft.messages[-1][1])]
    model_from_bare(data.get("model"), draft, "model", where.line_of(["model"]))
    take_params(data.get("options"), draft, "options", where, OPTION_NAMES)
    _defaults(data.get("defaults"), draft, where, uses_input)
    if data.get("schema_object") is not None:
        if not isinstance(data["schema_object"], dict):
            raise where.error(["schema_object"], "schema_object must be a JSON schema mapping")
        draft.output_schema = data["schema_object"]
    for key in data:
        if key not in KEYS:
            draft.drop(str(key), "promptwork prompt files have no such key",
                       where.line_of([str(key)]))
    return [draft.finish()]


def _text_line(lines: list[str], key_line: int | None) -> int | None:
    """The line a key's text starts on (the next one for a ``|`` or ``>`` block)."""
    if key_line and key_line <= len(lines) and \
            re.search(r":\s*[|>][-+0-9]*\s*(#.*)?$", lines[key_line - 1]):
        return key_line + 1
    return key_line


def _defaults(values: Any, draft: Draft, where: LineMap, uses_input: bool) -> None:
    if values is not None and not isinstance(values, dict):
        raise where.error(["defaults"], "defaults must be a mapping of variable to value")
    for name, value in (values or {}).items():
        draft.inputs[str(name)] = input_spec("string", default=str(value))
    if uses_input and "input" not in draft.inputs and draft.messages[-1][1] == "{{ input }}":
        draft.inputs["input"] = input_spec("string", "what llm reads from standard input")


def _translate(text: str, path: str, line: int | None) -> tuple[str, bool]:
    out: list[str] = []
    pos = 0
    used = False
    for m in _PLACEHOLDER.finditer(text):
        out.append(jinja_literal(text[pos:m.start()]))
        pos = m.end()
        escaped, named, braced = m.group(1), m.group(2), m.group(3)
        if escaped:
            out.append("$")
            continue
        name = named or braced
        if name is None:
            at = (line or 0) + text.count("\n", 0, m.start()) if line else None
            raise ConfigError("a '$' that starts no variable (write $$ for a dollar sign)",
                              path, at)
        used |= name == "input"
        out.append(f"{{{{ {name} }}}}")
    out.append(jinja_literal(text[pos:]))
    return "".join(out), used


def export_llm(source: Source) -> Exported:
    """A promptwork prompt as an ``llm`` template (YAML).

    Raises:
        ConfigError: More than a system and a user message, or template logic (llm templates
            hold variables only), by name and line.
    """
    dropped: list[Dropped] = []
    roles = [role for role, _text, _line in source.messages]
    if roles not in ([None], ["user"], ["system", "user"], ["system"]):
        raise ConfigError(f"an llm template holds a system prompt and one user prompt; this "
                          f"prompt's messages are {', '.join(r or 'user' for r in roles)}",
                          source.path, source.messages[0][2])
    out: dict[str, Any] = {}
    for role, text, line in source.messages:
        key = "system" if role == "system" else "prompt"
        if key == "prompt" and text == "{{ input }}":
            continue  # llm sends the piped input when there is no prompt
        if key == "prompt" and text.endswith(INPUT_AFTER):
            text = text[: -len(INPUT_AFTER)]
        out[key] = _to_dollars(text, source.path, line)
    model = bare_model(source.meta.model, dropped)
    if model:
        out["model"] = model
    options = give_params(source, OPTION_NAMES, dropped)
    if options:
        out["options"] = options
    defaults = {n: s.default for n, s in source.meta.inputs.items() if s.default is not None}
    if defaults:
        out["defaults"] = defaults
    if source.meta.output_schema:
        out["schema_object"] = source.meta.output_schema
    for name, spec in source.meta.inputs.items():
        if spec.description or spec.type not in ("string", "any"):
            dropped.append(Dropped(f"inputs.{name}", "llm templates declare no variable types "
                                   "or descriptions"))
    for key, why in (("description", "llm templates have no description"),
                     ("tags", "llm templates have no tags")):
        if getattr(source.meta, key):
            dropped.append(Dropped(key, why))
    text = yaml.safe_dump(out, sort_keys=False, allow_unicode=True, width=100)
    return Exported("llm", {slug(source.name) + ".yaml": text}, dropped)


def _to_dollars(text: str, path: str, line: int) -> str:
    pieces = plain_variables(parse_subset(text, path, line, "llm templates"), path,
                             "llm templates")
    parts = []
    for piece in pieces:
        if piece.kind == "var":
            parts.append(f"${{{piece.path}}}")
        else:
            parts.append(piece.value.replace("$", "$$"))
    return "".join(parts)
