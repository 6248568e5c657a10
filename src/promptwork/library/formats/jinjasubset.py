"""The part of promptwork's Jinja2 that other tools' template languages can express.

:func:`parse_subset` cuts a message template into :class:`Piece` objects: text, a variable
(``{{ a.b }}``, with ``| default('')`` or ``| dump``/``| tojson``), a quoted literal, and the tags
``if``/``elif``/``else``/``endif`` (on a variable, its negation, ``x is defined and x``, or an
``==``/``!=`` comparison with a literal) and ``for x in y``/``endfor``. Anything else (macros,
filters other than those, expressions) is refused by name with its file and line, since an
export that dropped it would change what the prompt says.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from typing import Any

from promptwork.errors import ConfigError

_TAG = re.compile(r"\{\{(-?)(.*?)(-?)\}\}|\{%(-?)(.*?)(-?)%\}|\{#.*?#\}", re.DOTALL)
PATH = r"[A-Za-z_]\w*(?:\.[A-Za-z_]\w*|\[\d+\])*"
_PATH = re.compile(PATH)
_DEFAULT = re.compile(rf"({PATH})\s*\|\s*(?:default|d)\(\s*(''|\"\"|\[\])\s*\)")
_DUMP = re.compile(rf"({PATH})\s*\|\s*(?:dump|tojson)(?:\(\s*(?:indent\s*=\s*)?(\d+)\s*\))?")
_GUARD = re.compile(rf"({PATH})\s+is\s+defined\s+and\s+({PATH})")
_COMPARE = re.compile(rf"({PATH})\s*(==|!=)\s*(.+)")
_FOR = re.compile(r"for\s+([A-Za-z_]\w*)\s+in\s+(.+)")


@dataclass
class Piece:
    """One piece of a template.

    ``kind`` is ``text`` (``value`` the text), ``literal`` (a quoted string, ``value``), ``var``
    (``path``; ``optional`` with ``| default``), ``json`` (``path``, ``indent``), ``if``/``elif``
    (``path``, ``negate``, ``optional`` for ``x is defined and x``, ``compare`` = (op, value)),
    ``else``, ``endif``, ``for`` (``target``, ``path``, ``optional``), ``endfor``.
    """

    kind: str
    line: int
    value: str = ""
    path: str = ""
    negate: bool = False
    optional: bool = False
    indent: int = 0
    target: str = ""
    compare: tuple[str, Any] | None = None
    trim_left: bool = False
    trim_right: bool = False


def parse_subset(text: str, path: str, first_line: int, fmt: str) -> list[Piece]:
    """``text`` as pieces.

    Raises:
        ConfigError: A construct outside the subset, named, with ``path`` and its line.
    """
    pieces: list[Piece] = []
    pos = 0
    for match in _TAG.finditer(text):
        line = first_line + text.count("\n", 0, match.start())
        if match.start() > pos:
            pieces.append(Piece("text", line, value=text[pos:match.start()]))
        pos = match.end()
        if match.group(0).startswith("{#"):
            continue
        if match.group(0).startswith("{{"):
            piece = _expression(match.group(2).strip(), line, path, fmt)
            piece.trim_left, piece.trim_right = bool(match.group(1)), bool(match.group(3))
        else:
            piece = _statement(match.group(5).strip(), line, path, fmt)
            piece.trim_left, piece.trim_right = bool(match.group(4)), bool(match.group(6))
        pieces.append(piece)
    if pos < len(text):
        pieces.append(Piece("text", first_line + text.count("\n", 0, pos), value=text[pos:]))
    return pieces


def _refuse(what: str, line: int, path: str, fmt: str) -> ConfigError:
    return ConfigError(f"{what} cannot be written in {fmt}: it holds variables, if/else, for "
                       "loops and JSON output only; simplify the template or keep it in "
                       "promptwork's format", path, line)


def _literal(text: str) -> Any:
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return _NOT_LITERAL


_NOT_LITERAL = object()


def _expression(expr: str, line: int, path: str, fmt: str) -> Piece:
    if _PATH.fullmatch(expr):
        return Piece("var", line, path=expr)
    if m := _DEFAULT.fullmatch(expr):
        return Piece("var", line, path=m.group(1), optional=True)
    if m := _DUMP.fullmatch(expr):
        return Piece("json", line, path=m.group(1), indent=int(m.group(2) or 0))
    value = _literal(expr)
    if isinstance(value, str):
        return Piece("literal", line, value=value)
    raise _refuse(f"the expression {{{{ {expr} }}}}", line, path, fmt)


def _condition(kind: str, expr: str, line: int, path: str, fmt: str) -> Piece:
    negate = False
    if expr.startswith("not "):
        negate, expr = True, expr[4:].strip()
    if _PATH.fullmatch(expr):
        return Piece(kind, line, path=expr, negate=negate)
    if (m := _GUARD.fullmatch(expr)) and m.group(1) == m.group(2):
        return Piece(kind, line, path=m.group(1), negate=negate, optional=True)
    if (m := _COMPARE.fullmatch(expr)) and not negate:
        value = _literal(m.group(3).strip())
        if value is not _NOT_LITERAL and isinstance(value, str | int | float | bool):
            return Piece(kind, line, path=m.group(1), compare=(m.group(2), value))
    raise _refuse(f"the condition {{% {kind} {expr} %}}", line, path, fmt)


def _statement(stmt: str, line: int, path: str, fmt: str) -> Piece:
    word, _, rest = stmt.partition(" ")
    rest = rest.strip()
    if word in ("if", "elif"):
        return _condition(word, rest, line, path, fmt)
    if word in ("else", "endif", "endfor") and not rest:
        return Piece(word, line)
    if word == "for" and (m := _FOR.fullmatch(stmt)):
        source = m.group(2).strip()
        if _PATH.fullmatch(source):
            return Piece("for", line, target=m.group(1), path=source)
        if d := _DEFAULT.fullmatch(source):
            return Piece("for", line, target=m.group(1), path=d.group(1), optional=True)
    raise _refuse(f"the tag {{% {word} %}}", line, path, fmt)


def plain_variables(pieces: list[Piece], path: str, fmt: str) -> list[Piece]:
    """``pieces`` when they are only text and variables (Langfuse, llm), else an error."""
    for piece in pieces:
        if piece.kind not in ("text", "literal", "var") or piece.trim_left or piece.trim_right:
            raise ConfigError(
                f"{fmt} templates hold text and variables only; this template uses "
                f"{_describe(piece)}; keep it in promptwork's format or simplify it", path,
                piece.line)
        if piece.kind == "var" and not piece.path.isidentifier():
            raise ConfigError(f"{fmt} variables are plain names; {{{{ {piece.path} }}}} reads "
                              "inside a value", path, piece.line)
    return pieces


def _describe(piece: Piece) -> str:
    if piece.trim_left or piece.trim_right:
        return "whitespace control ('-' in a tag)"
    if piece.kind == "json":
        return f"JSON output of {piece.path!r}"
    if piece.kind in ("for", "endfor"):
        return "a for loop"
    return f"an {piece.kind} tag" if piece.kind in ("if", "elif", "else", "endif") else piece.kind
