"""Terminal tables: escapes neutralised, markup literal, caps, Wilson intervals."""

from __future__ import annotations

import io
from typing import Any

from rich.console import Console

from promptwork.report.summary import summarize
from promptwork.report.terminal import (
    build_matrix,
    clean,
    compact_vars,
    format_rate,
    matrix_table,
    summary_table,
)
from promptwork.stats import wilson_interval

from .synthetic import PROMPTS, PROVIDERS, make_row


def render(renderable: Any, width: int = 250) -> str:
    console = Console(record=True, width=width, force_terminal=True, color_system="truecolor")
    console.print(renderable)
    return console.export_text()


def test_ansi_escapes_in_outputs_are_neutralised(rows: list[dict[str, Any]]) -> None:
    text = render(matrix_table(rows, PROMPTS, PROVIDERS, output_limit=200))
    assert "\x1b" not in text
    assert "\x07" not in text
    assert "\\x1b[31mRED" in text  # shown as harmless text


def test_rich_markup_in_outputs_stays_literal() -> None:
    row = make_row(0, output="[bold red]hi[/] :smile: [link=https://e.example]x[/link]")
    raw = io.StringIO()
    console = Console(file=raw, record=True, width=250, force_terminal=True,
                      color_system="truecolor")
    console.print(matrix_table([row], PROMPTS, PROVIDERS))
    text = console.export_text()
    assert "[bold red]hi[/]" in text
    assert ":smile:" in text  # no emoji substitution either
    assert "[link=https://e.example]" in text
    assert "\x1b]8;" not in raw.getvalue()  # no terminal hyperlink was made from the output


def test_markup_and_escapes_in_labels_and_vars() -> None:
    row = make_row(0, vars={"q": "[red]x[/red]\x1b[2J"})
    text = render(matrix_table([row], ["[bold]p[/bold]"], ["\x1b]0;title\x07m"]))
    assert "[bold]p[/bold]" in text
    assert "[red]x[/red]" in text
    assert "\x1b" not in text and "\x07" not in text


def test_cells_show_status_score_and_output(rows: list[dict[str, Any]]) -> None:
    text = render(matrix_table(rows, PROMPTS, PROVIDERS))
    assert "PASS 1.00" in text
    assert "FAIL 0.00" in text
    assert "ERROR" in text and "timed out after 30s" in text
    assert "city=city 2, n=2" in text
    assert "concise \u00d7 gpt-mini" in text


def test_long_outputs_are_truncated() -> None:
    row = make_row(0, output="word " * 500)
    text = render(matrix_table([row], PROMPTS, PROVIDERS, output_limit=40))
    assert "…" in text
    assert text.count("word") < 20


def test_more_tests_than_max_rows_says_how_many_were_omitted() -> None:
    rows = [make_row(t) for t in range(60)]
    text = render(matrix_table(list(reversed(rows)), PROMPTS, PROVIDERS, max_rows=50))
    assert "showing the first 50 of 60 tests; 10 omitted" in text
    assert "#0 " in text and "#49 " in text
    assert "#50 " not in text and "#59 " not in text


def test_build_matrix_keeps_the_smallest_keys_whatever_the_order() -> None:
    rows = [make_row(t, p) for t in (7, 3, 9, 1, 5) for p in (0, 1)]
    matrix = build_matrix(rows, max_rows=2)
    assert matrix.rows == [(1, 0), (3, 0)]
    assert matrix.omitted == 3
    assert set(matrix.vars) == {1, 3}
    assert len(matrix.cells) == 4


def test_repeats_get_their_own_rows() -> None:
    rows = [make_row(0, repeat=r) for r in range(3)]
    text = render(matrix_table(rows, PROMPTS, PROVIDERS))
    assert "#0 r0" in text and "#0 r2" in text


def test_descriptions_replace_vars() -> None:
    text = render(matrix_table([make_row(0)], PROMPTS, PROVIDERS,
                               descriptions={0: "capital of France"}))
    assert "capital of France" in text
    assert "city=" not in text


def test_summary_table_pass_rate_with_wilson_interval(rows: list[dict[str, Any]]) -> None:
    columns = summarize(rows, PROMPTS, PROVIDERS)
    text = render(summary_table(columns))
    low, high = wilson_interval(3, 4)
    expected = f"75.0% [{100 * low:.1f}\u2013{100 * high:.1f}]"
    assert expected == "75.0% [30.1\u201395.4]"
    assert expected in text
    assert "0.0% [0.0\u201349.0]" in text
    # Two columns tie at 100%: a tie is no win, so no column is marked (issue 18 §2).
    assert "★" not in text
    assert "n/a" in text  # unknown cost of the last column
    assert "$0.0040" in text
    assert "100 ms" in text


def test_format_rate_without_graded_results() -> None:
    columns = summarize([make_row(0, error="boom")], PROMPTS, PROVIDERS)
    assert format_rate(columns[0]) == "n/a"
    text = render(summary_table(columns))
    assert "★" not in text


def test_summary_labels_are_cleaned() -> None:
    columns = summarize([make_row(0)], ["\x1b[31mevil[/]"], ["m"])
    text = render(summary_table(columns))
    assert "\x1b" not in text
    assert "\\x1b[31mevil[/]" in text


def test_clean_neutralises_c1_and_bidi_controls() -> None:
    assert clean("a\u202eb\x9bc") == "a\\u202eb\\x9bc"
    assert clean(None) == ""


def test_compact_vars() -> None:
    assert compact_vars({"a": "x", "b": [1, 2]}) == "a=x, b=[1, 2]"
    assert compact_vars({}) == "(no vars)"
    assert compact_vars({"a": "line\nbreak"}) == "a=line break"
    assert len(compact_vars({"a": "x" * 500}, 30)) == 30
