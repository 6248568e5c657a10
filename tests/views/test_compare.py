"""The compare view model: deltas with direction, the paired tests' verdicts in plain words,
the flipped tests filtered and paged, and the word diff of two answers."""

from __future__ import annotations

from pathlib import Path

import pytest

from promptwork.errors import ConfigError
from promptwork.report.runcompare import compare_stored
from promptwork.views.compare import build_compare
from promptwork.views.textdiff import MAX_TOKENS, line_diff, word_diff
from versionkit import TwoRuns, two_versions


@pytest.fixture
def runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> TwoRuns:
    return two_versions(tmp_path, monkeypatch)


def test_word_diff_segments_rebuild_both_texts() -> None:
    a, b = "Paris is the capital, of France.", "Paris is not the capital of Spain."
    diff = word_diff(a, b)
    assert diff.side("a") == a and diff.side("b") == b
    assert ("insert", "not ") in diff.to_list()
    assert ("delete", "France") in diff.to_list() and ("insert", "Spain") in diff.to_list()
    assert not diff.identical and diff.inserted == 2 and diff.deleted == 2
    same = word_diff("same words", "same words")
    assert same.identical and same.to_list() == [("equal", "same words")]
    assert word_diff(None, "new").to_list() == [("insert", "new")]


def test_markup_stays_text_in_the_segments() -> None:
    diff = word_diff("<b>old</b>", "<script>alert(1)</script>")
    assert diff.side("b") == "<script>alert(1)</script>"  # data; the template escapes it
    assert all(op in ("equal", "insert", "delete") for op, _ in diff.to_list())


def test_long_texts_fall_back_to_a_line_diff() -> None:
    long_a = "word " * (MAX_TOKENS // 2 + 10) + "\nend a\n"
    long_b = "word " * (MAX_TOKENS // 2 + 10) + "\nend b\n"
    diff = word_diff(long_a, long_b)
    assert diff.unit == "line" and diff.side("b") == long_b
    assert line_diff("a\nb\n", "a\nc\n").to_list() == [("equal", "a\n"), ("delete", "b\n"),
                                                        ("insert", "c\n")]


def test_two_runs_give_deltas_flips_and_a_plain_verdict(runs: TwoRuns) -> None:
    view = build_compare(runs.store, runs.first, runs.second)
    assert (view.run_a, view.run_b) == (runs.first, runs.second) and not view.same_run
    [ask, other] = sorted(view.pairs, key=lambda p: p.label_a)
    assert runs.prompt_path in ask.label_a
    assert (ask.pass_rate.a, ask.pass_rate.b) == (0.9, 0.9)
    assert ask.pass_rate.direction == "same"
    assert (ask.regressions, ask.fixes) == (1, 1)
    assert not ask.significant and ask.plain == "no significant difference"
    assert ask.verdict.startswith("no significant difference (p=1")
    assert other.pass_rate.direction == "same" and other.pass_rate.a == 0.0
    kinds = {(f.kind, f.cell.test_idx) for f in view.flips}
    assert kinds == {("regression", 2), ("fix", 1)}
    assert view.flips_total == 2
    # The same numbers as `runs compare`: the view reuses its comparison.
    stored = compare_stored(runs.store, runs.first, runs.second)
    assert [p.comparison.to_dict() for p in stored.pairs] == [
        p.comparison.to_dict() for p in view.pairs]


def test_the_flips_filter_by_kind_text_and_page(runs: TwoRuns) -> None:
    regressions = build_compare(runs.store, runs.first, runs.second, flips="regressions")
    assert [(f.kind, f.cell.test_idx) for f in regressions.flips] == [("regression", 2)]
    fixes = build_compare(runs.store, runs.first, runs.second, flips="fixes")
    assert [(f.kind, f.cell.test_idx) for f in fixes.flips] == [("fix", 1)]
    searched = build_compare(runs.store, runs.first, runs.second, search="NO SIR")
    assert [f.cell.test_idx for f in searched.flips] == [1]
    paged = build_compare(runs.store, runs.first, runs.second, page=1, page_size=1)
    assert paged.flips_total == 2 and paged.pages == 2 and len(paged.flips) == 1
    with pytest.raises(ConfigError, match="unknown filter"):
        build_compare(runs.store, runs.first, runs.second, flips="worse")


def test_the_answer_diff_is_word_level(runs: TwoRuns) -> None:
    view = build_compare(runs.store, runs.first, runs.second, col_a="0:0", col_b="0:0",
                         diff_test=0)
    assert view.diff is not None
    assert (view.diff.output_a, view.diff.output_b) == ("yes it is blue", "yes it is red")
    assert view.diff.diff.to_list() == [("equal", "yes it is "), ("delete", "blue"),
                                        ("insert", "red")]
    assert (view.diff.verdict_a, view.diff.verdict_b) == ("pass", "pass")
    # Without a test named, the first flip shown is diffed.
    first = build_compare(runs.store, runs.first, runs.second, col_a="0:0", col_b="0:0")
    assert first.diff is not None and first.diff.test_idx == first.flips[0].cell.test_idx
    assert {first.diff.verdict_a, first.diff.verdict_b} == {"pass", "fail"}


def test_two_columns_of_one_run_say_which_is_better(runs: TwoRuns) -> None:
    view = build_compare(runs.store, runs.second, None, col_a="0:0", col_b="1:0")
    [pair] = view.pairs
    assert view.same_run
    assert pair.pass_rate.change == pytest.approx(-0.9)
    assert pair.pass_rate.direction == "worse" and pair.score.direction == "worse"
    assert pair.significant and pair.plain == "A better, p=0.0039"  # McNemar: 2 * 0.5 ** 9
    assert pair.pass_p is not None and pair.pass_p < 0.01
    assert pair.score_interval is not None and pair.score_interval[1] < 0
    assert pair.regressions == 9 and pair.fixes == 0
    with pytest.raises(ConfigError, match="name both with --a and --b"):
        build_compare(runs.store, runs.second)


def test_a_significant_score_change_alone_is_said_in_one_phrase(runs: TwoRuns) -> None:
    import dataclasses

    from promptwork.views.compare import Delta

    view = build_compare(runs.store, runs.first, runs.second)
    alike = next(p for p in view.pairs if not p.significant)
    higher = dataclasses.replace(alike, score=Delta(0.2, 0.5), score_significant=True,
                                 score_p=0.012)
    assert higher.plain == "B scores higher, p=0.012"
    lower = dataclasses.replace(higher, score=Delta(0.5, 0.2))
    assert lower.plain == "A scores higher, p=0.012"
    assert dataclasses.replace(alike, score_p=0.2).plain == "no significant difference"
