"""Prompt sources: inline strings, ``file://`` text and chat-JSON files, and ``.prompt`` files.

A ``.prompt`` file has YAML front matter and a body::

    ---
    name: reply
    model: local:smollm2
    params: {temperature: 0.2, max_tokens: 120}
    inputs:
      customer: {type: string, description: Customer's first name}
      tone: {type: string, default: warm}
    tags: [support]
    ---
    system:
    You answer for {{ brand }} in a {{ tone }} tone.

    user:
    {{ question }}

A line holding only ``system:``, ``user:`` or ``assistant:`` (lowercase) starts a chat message;
capitalised ``User:`` lines stay text, as in few-shot transcripts. A body (or any
file) without such lines is one user message; ``mode: completion`` sends it to base models as raw
text.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from promptwork.chatmessages import messages_from
from promptwork.errors import ConfigError, MissingVariableError, ParamError, TemplateError
from promptwork.inputs import InputTypeError, coerce_text
from promptwork.jsonpositions import json_lines
from promptwork.templates import Template, TemplateEngine
from promptwork.types import PARAM_NAMES, ROLES, Message, Params, RenderedPrompt
from promptwork.yamlfile import LineMap, deepest_line, did_you_mean, load_yaml

_ROLE_LINE = re.compile(r"^[ \t]*(system|user|assistant)[ \t]*:[ \t]*$")
_TYPES: dict[str, type | tuple[type, ...]] = {
    "string": str, "integer": int, "number": (int, float), "boolean": bool,
    "array": list, "object": dict, "any": object,
}
_FILE_SUFFIXES = (".prompt", ".txt", ".json", ".md")
Renderer = Callable[[Mapping[str, Any], Mapping[str, Any] | None], RenderedPrompt]


class InputSpec(BaseModel):
    """A declared input variable."""

    model_config = ConfigDict(extra="forbid")
    type: Literal["string", "integer", "number", "boolean", "array", "object", "any"] = "string"
    description: str | None = None
    default: Any = None
    required: bool | None = None

    @property
    def is_required(self) -> bool:
        return self.required if self.required is not None else self.default is None

    def coerce(self, value: Any) -> Any:
        """Text read as this input's type (``"1"`` -> ``1``); see :mod:`promptwork.inputs`.

        Raises:
            InputTypeError: Text that is not of this type.
        """
        return coerce_text(self.type, value)

    def accepts(self, value: Any) -> bool:
        """Whether ``value`` has this input's type (booleans are not numbers)."""
        if isinstance(value, bool) and self.type in ("integer", "number"):
            return False
        return isinstance(value, _TYPES[self.type])


class PromptMeta(BaseModel):
    """Front matter of a ``.prompt`` file."""

    model_config = ConfigDict(extra="forbid")
    name: str | None = None
    description: str | None = None
    model: str | None = None
    params: dict[str, Any] = Field(default_factory=dict)
    mode: Literal["chat", "completion"] | None = None
    inputs: dict[str, InputSpec] = Field(default_factory=dict)
    output_schema: dict[str, Any] | None = None
    tags: list[str] = Field(default_factory=list)


META_KEYS = tuple(PromptMeta.model_fields)


@dataclass
class _Part:
    role: str | None
    template: Template


