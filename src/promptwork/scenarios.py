"""promptfoo's ``scenarios:``: data rows crossed with a set of tests.

Each scenario has ``config`` (a list of partial tests, usually just ``vars``) and ``tests``.
Every config entry is combined with every test of its scenario: the variables are merged (the
test's win), ``options`` too, and the assertions of both are kept (the config's first). The
resulting tests run after the suite's own ``tests``, in scenario, config, test order.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from promptwork.yamlfile import LineMap

__all__ = ["expand_scenarios"]


def _mapping(value: Any, where: LineMap, key: tuple[Any, ...], what: str) -> Mapping[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise where.error(key, f"{what} must be a mapping")
    return value


def _combine(data: Mapping[str, Any], test: Mapping[str, Any], where: LineMap,
             key: tuple[Any, ...]) -> dict[str, Any]:
    out: dict[str, Any] = {**data, **test}
    out["vars"] = {**_mapping(data.get("vars"), where, key, "'vars'"),
                   **_mapping(test.get("vars"), where, key, "'vars'")}
    options = {**_mapping(data.get("options"), where, key, "'options'"),
               **_mapping(test.get("options"), where, key, "'options'")}
    if options:
        out["options"] = options
    asserts: list[Any] = []
    for part in (data.get("assert"), test.get("assert")):
        if part is None:
            continue
        if not isinstance(part, list):
            raise where.error(key, "'assert' must be a list of checks")
        asserts.extend(part)
    if asserts:
        out["assert"] = asserts
    return out


def expand_scenarios(spec: Any, where: LineMap) -> list[dict[str, Any]]:
    """The tests that ``scenarios:`` stands for.

    Raises:
        ConfigError: A scenario, config entry or test of the wrong shape, with its line.
    """
    if spec is None:
        return []
    if not isinstance(spec, list):
        raise where.error(("scenarios",), "'scenarios' must be a list of {config, tests}")
    out: list[dict[str, Any]] = []
    for i, scenario in enumerate(spec):
        key: tuple[Any, ...] = ("scenarios", i)
        if not isinstance(scenario, Mapping):
            raise where.error(key, "a scenario must be a mapping with 'config' and 'tests' "
                                   "(scenario files are not read)")
        unknown = sorted(set(scenario) - {"config", "tests", "description"})
        if unknown:
            raise where.error((*key, unknown[0]), f"unknown scenario key {unknown[0]!r}; "
                              "a scenario has 'config', 'tests' and 'description'")
        configs = scenario.get("config") or [{}]
        tests = scenario.get("tests") or [{}]
        if not isinstance(configs, list) or not isinstance(tests, list):
            raise where.error(key, "a scenario's 'config' and 'tests' must be lists")
        for c, data in enumerate(configs):
            if not isinstance(data, Mapping):
                raise where.error((*key, "config", c), "a scenario config entry must be a "
                                                       "mapping such as {vars: {...}}")
            for t, test in enumerate(tests):
                if not isinstance(test, Mapping):
                    raise where.error((*key, "tests", t), "a scenario test must be a mapping")
                out.append(_combine(data, test, where, (*key, "tests", t)))
    return out
