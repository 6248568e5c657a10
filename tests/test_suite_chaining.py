"""``options.storeOutputAs`` feeds later tests (per column, also after a resume), and
``options.prefix``/``suffix`` wrap the rendered prompt."""

from __future__ import annotations

from pathlib import Path

import promptwork as pw
from promptwork.cases import TestCase
from promptwork.chaining import windows
from promptwork.runner import RunConfig

SUITE = """\
prompts: ['A: {{ message }}', 'B: {{ message }}']
providers: [echo]
tests:
  - vars: {message: first}
    options: {storeOutputAs: reply}
  - vars: {message: 'you said <{{ reply }}>'}
  - vars: {message: 'plain'}
    options: {prefix: '[', suffix: ']'}
"""


def outputs(run: pw.EvalRun) -> dict[tuple[int, int], str]:
    return {(r["test_idx"], r["prompt_idx"]): r["output"] for r in run.rows()}


def test_a_stored_output_reaches_the_later_tests_of_its_column(tmp_path: Path) -> None:
    path = tmp_path / "promptfooconfig.yaml"
    path.write_text(SUITE, encoding="utf-8")
    run = pw.evaluate(path, config=RunConfig(use_cache=False, window=256))
    out = outputs(run)
    assert out[(1, 0)] == "A: you said <A: first>"
    assert out[(1, 1)] == "B: you said <B: first>"
    assert out[(2, 0)] == "[A: plain]"


def test_windows_end_after_a_storing_test() -> None:
    tests = [TestCase(i, {}, options={"storeOutputAs": "x"} if i == 1 else {}) for i in range(5)]
    assert [[t.index for t in w] for w in windows(iter(tests), 3)] == [[0, 1], [2, 3, 4]]


def test_a_reference_to_a_name_no_test_stores_is_still_a_load_error(tmp_path: Path) -> None:
    path = tmp_path / "promptfooconfig.yaml"
    # The storing test comes after the one that uses the name: promptfoo's order matters.
    path.write_text("prompts: ['{{ m }}']\nproviders: [echo]\ntests:\n"
                    "  - vars: {m: '{{ reply }}'}\n"
                    "  - vars: {m: x}\n    options: {storeOutputAs: reply}\n", encoding="utf-8")
    try:
        pw.evaluate(path, config=RunConfig(use_cache=False))
    except pw.ConfigError as exc:
        assert "uses reply, which no var of this test defines" in str(exc)
    else:
        raise AssertionError("expected a load error")


def test_data_file_values_stay_literal_after_a_stored_output(tmp_path: Path) -> None:
    # A CSV value that mentions the stored name is data: never rendered, at load or at run time.
    (tmp_path / "t.csv").write_text('q\n"{{ reply }} and {{ 7*7 }}"\n', encoding="utf-8")
    path = tmp_path / "promptfooconfig.yaml"
    path.write_text("prompts: ['Say: {{ q }}']\nproviders: [echo]\ntests:\n"
                    "  - vars: {q: first}\n    options: {storeOutputAs: reply}\n"
                    "  - file://t.csv\n", encoding="utf-8")
    run = pw.evaluate(path, config=RunConfig(use_cache=False))
    assert outputs(run)[(1, 0)] == "Say: {{ reply }} and {{ 7*7 }}"


def test_a_suite_var_is_rendered_once_and_data_it_inserts_stays_literal(tmp_path: Path) -> None:
    # 'msg' is rendered at load with the CSV's 'q' inserted as data; the text it then holds
    # names the stored var, and must not be rendered a second time when 'reply' is known.
    (tmp_path / "t.csv").write_text('q\n"{{ reply }}"\n', encoding="utf-8")
    path = tmp_path / "promptfooconfig.yaml"
    path.write_text("prompts: ['{{ msg }}']\nproviders: [echo]\n"
                    "defaultTest:\n  vars: {msg: 'Q: {{ q }}'}\ntests:\n"
                    "  - vars: {q: first}\n    options: {storeOutputAs: reply}\n"
                    "  - file://t.csv\n", encoding="utf-8")
    run = pw.evaluate(path, config=RunConfig(use_cache=False))
    assert outputs(run)[(1, 0)] == "Q: {{ reply }}"
