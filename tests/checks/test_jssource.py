"""JavaScript source as code only: what the by-name refusals of :mod:`promptwork.checks.jsengine`
look at (issue 17: ``require(`` inside a string or a comment is not a use)."""

from __future__ import annotations

import pytest

from promptwork.checks.jsengine import script_problem
from promptwork.checks.jssource import code_only


@pytest.mark.parametrize(
    "code",
    [
        'output.includes("require(")',
        "output.includes('import fs from x') && !output.includes(`require('fs')`)",
        "// require('fs') would not work here\nreturn output.length > 2",
        "/* import fs from 'fs';\n   export default 1 */\nreturn true",
        "return /require\\(['\"]fs/.test(output)",
        "return output.split(/import\\s*\\(/).length === 1",
        "const s = 'it\\'s require(';\nreturn output !== s",
        "return `no ${output.length > 2 ? 'require(' : ''} here`",
    ],
)
def test_a_mention_in_text_or_a_comment_is_not_refused(code: str) -> None:
    assert script_problem(code) is None


@pytest.mark.parametrize(
    ("code", "match"),
    [
        ("const s = 'a'; const fs = require('fs');\nreturn true;", "uses require()"),
        ("return `${require('fs').readFileSync('x')}`", "uses require()"),  # code in a template
        ("return 'a' / 2 / require('os')", "uses require()"),  # a division, then code
        ("const r = /[/]x/; return require('fs')", "uses require()"),  # '/' inside a class
        ("// note\nimport fs from 'fs';\nreturn true;", "uses import"),
        ("return import(`fs`)", "uses import"),
        ("/* header */\nexport default function () { return 1; }", "ES module 'export'"),
    ],
)
def test_a_use_in_code_is_still_refused(code: str, match: str) -> None:
    problem = script_problem(code)
    assert problem is not None and match in problem


def test_blanked_text_keeps_lines_and_offsets() -> None:
    code = "a('x');\n/* y\nz */ b(`t${c}u`)"
    blank = code_only(code)
    assert len(blank) == len(code) and blank.count("\n") == code.count("\n")
    assert blank == "a(   );\n    \n     b(  ${c}  )"


def test_an_unterminated_string_blanks_only_its_line_and_a_division_is_code() -> None:
    assert code_only("x = 'open\nrequire(y)") == "x =      \nrequire(y)"
    assert code_only("n = a / b / c") == "n = a / b / c"
