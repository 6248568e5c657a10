"""The Markdown export for wikis (issue 18 §3): no HTML, entity or <br> in table cells; long
answers whole below the table, or cut with a mark that gives their length."""

from __future__ import annotations

import io
from typing import Any

from promptwork.report.markdown import CELL_LIMIT, FULL_LIMIT, write_markdown
from promptwork.report.summary import summarize

from .synthetic import PROMPTS, PROVIDERS, make_row, make_run


def _md(rows: list[dict[str, Any]], dataset: list[Any] | None = None) -> str:
    out = io.StringIO()
    columns = summarize(rows, PROMPTS, PROVIDERS)
    write_markdown(out, make_run(), rows, PROMPTS, PROVIDERS, columns, None, dataset or [])
    return out.getvalue()


def test_short_answers_are_whole_in_their_cell() -> None:
    answer = "x" * CELL_LIMIT
    text = _md([make_row(0, output=answer)])
    assert f"| **PASS** 1.00 {answer} |" in text and "## Answers" not in text


def test_a_multiline_answer_goes_below_the_table_whole() -> None:
    answer = "line one\n\n```python\nprint('hi')\n```\nline <b>three</b> &amp;"
    text = _md([make_row(0, output=answer)])
    table = next(line for line in text.splitlines() if line.startswith("| #0"))
    assert f"cut: {len(answer)} characters, whole answer A1 below" in table
    assert "<br>" not in table and "&lt;" not in table
    assert "\\<b\\>three\\</b\\>" in table and "\\&amp;" in table  # shown as written
    # The block's fence is longer than any backtick run inside, so the answer cannot close it.
    assert f"\n````text\n{answer}\n````\n" in text


def test_an_answer_beyond_the_full_limit_is_cut_with_its_length() -> None:
    answer = "word " * (FULL_LIMIT // 4)
    text = _md([make_row(0, output=answer)])
    assert f"cut at {FULL_LIMIT:,} of {len(answer):,} characters" in text
    assert answer[:FULL_LIMIT - 1] in text and answer not in text


def test_empty_answers_and_reasons_are_marked_without_html() -> None:
    text = _md([make_row(0, output="  ", success=False, reason="wanted <Paris>")])
    assert "| **FAIL** 0.00 _(empty)_ — _wanted \\<Paris\\>_ |" in text
