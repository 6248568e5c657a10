"""Splits (fixed by the seed, disjoint) and reference answers (checks, variables, bootstrap)."""

from __future__ import annotations

from pathlib import Path

import pytest

from promptwork.errors import ConfigError
from promptwork.optimizer.candidate import SeedPrompt
from promptwork.optimizer.data import (
    Example,
    label_set,
    load_examples,
    make_splits,
    parse_split,
    reference_summary,
    splits_by_variable,
)
from promptwork.suite import load_suite

from .kit import write_sentiment_suite


def _examples(folder: Path, **kw: object) -> list[Example]:
    write_sentiment_suite(folder, **kw)  # type: ignore[arg-type]
    suite = load_suite(folder)
    return load_examples(suite.tests, SeedPrompt.of(suite.prompts[0].template).variables)


@pytest.mark.parametrize("n", [3, 10, 31, 100])
@pytest.mark.parametrize("ratios", [(0.4, 0.3, 0.3), (0.2, 0.5, 0.3), (0.5, 0.5, 0.0)])
def test_splits_are_disjoint_complete_and_fixed_by_the_seed(
    examples: list[Example], n: int, ratios: tuple[float, float, float]
) -> None:
    pool = (examples * 4)[:n]
    pool = [Example(e.test.__class__(i, e.test.vars, e.test.checks), e.reference, e.source)
            for i, e in enumerate(pool)]
    a = make_splits(pool, ratios, seed=3)
    b = make_splits(pool, ratios, seed=3)
    idx = [[e.index for e in part] for part in (a.train, a.val, a.test)]
    assert idx == [[e.index for e in part] for part in (b.train, b.val, b.test)]
    flat = [i for part in idx for i in part]
    assert sorted(flat) == list(range(n))
    for share, part in zip(ratios, idx, strict=True):
        if share > 0:
            assert part, "every non-zero share gets an example"
        else:
            assert not part
    if n == 100:
        assert [len(p) for p in idx] == [round(100 * r) for r in ratios]
    c = make_splits(pool, ratios, seed=4)
    if n >= 10:
        assert [e.index for e in c.val] != idx[1]
    search = a.for_search()
    assert search.indexes.isdisjoint(e.index for e in a.test)
    assert not hasattr(search, "test")


def test_parse_split() -> None:
    assert parse_split("0.4/0.3/0.3") == pytest.approx((0.4, 0.3, 0.3))
    assert parse_split("40/30/30") == pytest.approx((0.4, 0.3, 0.3))
    for bad in ("0.5/0.5", "a/b/c", "0.5/0/0.5", "-1/1/1"):
        with pytest.raises(ConfigError):
            parse_split(bad)


def test_too_few_tests(examples: list[Example]) -> None:
    with pytest.raises(ConfigError, match="at least 3"):
        make_splits(examples[:2])


def test_reference_from_an_equals_check(examples: list[Example]) -> None:
    assert examples[0].reference == "positive"
    assert examples[1].reference == "negative"
    assert examples[0].source == "check equals"
    assert reference_summary(examples) == "check equals (30)"
    assert label_set(examples) == ["negative", "positive"]


def test_reference_from_a_variable_a_check_uses(tmp_path: Path) -> None:
    found = _examples(tmp_path, check={"type": "regex", "value": "(?i)^\\s*{{ label }}\\b"})
    assert found[0].reference == "positive"
    assert found[0].source == "variable label (used by check regex)"


def test_reference_from_a_named_variable_and_bootstrap(tmp_path: Path) -> None:
    write_sentiment_suite(tmp_path, check={"type": "python", "value": "len(output) < 20"})
    suite = load_suite(tmp_path)
    variables = SeedPrompt.of(suite.prompts[0].template).variables
    assert load_examples(suite.tests, variables)[0].reference is None
    assert reference_summary(load_examples(suite.tests, variables)) == "bootstrap (30)"
    named = load_examples(suite.tests, variables, answer_var="label")
    assert named[2].reference == "positive" and named[2].source == "variable label"
    with pytest.raises(ConfigError, match="input of the prompt"):
        load_examples(suite.tests, variables, answer_var="review")
    with pytest.raises(ConfigError, match="no such variable"):
        load_examples(suite.tests, variables, answer_var="nope")
    assert len(load_examples(suite.tests, variables, max_tests=7)) == 7


def _with_split(examples: list[Example], names: list[str]) -> list[Example]:
    return [Example(e.test.__class__(i, {**e.test.vars, "part": name}, e.test.checks),
                    e.reference, e.source)
            for i, (e, name) in enumerate(zip(examples, names, strict=False))]


def test_split_variable_gives_the_users_own_splits(examples: list[Example]) -> None:
    names = ["train", "val", "test", "Validation", "train", "test"]
    splits = splits_by_variable(_with_split(examples, names), "part")
    assert [e.index for e in splits.train] == [0, 4]
    assert [e.index for e in splits.val] == [1, 3]
    assert [e.index for e in splits.test] == [2, 5]
    assert splits.ratios == pytest.approx((2 / 6, 2 / 6, 2 / 6))


def test_split_variable_errors_name_the_test(examples: list[Example]) -> None:
    with pytest.raises(ConfigError, match="every test needs train, val or test"):
        splits_by_variable(_with_split(examples, ["train", "val", "dev"]), "part")
    with pytest.raises(ConfigError, match="no test is marked val"):
        splits_by_variable(_with_split(examples, ["train", "test", "test"]), "part")
