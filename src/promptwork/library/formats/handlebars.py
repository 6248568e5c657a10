"""Dotprompt's Handlebars, the common subset, translated to promptwork's Jinja2.

Translated: ``{{path}}`` and ``{{{path}}}`` (dotprompt does not HTML-escape), ``\\{{`` escapes,
comments, ``~`` whitespace control, lines holding only a block tag (removed as Handlebars does),
``{{#if}}``/``{{#unless}}`` with ``{{else}}`` and ``{{else if}}``, ``{{#each}}`` (``as |x i|``,
``{{else}}``, ``this``, ``@index``, ``@first``, ``@last``, ``@key``, ``../x``, ``@root.x``),
dotprompt's ``{{#ifEquals a b}}``/``{{#unlessEquals a b}}``, ``{{json x}}`` (``indent=N``) and
``{{role "system"|"user"|"model"}}`` outside blocks (a new chat message). Every other helper or
construct (``history``, ``media``, ``section``, partials, ``with``, ``lookup``...) is refused by
name with its file and line.

Differences kept in mind: Handlebars prints a missing value as nothing, Jinja2 (in promptwork)
refuses it, so variables declared optional (``name?``) are read with ``| default('')``; an
empty object is true in Handlebars and false in Jinja2; lists and booleans print as Python
writes them (use ``{{json x}}`` for a stable form).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from promptwork.errors import ConfigError
from promptwork.library.formats.common import jinja_literal

_TOKEN = re.compile(
    r"\\\{\{(?P<esc>.*?)\}\}"
    r"|\{\{(?P<lt3>~?)\{(?P<triple>.*?)\}(?P<rt3>~?)\}\}"
    r"|\{\{(?P<ltc>~?)!--(?P<longc>.*?)--(?P<rtc>~?)\}\}"
    r"|\{\{(?P<lt>~?)(?P<body>.*?)(?P<rt>~?)\}\}",
    re.DOTALL,
)
_ARG = re.compile(r'"[^"]*"|\'[^\']*\'|[^\s"\']+')
_SEGMENT = re.compile(r"[A-Za-z_]\w*|\d+")
_ROLES = {"system": "system", "user": "user", "model": "assistant"}
_REFUSED = {
    "history": "promptwork prompts hold no conversation history slot",
    "media": "promptwork prompt files hold no media parts",
    "section": "promptwork has no prompt sections",
    "with": "change of context is not translated",
    "lookup": "dynamic lookups are not translated",
    "log": "logging from a template is not translated",
}


@dataclass
class _Token:
    kind: str  # text, tag
    text: str
    line: int
    trim_left: bool = False
    trim_right: bool = False
    block: bool = False  # may stand alone on a line (block open/close, else, comment)


@dataclass
class _Frame:
    helper: str  # if, unless, each, ifEquals, unlessEquals
    line: int
    item: str = ""
    index: str = ""
    key_at: int = -1  # output index of the for tag, rewritten when @key is used
    source: str = ""
    has_key: bool = False
    named: bool = False  # the item has a name given with `as |x|`


@dataclass
class _Out:
    messages: list[tuple[str | None, list[str]]] = field(default_factory=lambda: [(None, [])])

    def add(self, text: str) -> int:
        self.messages[-1][1].append(text)
        return len(self.messages[-1][1]) - 1


def translate(text: str, path: str, first_line: int,
              optional: Iterable[str] = ()) -> list[tuple[str | None, str]]:
    """A dotprompt template as promptwork messages: (role or None when it has no role markers,
    Jinja2 text).

    Raises:
        ConfigError: A helper or construct outside the subset, named, with file and line.
    """
    tokens = _whitespace(_tokenize(text, first_line))
    return _Translator(path, frozenset(optional)).run(tokens)


def _tokenize(text: str, first_line: int) -> list[_Token]:
    tokens: list[_Token] = []
    pos = 0
    for m in _TOKEN.finditer(text):
        line = first_line + text.count("\n", 0, m.start())
        if m.start() > pos:
            tokens.append(_Token("text", text[pos:m.start()], line))
        pos = m.end()
        if m.group("esc") is not None:
            tokens.append(_Token("text", "{{" + m.group("esc") + "}}", line))
        elif m.group("triple") is not None:
            tokens.append(_Token("tag", m.group("triple").strip(), line,
                                 bool(m.group("lt3")), bool(m.group("rt3"))))
        elif m.group("longc") is not None:
            tokens.append(_Token("tag", "!", line, bool(m.group("ltc")), bool(m.group("rtc")),
                                 block=True))
        else:
            body = m.group("body").strip()
            block = body.startswith(("#", "/", "!", "^")) or body == "else" or \
                body.startswith("else ")
            tokens.append(_Token("tag", "!" if body.startswith("!") else body, line,
                                 bool(m.group("lt")), bool(m.group("rt")), block))
    if pos < len(text):
        tokens.append(_Token("text", text[pos:], first_line + text.count("\n", 0, pos)))
    return tokens


def _whitespace(tokens: list[_Token]) -> list[_Token]:
    """Remove the lines that hold only a block tag (decided on the original text, as Handlebars
    does), then apply ``~``."""
    def text_at(i: int) -> str | None:
        return tokens[i].text if 0 <= i < len(tokens) and tokens[i].kind == "text" else None

    alone = []
    for i, tok in enumerate(tokens):
        if tok.kind != "tag" or not tok.block:
            continue
        prev, nxt = text_at(i - 1), text_at(i + 1)
        before = i == 0 or (prev is not None and re.search(r"(^|\n)[ \t]*$", prev) is not None
                            and (i == 1 or "\n" in prev))
        after = i == len(tokens) - 1 or (
            nxt is not None and re.match(r"[ \t]*(\r?\n|$)", nxt) is not None
            and ("\n" in nxt or i + 1 == len(tokens) - 1))
        if before and after:
            alone.append(i)
    for i in alone:
        if text_at(i - 1) is not None:
            tokens[i - 1].text = re.sub(r"[ \t]*$", "", tokens[i - 1].text)
        if text_at(i + 1) is not None:
            tokens[i + 1].text = re.sub(r"^[ \t]*\r?\n?", "", tokens[i + 1].text, count=1)
    for i, tok in enumerate(tokens):
        if tok.kind == "tag" and tok.trim_left and text_at(i - 1) is not None:
            tokens[i - 1].text = tokens[i - 1].text.rstrip()
        if tok.kind == "tag" and tok.trim_right and text_at(i + 1) is not None:
            tokens[i + 1].text = tokens[i + 1].text.lstrip()
    return tokens


class _Translator:
    def __init__(self, path: str, optional: frozenset[str]):
        self.path = path
        self.optional = optional
        self.frames: list[_Frame] = []
        self.out = _Out()
        self.roles = False

    def error(self, message: str, line: int) -> ConfigError:
        return ConfigError(message, self.path, line)

    def run(self, tokens: list[_Token]) -> list[tuple[str | None, str]]:
        for tok in tokens:
            if tok.kind == "text":
                self.out.add(jinja_literal(tok.text))
            elif tok.text != "!":
                self.tag(tok.text, tok.line)
        if self.frames:
            frame = self.frames[-1]
            raise self.error(f"{{{{#{frame.helper}}}}} is never closed", frame.line)
        messages = [(role, "".join(parts)) for role, parts in self.out.messages]
        if not self.roles:
            return [(None, messages[0][1])]
        return [(role or "user", body.strip("\n")) for role, body in messages
                if body.strip() or role is not None]

    def tag(self, body: str, line: int) -> None:
        if body.startswith("#"):
            self.open(body[1:].strip(), line)
        elif body.startswith("/"):
            self.close(body[1:].strip(), line)
        elif body == "else" or body == "^":
            self.otherwise(line)
        elif body.startswith("else "):
            self.else_if(body[5:].strip(), line)
        elif body.startswith(">"):
            raise self.error(f"partial {{{{> {body[1:].strip()}}}}} is not supported: "
                             "promptwork prompt files do not include other prompts", line)
        elif body.startswith(("^", "*", "{")):
            raise self.error(f"Handlebars construct {{{{{body}}}}} is not supported", line)
        else:
            self.mustache(body, line)

    def mustache(self, body: str, line: int) -> None:
        args = _ARG.findall(body)
        head = args[0] if args else ""
        if head == "role" and len(args) == 2:
            role = args[1].strip("\"'")
            if role not in _ROLES:
                raise self.error(f"role {role!r} is not supported (system, user, model)", line)
            if self.frames:
                raise self.error("{{role}} inside a block is not supported: promptwork's "
                                 "messages are fixed, not chosen by a condition", line)
            self.roles = True
            self.out.messages.append((_ROLES[role], []))
        elif head == "json":
            indent = 0
            for arg in args[2:]:
                if arg.startswith("indent=") and arg[7:].isdigit():
                    indent = int(arg[7:])
                else:
                    raise self.error(f"json argument {arg!r} is not supported", line)
            if len(args) < 2:
                raise self.error("{{json}} needs a value", line)
            target = self.resolve(args[1], line)
            self.out.add(f"{{{{ {target} | dump{f'({indent})' if indent else ''} }}}}")
        elif len(args) == 1 and head not in _REFUSED:
            target = self.resolve(head, line)
            if target in self.optional:
                target += " | default('')"
            self.out.add(f"{{{{ {target} }}}}")
        else:
            why = _REFUSED.get(head, "only dotprompt's common helpers are translated")
            raise self.error(f"Handlebars helper {head!r} is not supported: {why}", line)

    def open(self, body: str, line: int) -> None:
        args = _ARG.findall(body)
        helper = args[0] if args else ""
        if helper in ("if", "unless") and len(args) == 2:
            self.frames.append(_Frame(helper, line))
            self.out.add(f"{{% if {self.condition(args[1], helper == 'unless', line)} %}}")
        elif helper in ("ifEquals", "unlessEquals") and len(args) == 3:
            self.frames.append(_Frame(helper, line))
            op = "==" if helper == "ifEquals" else "!="
            self.out.add(f"{{% if {self.operand(args[1], line)} {op} "
                         f"{self.operand(args[2], line)} %}}")
        elif helper == "each" and (len(args) == 2 or (len(args) in (4, 5) and args[2] == "as")):
            names = [a.strip("|") for a in args[3:]] if len(args) > 2 else []
            source = self.resolve(args[1], line)
            if source in self.optional:
                source += " | default([])"
            item = names[0] if names else f"item{len(self.frames) + 1}"
            frame = _Frame("each", line, item, names[1] if len(names) > 1 else "", source=source,
                           named=bool(names))
            frame.key_at = self.out.add(f"{{% for {item} in {source} %}}")
            self.frames.append(frame)
        else:
            why = _REFUSED.get(helper, "only if, unless, each, ifEquals and unlessEquals blocks "
                                       "are translated")
            raise self.error(f"Handlebars block helper {helper!r} is not supported: {why}", line)

    def close(self, helper: str, line: int) -> None:
        if not self.frames or self.frames[-1].helper != helper:
            expected = self.frames[-1].helper if self.frames else "nothing"
            raise self.error(f"{{{{/{helper}}}}} closes {expected}", line)
        frame = self.frames.pop()
        if frame.helper == "each" and frame.has_key:
            self.out.messages[-1][1][frame.key_at] = (
                f"{{% for {frame.index or 'key'}, {frame.item} in {frame.source}.items() %}}")
        self.out.add("{% endfor %}" if frame.helper == "each" else "{% endif %}")

    def otherwise(self, line: int) -> None:
        if not self.frames:
            raise self.error("{{else}} outside a block", line)
        self.out.add("{% else %}")

    def else_if(self, body: str, line: int) -> None:
        args = _ARG.findall(body)
        if not self.frames or self.frames[-1].helper not in ("if", "unless") or \
                len(args) != 2 or args[0] not in ("if", "unless"):
            raise self.error(f"{{{{else {body}}}}} is not supported (only else if / else unless "
                             "inside if)", line)
        self.out.add(f"{{% elif {self.condition(args[1], args[0] == 'unless', line)} %}}")

    def condition(self, arg: str, negate: bool, line: int) -> str:
        target = self.resolve(arg, line)
        if target in self.optional:
            target = f"{target} is defined and {target}"
            return f"not ({target})" if negate else target
        return f"not {target}" if negate else target

    def operand(self, arg: str, line: int) -> str:
        if arg[0] in "\"'":
            return repr(arg[1:-1])
        if re.fullmatch(r"-?\d+(\.\d+)?", arg) or arg in ("true", "false"):
            return {"true": "True", "false": "False"}.get(arg, arg)
        return self.resolve(arg, line)

    def resolve(self, ref: str, line: int) -> str:
        """A Handlebars path as a Jinja2 expression in the current loops."""
        depth = len(self.frames)
        eaches = [f for f in self.frames if f.helper == "each"]
        if ref.startswith("@root."):
            return self._segments(ref[6:], line)
        if ref in ("@index", "@first", "@last", "@key"):
            if not eaches:
                raise self.error(f"{ref} outside {{{{#each}}}}", line)
            frame = eaches[-1]
            if ref == "@key":
                frame.has_key = True
                return frame.index or "key"
            if ref == "@index" and frame.index:
                return "loop.index0"
            return "loop." + {"@index": "index0", "@first": "first", "@last": "last"}[ref]
        ups = 0
        while ref.startswith("../"):
            ups, ref = ups + 1, ref[3:]
        scope = eaches[: len(eaches) - ups] if ups <= len(eaches) else []
        if ups > len(eaches):
            raise self.error(f"'../' leaves the template's top level ({depth} blocks deep)", line)
        if ref in ("this", ".") or ref.startswith(("this.", "./")):
            rest = ref.split(".", 1)[1] if ref.startswith("this.") else ref[2:]
            rest = "" if ref in ("this", ".") else rest
            if not scope:
                raise self.error(f"{{{{{ref}}}}} at the top level is not supported: name the "
                                 "variable", line)
            base = scope[-1].item
            return base + ("." + self._segments(rest, line) if rest else "")
        first = ref.split(".", 1)[0]
        for frame in reversed(self.frames):
            if frame.helper == "each" and frame.named and first in (frame.item, frame.index):
                if first == frame.index:
                    return "loop.index0"
                return self._segments(ref, line)
        if scope:
            return scope[-1].item + "." + self._segments(ref, line)
        return self._segments(ref, line)

    def _segments(self, ref: str, line: int) -> str:
        out = ""
        for seg in ref.replace("/", ".").split("."):
            seg = seg.strip("[]")
            if not _SEGMENT.fullmatch(seg):
                raise self.error(f"path {ref!r} is not supported (names and list indexes only)",
                                 line)
            out += f"[{seg}]" if seg.isdigit() else ("." if out else "") + seg
        return out