@dataclass
class PromptTemplate:
    """A loaded prompt: templates for its messages plus metadata.

    Attributes:
        label: Where it came from (a path, or the inline text shortened).
        raw: The source text, used for content hashing and versioning.
        meta: Front matter (empty for sources without it).
        params: Validated parameters from the front matter.
        variables: Variable names the templates use.
        lines: Lines of the front matter's keys, when there is one.
    """

    label: str
    raw: str
    parts: list[_Part]
    meta: PromptMeta = field(default_factory=PromptMeta)
    params: Params = field(default_factory=Params)
    path: str | None = None
    lines: LineMap | None = None
    #: Renders instead of the parts: a Python prompt function, or a JSON chat template rendered
    #: whole then parsed. Called with the values and the provider ``{id, label}`` (or None).
    renderer: Renderer | None = None

    @property
    def variables(self) -> frozenset[str]:
        names: set[str] = set()
        for part in self.parts:
            names |= part.template.variables
        return frozenset(names)

    @property
    def required_variables(self) -> frozenset[str]:
        """Variables that must have a value: used unguarded, or declared required."""
        names = {n for n, spec in self.meta.inputs.items() if spec.is_required}
        for part in self.parts:
            names |= part.template.required
        return frozenset(names)

    @property
    def plain(self) -> bool:
        return len(self.parts) == 1 and self.parts[0].role is None

    @property
    def content_hash(self) -> str:
        """sha256 of the source text: the identity of this prompt version."""
        return hashlib.sha256(self.raw.encode()).hexdigest()

    def with_defaults(self, values: Mapping[str, Any] | None) -> dict[str, Any]:
        """``values`` completed by the declared defaults."""
        merged = {
            name: spec.default
            for name, spec in self.meta.inputs.items()
            if spec.default is not None
        }
        merged.update(values or {})
        return merged

    def missing(self, values: Mapping[str, Any] | None) -> list[str]:
        """Variables the templates need (or the front matter requires) that are not given."""
        have = self.with_defaults(values)
        return sorted(n for n in self.required_variables if n not in have)

    def coerce(self, values: Mapping[str, Any]) -> dict[str, Any]:
        """``values`` with text given for typed inputs read as their declared type.

        Raises:
            TemplateError: A value that does not fit its input's type, naming the declaration.
        """
        out = dict(values)
        for name, spec in self.meta.inputs.items():
            if name in out:
                try:
                    out[name] = spec.coerce(out[name])
                except InputTypeError as exc:
                    raise TemplateError(
                        f"variable {name!r}: {exc} (declared as {spec.type})", self.path,
                        self.lines.line_of(("inputs", name)) if self.lines else None,
                    ) from None
        return out

    def check_types(self, values: Mapping[str, Any]) -> None:
        for name, spec in self.meta.inputs.items():
            if name in values and not spec.accepts(values[name]):
                raise TemplateError(
                    f"variable {name!r} should be of type {spec.type}, "
                    f"got {type(values[name]).__name__}",
                    self.path,
                    self.lines.line_of(("inputs", name)) if self.lines else None,
                )

    def render(
        self, values: Mapping[str, Any] | None = None, prefix: str = "", suffix: str = "",
        provider: Mapping[str, Any] | None = None,
    ) -> RenderedPrompt:
        """Render every part with ``values`` (plus declared defaults).

        ``prefix`` and ``suffix`` (a test's ``options.prefix``/``suffix``, promptfoo's) are put
        before and after the rendered text: around a plain prompt's text, at the start of the
        first message and the end of the last one of a chat prompt.

        Raises:
            MissingVariableError: Naming every missing variable (not only the first part's).
            TemplateError: A type, sandbox, limit or runtime error, with file and line.
        """
        full = self.with_defaults(values)
        missing = self.missing(values)
        if missing:
            raise MissingVariableError(missing, self.path, self._line_of_any(missing))
        if self.meta.inputs:
            full = self.coerce(full)
            self.check_types(full)
        if self.renderer is not None:
            made = self.renderer(full, provider)
            if made.plain:
                return RenderedPrompt.from_text(prefix + made.messages[0].content + suffix)
            messages = list(made.messages)
        elif self.plain:
            return RenderedPrompt.from_text(prefix + self.parts[0].template.render(full) + suffix)
        else:
            messages = [
                Message(part.role, part.template.render(full))  # type: ignore[arg-type]
                for part in self.parts
            ]
        if prefix:
            messages[0] = Message(messages[0].role, prefix + messages[0].content)
        if suffix:
            messages[-1] = Message(messages[-1].role, messages[-1].content + suffix)
        return RenderedPrompt(tuple(messages))

    def _line_of_any(self, names: list[str]) -> int | None:
        lines = [
            part.template.line_of(name)
            for part in self.parts
            for name in names
            if name in part.template.variables
        ]
        if not lines and self.lines is not None:
            lines = [n for name in names if (n := self.lines.line_of(("inputs", name)))]
        return min(lines) if lines else None


def load_prompt(
    source: str,
    base_dir: str | Path | None = None,
    engine: TemplateEngine | None = None,
    allow_outside: bool = False,
) -> PromptTemplate:
    """Load a prompt from any supported source.

    Args:
        source: Inline text, ``file://path`` (``.txt``/``.md``, ``.json`` chat list, ``.prompt``),
            or a bare path to an existing ``.prompt``/``.txt``/``.json`` file.
        base_dir: Folder that relative ``file://`` paths resolve against (a suite's folder).
        engine: Template engine (limits); a default one is made if omitted.
        allow_outside: Allow ``file://`` paths that leave ``base_dir``.
    """
    engine = engine or TemplateEngine()
    path = _as_path(source, base_dir, allow_outside)
    if path is None:
        template = engine.compile(source, None, 1)
        return PromptTemplate(_short(source), source, [_Part(None, template)])
    try:
        raw = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise ConfigError(f"prompt file not found: {path}") from None
    except UnicodeDecodeError as exc:
        raise ConfigError(f"prompt file is not valid UTF-8 (byte {exc.start})", path) from None
    except OSError as exc:
        raise ConfigError(f"cannot read prompt file: {exc.strerror or exc}", path) from None
    return parse_prompt(raw, str(path), path.suffix, engine)


