"""What every format module shares: the imported and exported results, the draft of a promptwork
prompt file, the exported prompt's parts, and the model and parameter name maps.

An import builds a :class:`Draft` (front matter plus messages whose text is promptwork's Jinja2)
and turns it into a ``.prompt`` file, which is parsed by :func:`promptwork.prompts.parse_prompt`
before it is returned: an imported prompt is always one promptwork runs. An export reads a prompt
file into a :class:`Source` (its front matter and each message's template text).

Whatever a conversion cannot carry is a :class:`Dropped` entry, shown to the user, never lost in
silence; what would change the prompt's text (template logic the other tool lacks) is refused
with a :class:`~promptwork.errors.ConfigError` instead.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from promptwork.errors import ConfigError, ParamError
from promptwork.prompts import InputSpec, PromptMeta, PromptTemplate, load_prompt, parse_prompt
from promptwork.types import PARAM_NAMES, Params
from promptwork.yamlfile import LineMap, load_yaml

#: A line promptwork reads as the start of a chat message.
ROLE_LINE = re.compile(r"^[ \t]*(system|user|assistant)[ \t]*:[ \t]*$")
_JINJA_OPEN = re.compile(r"\{[{%#]")
_SLUG = re.compile(r"[^A-Za-z0-9._-]+")


@dataclass(frozen=True)
class Dropped:
    """Something a conversion could not carry over, and why."""

    what: str
    why: str
    line: int | None = None

    def __str__(self) -> str:
        where = f" (line {self.line})" if self.line else ""
        return f"{self.what}{where}: {self.why}"


@dataclass
class Imported:
    """A prompt read from another tool's file, as a promptwork prompt file.

    Attributes:
        name: The prompt's name.
        fmt: The format it was read from (``langfuse``, ``dotprompt``...).
        source: The file it came from.
        text: The promptwork ``.prompt`` file (YAML front matter, role lines, Jinja2).
        labels: The other tool's labels of this version (Langfuse), to apply with
            ``promptwork prompts label``.
        samples: Example values of the variables (Prompty's ``sample``).
        dropped: What could not be carried over.
    """

    name: str
    fmt: str
    source: str
    text: str
    description: str | None = None
    model: str | None = None
    params: dict[str, Any] = field(default_factory=dict)
    inputs: dict[str, dict[str, Any]] = field(default_factory=dict)
    labels: list[str] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)
    samples: dict[str, Any] = field(default_factory=dict)
    dropped: list[Dropped] = field(default_factory=list)

    @property
    def filename(self) -> str:
        """A file name for it: its name made safe, with ``.prompt``."""
        return slug(self.name) + ".prompt"

    def load(self) -> PromptTemplate:
        """The prompt, parsed as promptwork reads the file."""
        return parse_prompt(self.text, self.filename, ".prompt")


@dataclass
class Exported:
    """A prompt written in another tool's format: file name -> content, and what was lost."""

    fmt: str
    files: dict[str, str]
    dropped: list[Dropped] = field(default_factory=list)


@dataclass
class Draft:
    """A promptwork prompt file being built by an importer."""

    name: str
    source: str
    fmt: str
    description: str | None = None
    model: str | None = None
    params: dict[str, Any] = field(default_factory=dict)
    inputs: dict[str, dict[str, Any]] = field(default_factory=dict)
    tags: list[str] = field(default_factory=list)
    output_schema: dict[str, Any] | None = None
    mode: str | None = None
    #: (role or None for a plain prompt, promptwork Jinja2 text)
    messages: list[tuple[str | None, str]] = field(default_factory=list)
    labels: list[str] = field(default_factory=list)
    samples: dict[str, Any] = field(default_factory=dict)
    dropped: list[Dropped] = field(default_factory=list)

    def drop(self, what: str, why: str, line: int | None = None) -> None:
        self.dropped.append(Dropped(what, why, line))

    def front_matter(self) -> dict[str, Any]:
        meta: dict[str, Any] = {"name": self.name}
        for key, value in (
            ("description", self.description), ("model", self.model), ("mode", self.mode),
            ("params", self.params), ("inputs", self.inputs), ("tags", self.tags),
            ("output_schema", self.output_schema),
        ):
            if value:
                meta[key] = value
        return meta

    def text(self) -> str:
        """The ``.prompt`` file."""
        head = yaml.safe_dump(self.front_matter(), sort_keys=False, allow_unicode=True, width=100)
        if len(self.messages) == 1 and self.messages[0][0] is None:
            body = protect_role_lines(self.messages[0][1]) + "\n"
        else:
            body = "\n\n".join(
                f"{role or 'user'}:\n{protect_role_lines(text)}" for role, text in self.messages
            ) + "\n"
        return f"---\n{head}---\n{body}"

    def finish(self) -> Imported:
        """The imported prompt, checked by parsing it as promptwork will.

        Raises:
            ConfigError: A translation promptwork cannot read (naming the source file).
        """
        if not self.messages:
            raise ConfigError("the prompt has no text", self.source)
        text = self.text()
        try:
            parse_prompt(text, slug(self.name) + ".prompt", ".prompt")
        except ConfigError as exc:
            raise ConfigError(f"cannot translate to a promptwork prompt: {exc.message}",
                              self.source) from None
        return Imported(
            self.name, self.fmt, self.source, text, self.description, self.model,
            dict(self.params), dict(self.inputs), list(self.labels), list(self.tags),
            dict(self.samples), list(self.dropped),
        )


@dataclass
class Source:
    """A promptwork prompt file read for export: front matter and each message's template text.

    ``messages`` holds (role or None for a plain prompt, Jinja2 text, first line in the file).
    """

    name: str
    path: str
    meta: PromptMeta
    messages: list[tuple[str | None, str, int]]
    lines: LineMap | None = None

    @property
    def plain(self) -> bool:
        return len(self.messages) == 1 and self.messages[0][0] is None

    def inputs(self) -> dict[str, InputSpec]:
        return dict(self.meta.inputs)


def slug(name: str) -> str:
    """``name`` made safe as a file name."""
    return _SLUG.sub("-", name).strip("-.") or "prompt"


def jinja_literal(text: str) -> str:
    """``text`` written so that Jinja2 outputs it as is (``{{``, ``{%``, ``{#`` quoted)."""
    return _JINJA_OPEN.sub(lambda m: '{{ "' + m.group() + '" }}', text)


def protect_role_lines(text: str) -> str:
    """Message text with lines that promptwork would read as role lines written as expressions."""
    return "\n".join(
        '{{ "' + line.strip() + '" }}' if ROLE_LINE.match(line) else line
        for line in text.split("\n")
    )


def read_front_matter(raw: str, path: str) -> tuple[Any, LineMap, str, int]:
    """A Markdown file's YAML front matter, its line map, the body and the body's first line.

    Raises:
        ConfigError: An unclosed front matter or bad YAML, with file and line.
    """
    lines = raw.splitlines(keepends=True)
    if not lines or lines[0].strip() != "---":
        return None, LineMap(path, {}), raw, 1
    end = next((i for i in range(1, len(lines)) if lines[i].strip() == "---"), None)
    if end is None:
        raise ConfigError("front matter opened with '---' on line 1 is never closed", path, 1)
    data, where = load_yaml("".join(lines[1:end]), path, line_offset=1)
    return data, where, "".join(lines[end + 1:]), end + 2


def read_front_matter_mapping(raw: str, path: str) -> tuple[dict[str, Any], LineMap, str, int]:
    """:func:`read_front_matter` for formats whose front matter is a mapping (none: empty).

    Raises:
        ConfigError: As :func:`read_front_matter`, or front matter that is not a mapping.
    """
    data, where, body, first = read_front_matter(raw, path)
    data = data if data is not None else {}
    if not isinstance(data, dict):
        raise ConfigError("front matter must be a mapping", path, 1)
    return data, where, body, first


def read_text(path: Path) -> str:
    """A file's text.

    Raises:
        ConfigError: A missing, unreadable or non-UTF-8 file.
    """
    try:
        return path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise ConfigError(f"file not found: {path}") from None
    except UnicodeDecodeError as exc:
        raise ConfigError(f"not valid UTF-8 (byte {exc.start})", path) from None
    except OSError as exc:
        raise ConfigError(f"cannot read: {exc.strerror or exc}", path) from None


def load_source(prompt: str | Path | PromptTemplate) -> Source:
    """A promptwork prompt (a path or a loaded prompt) read for export.

    Raises:
        ConfigError: A prompt that is not a file (inline text, a Python prompt function, a JSON
            chat built by template tags), or any error loading it.
    """
    loaded = prompt if isinstance(prompt, PromptTemplate) else load_prompt(str(Path(prompt)))
    path = loaded.path
    if path is None:
        raise ConfigError("only prompt files can be exported (this prompt is inline text)")
    if loaded.renderer is not None:
        raise ConfigError("a prompt generated by code or by template tags around the chat list "
                          "cannot be exported: other tools' formats hold message templates", path)
    suffix = Path(path).suffix.lower()
    raw = loaded.raw
    stem = Path(path).stem
    if suffix == ".json":
        data = json.loads(raw)
        messages = [(str(m["role"]), str(m["content"]), 1) for m in data]
        return Source(stem, path, PromptMeta(), messages)  # type: ignore[arg-type]
    if suffix != ".prompt":
        text = raw[:-1] if raw.endswith("\n") else raw
        return Source(stem, path, PromptMeta(), [(None, text, 1)])
    _data, where, body, first = read_front_matter(raw, path)
    meta = loaded.meta
    return Source(meta.name or stem, path, meta, split_roles(body, first), where)


def split_roles(body: str, first_line: int) -> list[tuple[str | None, str, int]]:
    """A ``.prompt`` body's messages, cut as promptwork cuts them (:mod:`promptwork.prompts`)."""
    lines = body.splitlines(keepends=True)
    sections: list[tuple[str | None, int, list[str]]] = [(None, first_line, [])]
    for i, text_line in enumerate(lines):
        match = ROLE_LINE.match(text_line)
        if match:
            sections.append((match.group(1), first_line + i + 1, []))
        else:
            sections[-1][2].append(text_line)
    if len(sections) > 1 and not "".join(sections[0][2]).strip():
        sections = sections[1:]
    out: list[tuple[str | None, str, int]] = []
    for role, line, body_lines in sections:
        text = "".join(body_lines)
        stripped = text.lstrip("\n")
        line += text.count("\n") - stripped.count("\n")
        if role is not None:
            stripped = stripped.rstrip("\n")
        elif stripped.endswith("\n"):
            stripped = stripped[:-1]
        out.append((role, stripped, line))
    return out


# --- models and parameters -----------------------------------------------------------------

#: Bare model names of hosted APIs (llm, Langfuse) by their promptwork provider.
_FAMILIES = (
    (("gpt-", "o1", "o3", "o4", "chatgpt-", "text-davinci", "davinci", "babbage"), "openai"),
    (("claude-",), "anthropic"),
    (("gemini-", "gemma-"), "google"),
)
_ALIASES = {"4o": "gpt-4o", "4o-mini": "gpt-4o-mini", "3.5": "gpt-3.5-turbo", "4": "gpt-4"}


def model_from_bare(name: Any, draft: Draft, key: str, line: int | None) -> None:
    """Set ``draft.model`` from a bare model name (``gpt-4o``), or list it as dropped."""
    if not isinstance(name, str) or not name.strip():
        if name is not None:
            draft.drop(key, f"model {name!r} is not a name", line)
        return
    bare = _ALIASES.get(name.strip(), name.strip())
    for prefixes, provider in _FAMILIES:
        if bare.startswith(prefixes):
            draft.model = f"{provider}:{bare}"
            return
    if ":" in bare and bare.split(":", 1)[0].isidentifier():
        draft.model = bare  # already a provider:model id
        return
    draft.drop(key, f"model {name!r}: no known promptwork provider serves this name; set "
                    "'model' in the prompt file or pass -m", line)


def bare_model(model: str | None, dropped: list[Dropped]) -> str | None:
    """A promptwork model id as a hosted API's bare name (``openai:gpt-4o`` -> ``gpt-4o``)."""
    if not model:
        return None
    provider, _, rest = model.partition(":")
    rest = rest.removeprefix("chat:").removeprefix("messages:")
    if provider in ("openai", "anthropic", "google") and rest:
        return rest
    dropped.append(Dropped("model", f"{model!r} has no name in this format (only OpenAI, "
                                    "Anthropic and Google models do)"))
    return None


def take_params(values: Any, draft: Draft, key: str, where: LineMap,
                names: dict[str, str] | None = None) -> None:
    """Carry the parameters promptwork knows (``names`` maps the format's spelling to
    promptwork's); list the others as dropped."""
    if values is None:
        return
    if not isinstance(values, dict):
        draft.drop(key, "not a mapping of parameters", where.line_of(key.split(".")))
        return
    names = names or {}
    for name, value in values.items():
        ours = names.get(str(name), str(name))
        line = where.line_of([*key.split("."), str(name)])
        if ours not in PARAM_NAMES:
            draft.drop(f"{key}.{name}", "promptwork has no such parameter", line)
            continue
        if ours == "stop" and isinstance(value, str):
            value = [value]
        try:
            Params.parse({ours: value})
        except ParamError as exc:
            draft.drop(f"{key}.{name}", f"bad value: {exc.message}", line)
            continue
        draft.params[ours] = value


def give_params(source: Source, names: dict[str, str], dropped: list[Dropped]) -> dict[str, Any]:
    """The prompt's parameters spelled for the format (``names``: promptwork -> theirs); the
    others are listed as dropped."""
    out: dict[str, Any] = {}
    for name, value in source.meta.params.items():
        theirs = names.get(name)
        if theirs is None:
            line = source.lines.line_of(("params", name)) if source.lines else None
            dropped.append(Dropped(f"params.{name}", "this format has no such parameter", line))
        else:
            out[theirs] = list(value) if isinstance(value, tuple) else value
    return out


def input_spec(kind: Any, description: Any = None, default: Any = None,
               required: bool | None = None) -> dict[str, Any]:
    """An ``inputs:`` entry of a promptwork prompt file."""
    types = {"string": "string", "str": "string", "integer": "integer", "int": "integer",
             "number": "number", "float": "number", "boolean": "boolean", "bool": "boolean",
             "array": "array", "list": "array", "object": "object", "dict": "object"}
    spec: dict[str, Any] = {"type": types.get(str(kind).lower(), "any") if kind else "string"}
    if description:
        spec["description"] = str(description)
    if default is not None:
        spec["default"] = default
    if required is False and default is None:
        spec["required"] = False
    return spec
