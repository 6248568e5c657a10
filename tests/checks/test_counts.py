"""``word-count``, ``min-length``, ``max-length`` and ``empty``/``not-empty``."""

from __future__ import annotations

from typing import Any

import pytest

from promptwork.checks import CheckContext, CheckResult
from promptwork.checks.registry import arun_check, parse_spec
from promptwork.errors import ConfigError


async def run(output: str, **spec: Any) -> CheckResult:
    return await arun_check(parse_spec(spec), CheckContext(output))


class TestWordCount:
    async def test_exact(self) -> None:
        assert (await run("one two  three\n", type="word-count", value=3)).passed
        r = await run("one two", type="word-count", value=3)
        assert not r.passed and r.reason == "2 words, not 3"

    async def test_range_and_negation(self) -> None:
        assert (await run("a b c", type="word-count", value={"min": 2, "max": 3})).passed
        r = await run("a b c d", type="word-count", value={"max": 3})
        assert not r.passed and "outside [0, 3]" in r.reason
        assert not (await run("a", type="word-count", value={"min": 2})).passed
        assert (await run("a", type="not-word-count", value={"min": 2})).passed


class TestLength:
    async def test_min_and_max(self) -> None:
        assert (await run("abcd", type="min-length", value=4)).passed
        assert not (await run("abc", type="min-length", value=4)).passed
        assert (await run("abc", type="max-length", value=3)).passed
        r = await run("abcd", type="max-length", value=3)
        assert not r.passed and r.reason == "4 characters > 3"

    async def test_threshold_in_place_of_value(self) -> None:
        assert not (await run("ab", type="min-length", threshold=3)).passed

    async def test_not_empty(self) -> None:
        assert (await run("hi", type="not-empty")).passed
        r = await run("  \n", type="not-empty")
        assert not r.passed and r.reason == "output is empty"
        assert (await run("", type="empty")).passed


@pytest.mark.parametrize(
    ("spec", "match"),
    [
        ({"type": "word-count"}, "needs a 'value'"),
        ({"type": "word-count", "value": "ten"}, "number of words"),
        ({"type": "word-count", "value": {"min": 5, "max": 2}}, "above 'max'"),
        ({"type": "word-count", "value": {"least": 2}}, "number of words"),
        ({"type": "min-length"}, "number of characters"),
        ({"type": "max-length", "value": -1}, "number of characters"),
        ({"type": "not-empty", "value": "x"}, "takes no 'value'"),
    ],
)
def test_bad_config_refused_at_load(spec: dict[str, Any], match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        parse_spec(spec)