def parse_prompt(
    raw: str, label: str, suffix: str = ".prompt", engine: TemplateEngine | None = None
) -> PromptTemplate:
    """A prompt from its source text, read as a file ending in ``suffix`` is (``.prompt``:
    front matter and role lines; ``.json``: chat messages; else one text template).

    Raises:
        ConfigError: Any problem in the text, with ``label`` as the file and the line.
    """
    engine = engine or TemplateEngine()
    suffix = suffix.lower()
    if suffix == ".json":
        return _load_chat_json(raw, label, engine)
    if suffix == ".prompt":
        return _load_prompt_file(raw, label, engine)
    text = raw[:-1] if raw.endswith("\n") else raw
    return PromptTemplate(label, raw, [_Part(None, engine.compile(text, label, 1))], path=label)


def _short(text: str) -> str:
    one = " ".join(text.split())
    return one if len(one) <= 60 else one[:57] + "..."


def _is_file(path: Path) -> bool:
    try:
        return path.is_file()
    except (OSError, ValueError):  # a name too long, a NUL byte: inline text, not a path
        return False


def _as_path(source: str, base_dir: str | Path | None, allow_outside: bool) -> Path | None:
    base = Path(base_dir) if base_dir is not None else Path.cwd()
    if source.startswith("file://"):
        rel = source[len("file://"):]
        if not rel.strip():
            raise ConfigError(f"{source!r} names no file")
    elif (
        "\n" not in source
        and source.strip().endswith(_FILE_SUFFIXES)
        and _is_file(base / source.strip())
    ):
        rel = source.strip()
    else:
        return None
    try:
        path = (base / rel).resolve()
    except (OSError, ValueError) as exc:
        raise ConfigError(f"bad prompt path {source!r}: {exc}") from None
    if not allow_outside and base_dir is not None and not path.is_relative_to(base.resolve()):
        raise ConfigError(
            f"{source!r} points outside the suite folder {base}; move the file inside it "
            "or allow outside paths explicitly"
        )
    return path


# --- chat JSON ----------------------------------------------------------------------------


def _load_chat_json(raw: str, label: str, engine: TemplateEngine) -> PromptTemplate:
    try:
        data = json.loads(raw)
    except json.JSONDecodeError as exc:
        if "{%" in raw or "{{" in raw:
            return _json_template(raw, label, engine)
        raise ConfigError(f"invalid JSON: {exc.msg}", label, exc.lineno) from None
    except RecursionError:
        raise ConfigError("invalid JSON: nested too deeply", label, deepest_line(raw)) from None
    if not isinstance(data, list) or not all(isinstance(m, dict) for m in data):
        raise ConfigError(
            "a chat prompt file must be a JSON list of {\"role\": ..., \"content\": ...} objects",
            label,
            1,
        )
    if not data:
        raise ConfigError("chat prompt file has no messages", label, 1)
    if any(isinstance(m.get("content"), list) for m in data):
        # multi-part content (text and images): rendered whole, then read, as promptfoo does
        return _json_template(raw, label, engine)
    where = json_lines(raw)
    parts = []
    for i, msg in enumerate(data):
        obj_line, keys = where[i] if i < len(where) else (None, {})
        unknown = sorted(set(msg) - {"role", "content"} - (
            {"type"} if msg.get("type") == "message" else set()))  # the Responses API's form
        if unknown:
            raise ConfigError(
                f"message {i + 1}: unknown key {unknown[0]!r}"
                f"{did_you_mean(unknown[0], ('role', 'content'))}; "
                "a message has only 'role' and 'content'",
                label,
                keys.get(unknown[0], (obj_line, obj_line))[0],
            )
        role, content = msg.get("role"), msg.get("content")
        if role not in ROLES:
            raise ConfigError(
                f"message {i + 1}: role must be one of {', '.join(ROLES)}, got {role!r}",
                label,
                keys.get("role", (obj_line, obj_line))[1],
            )
        line = keys.get("content", (obj_line, obj_line))[1]
        if not isinstance(content, str):
            raise ConfigError(f"message {i + 1}: content must be a string", label, line)
        # A JSON string holds no raw newlines: the whole template sits on one line of the file.
        parts.append(_Part(role, engine.compile(content, label, line or 1, one_line=True)))
    return PromptTemplate(label, raw, parts, path=label)


