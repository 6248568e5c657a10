"""JavaScript source as code only: string literals, template text, comments and regular expression
literals blanked out, so that a by-name refusal (``require(``, ``import``) looks at code, not at
text that merely mentions it (``output.includes("require(")``, ``// no import here``).

A small scanner, not a parser: it knows JavaScript's quotes, escapes, ``${...}`` inside template
literals (code again, nested to any depth), ``//`` and ``/* */`` comments, and tells a regular
expression literal from a division by the token before the slash. Blanked characters become
spaces (newlines are kept), so line-anchored patterns still see the code's lines.
"""

from __future__ import annotations

__all__ = ["code_only"]

#: After these characters (the last one that is not white space) a ``/`` starts a regular
#: expression; after anything else (a name, a number, ``)``, ``]``) it divides.
_REGEX_AFTER = frozenset("(,=:[!&|?{};+-*%<>~^")
#: Keywords after which a ``/`` starts a regular expression (``return /x/.test(output)``).
_REGEX_KEYWORDS = frozenset({"return", "typeof", "case", "do", "else", "in", "of", "void",
                             "yield", "await", "delete", "instanceof", "new", "throw"})


def code_only(source: str) -> str:
    """``source`` with everything that is not code replaced by spaces (see the module doc).

    An unterminated string, comment or template blanks the rest of the text (the script does
    not parse anyway; its syntax error is reported elsewhere).
    """
    out = list(source)
    _Scanner(source, out).code(0, top=True)
    return "".join(out)


class _Scanner:
    def __init__(self, text: str, out: list[str]) -> None:
        self.text = text
        self.out = out
        #: 1 where a literal (a value: string, template, regular expression) was blanked.
        self.literal = bytearray(len(text))

    def blank(self, start: int, end: int, *, literal: bool = True) -> None:
        for i in range(start, min(end, len(self.text))):
            self.literal[i] = literal
            if self.out[i] != "\n":
                self.out[i] = " "

    def code(self, i: int, *, top: bool) -> int:
        """Scan code from ``i``; inside a template's ``${`` (``top`` false) stop after its
        closing ``}``. Returns where scanning stopped."""
        text, depth = self.text, 0
        while i < len(text):
            c = text[i]
            if c in "'\"":
                i = self.quoted(i, c)
            elif c == "`":
                i = self.template(i)
            elif text.startswith("//", i):
                end = text.find("\n", i)
                end = len(text) if end < 0 else end
                self.blank(i, end, literal=False)
                i = end
            elif text.startswith("/*", i):
                end = text.find("*/", i + 2)
                end = len(text) if end < 0 else end + 2
                self.blank(i, end, literal=False)
                i = end
            elif c == "/" and self.starts_regex(i):
                i = self.regex(i)
            elif c == "{":
                depth += 1
                i += 1
            elif c == "}":
                if depth == 0 and not top:
                    return i + 1
                depth -= 1
                i += 1
            else:
                i += 1
        return i

    def quoted(self, i: int, quote: str) -> int:
        j = i + 1
        while j < len(self.text) and self.text[j] not in (quote, "\n"):
            j += 2 if self.text[j] == "\\" else 1
        end = min(j + 1, len(self.text))
        self.blank(i, end)
        return end

    def template(self, i: int) -> int:
        text, j = self.text, i + 1
        while j < len(text):
            if text[j] == "\\":
                j += 2
            elif text[j] == "`":
                self.blank(i, j + 1)
                return j + 1
            elif text.startswith("${", j):
                self.blank(i, j)
                j = self.code(j + 2, top=False)
                i = j  # the template's text goes on after the expression
                continue
            else:
                j += 1
        self.blank(i, len(text))
        return len(text)

    def starts_regex(self, i: int) -> bool:
        j = i - 1
        while j >= 0 and self.out[j].isspace() and not self.literal[j]:
            j -= 1
        if j < 0:
            return True
        if self.literal[j]:  # a value just before: '"a" / 2' divides
            return False
        if self.out[j] in _REGEX_AFTER:
            return True
        start = j
        while start >= 0 and (self.out[start].isalnum() or self.out[start] in "_$"):
            start -= 1
        return "".join(self.out[start + 1 : j + 1]) in _REGEX_KEYWORDS

    def regex(self, i: int) -> int:
        text, j, in_class = self.text, i + 1, False
        while j < len(text) and text[j] != "\n":
            c = text[j]
            if c == "\\":
                j += 2
                continue
            if c == "[":
                in_class = True
            elif c == "]":
                in_class = False
            elif c == "/" and not in_class:
                self.blank(i, j + 1)
                return j + 1
            j += 1
        return i + 1  # no closing slash on the line: a division after all
