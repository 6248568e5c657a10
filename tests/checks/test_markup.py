"""``is-xml`` and ``contains-xml``: well-formed XML, required elements, no DTD subsets."""

from __future__ import annotations

from typing import Any

import pytest

from promptwork.checks import CheckContext, CheckResult
from promptwork.checks.registry import arun_check, parse_spec
from promptwork.errors import ConfigError

ANALYSIS = "<analysis><classification>T-shirt</classification><color>Red</color></analysis>"


async def run(output: str, **spec: Any) -> CheckResult:
    return await arun_check(parse_spec(spec), CheckContext(output))


class TestIsXml:
    async def test_well_formed_or_not(self) -> None:
        assert (await run("  <root><child>Content</child></root>\n", type="is-xml")).passed
        r = await run("<root><child>Content</child></root", type="is-xml")
        assert not r.passed and r.reason == "output is not well-formed XML"
        assert not (await run("Here: <root/>", type="is-xml")).passed
        assert (await run("plain text", type="not-is-xml")).passed

    async def test_required_elements(self) -> None:
        spec = {"type": "is-xml",
                "value": {"requiredElements": ["analysis.classification", "analysis.color"]}}
        assert (await run(ANALYSIS, **spec)).passed
        r = await run("<analysis><classification>x</classification></analysis>", **spec)
        assert not r.passed and "lacks element(s) analysis.color" in r.reason
        deep = {"type": "is-xml", "value": {"requiredElements": ["root.parent.child.grandchild"]}}
        assert (await run("<root><parent><child><grandchild/></child></parent></root>",
                          **deep)).passed
        assert not (await run("<root><parent><child/></parent></root>", **deep)).passed

    async def test_internal_dtd_subset_refused(self) -> None:
        bomb = '<!DOCTYPE r [<!ENTITY a "aaaa">]><r>&a;</r>'
        assert not (await run(bomb, type="is-xml")).passed


class TestContainsXml:
    async def test_fragment_in_prose(self) -> None:
        text = "Sure, here is your xml:\n<root><child>Content</child></root>\nAnything else?"
        r = await run(text, type="contains-xml", value={"requiredElements": ["root.child"]})
        assert r.passed and "<root>" in r.reason
        assert (await run("see <br/> here", type="contains-xml")).passed

    async def test_nothing_well_formed(self) -> None:
        r = await run("a < b and c > d, <unclosed>", type="contains-xml")
        assert not r.passed and r.reason == "output holds no well-formed XML"
        assert (await run("no markup", type="not-contains-xml")).passed


@pytest.mark.parametrize(
    "value", ["root.child", {"required": ["a"]}, {"requiredElements": "a.b"}]
)
def test_bad_value_refused_at_load(value: Any) -> None:
    with pytest.raises(ConfigError, match="requiredElements"):
        parse_spec({"type": "is-xml", "value": value})