def _json_template(raw: str, label: str, engine: TemplateEngine) -> PromptTemplate:
    """A chat JSON file with template tags outside its strings (``{% for %}`` building the
    list): promptfoo renders the whole file, then reads the result as JSON messages."""
    template = engine.compile(raw, label, 1)

    def render(values: Mapping[str, Any], provider: Mapping[str, Any] | None) -> RenderedPrompt:
        text = template.render(values)
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise TemplateError(f"the rendered chat template is not valid JSON: {exc.msg} "
                                f"(line {exc.lineno} of the rendered text)", label) from None
        return messages_from(data, label)

    return PromptTemplate(label, raw, [_Part(None, template)], path=label, renderer=render)



# --- .prompt files --------------------------------------------------------------------------


def _load_prompt_file(raw: str, label: str, engine: TemplateEngine) -> PromptTemplate:
    lines = raw.splitlines(keepends=True)
    meta = PromptMeta()
    params = Params()
    where: LineMap | None = None
    body_start = 0  # index of the first body line
    if lines and lines[0].strip() == "---":
        end = next((i for i in range(1, len(lines)) if lines[i].strip() == "---"), None)
        if end is None:
            raise ConfigError(
                "front matter opened with '---' on line 1 is never closed; "
                "add a line holding only '---' after it",
                label,
                1,
            )
        data, where = load_yaml("".join(lines[1:end]), label, line_offset=1)
        meta, params = _validate_meta(data, where)
        body_start = end + 1
    parts = _split_roles(lines, body_start, label, engine)
    return PromptTemplate(meta.name or label, raw, parts, meta, params, path=label, lines=where)


def _validate_meta(data: Any, where: LineMap) -> tuple[PromptMeta, Params]:
    if data is None:
        return PromptMeta(), Params()
    if not isinstance(data, dict):
        raise where.error((), "front matter must be a mapping of keys to values")
    for key in data:
        if key not in META_KEYS:
            raise where.error(
                (str(key),),
                f"unknown front matter key {key!r}{did_you_mean(str(key), META_KEYS)}; "
                f"allowed: {', '.join(META_KEYS)}",
            )
    try:
        meta = PromptMeta.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = tuple(err["loc"])
        message = err["msg"]
        if err["type"] == "extra_forbidden" and len(loc) == 3 and loc[0] == "inputs":
            fields = tuple(InputSpec.model_fields)
            message = (
                f"unknown input field {loc[-1]!r}{did_you_mean(str(loc[-1]), fields)}; "
                f"allowed: {', '.join(fields)}"
            )
        raise where.error(loc, f"{'.'.join(map(str, loc))}: {message}") from None
    for name, spec in meta.inputs.items():
        if spec.default is not None and spec.type != "any" and not spec.accepts(spec.default):
            raise where.error(
                ("inputs", name, "default"),
                f"inputs.{name}.default: {spec.default!r} is not of type {spec.type}",
            )
    try:
        params = Params.parse(meta.params, where="params")
    except ParamError as exc:
        bad = next((k for k in meta.params if k not in PARAM_NAMES), None)
        if bad is None:
            bad = next((k for k, v in meta.params.items() if not _param_ok(k, v)), None)
        raise where.error(("params", bad) if bad else ("params",), exc.message) from None
    return meta, params


def _param_ok(name: str, value: Any) -> bool:
    try:
        Params.parse({name: value})
    except ParamError:
        return False
    return True


def _split_roles(
    lines: list[str], start: int, label: str, engine: TemplateEngine
) -> list[_Part]:
    sections: list[tuple[str | None, int, list[str]]] = []
    current: tuple[str | None, int, list[str]] = (None, start + 1, [])
    for i in range(start, len(lines)):
        match = _ROLE_LINE.match(lines[i])
        if match:
            if current[0] is None and "".join(current[2]).strip():
                first_text = next(n for n, text in enumerate(current[2]) if text.strip())
                raise ConfigError(
                    f"text before the first role line ({match.group(1)}: on line {i + 1}); "
                    "start the body with 'system:' or 'user:', or remove the role lines",
                    label,
                    current[1] + first_text,
                )
            if current[0] is not None:
                sections.append(current)
            current = (match.group(1).lower(), i + 2, [])
        else:
            current[2].append(lines[i])
    sections.append(current)
    parts = []
    for role, first_line, body in sections:
        text = "".join(body)
        stripped = text.lstrip("\n")
        first_line += len(text) - len(stripped)
        if role is not None:
            text = stripped.rstrip("\n")
        else:
            text = stripped[:-1] if stripped.endswith("\n") else stripped
        parts.append(_Part(role, engine.compile(text, label, first_line)))
    return parts


def search(query: str = "", **options: Any) -> Any:
    """Search the prompt library: :func:`promptwork.library.search.search` (loaded on use).

    Returns rows with scores, best first; see that function for the filters.
    """
    from promptwork.library.search import search as library_search

    return library_search(query, **options)
