"""The counterfactual bias probe: swap a declared attribute, keep everything else, compare.

```yaml
probes:
  - kind: bias
    language: en                 # shipped lists: en or fr (gender, origin, age, pronouns)
    attributes:
      - var: customer            # the variable holding the attribute
        list: gender             # a shipped list...
        also_in: [message]       # ...the old value replaced in these variables too
      - var: customer_age
        groups: {young: [23], older: [71]}   # ...or your own groups of values
      - var: message
        list: pronouns           # words swapped inside free text
    threshold: 0.1               # fail when the pass rates of two groups differ by more
```
Each test gets one copy per group of each attribute (a seeded pick from the group replaces the
value); only that attribute changes. Per group: the pass rate with its 95% interval and McNemar's
exact test against the unprobed cells. The rate reported is the largest gap between two groups'
pass rates, with a paired bootstrap interval and McNemar's test between those two groups; score
gaps come with a paired bootstrap interval.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from importlib import resources
from typing import Any, ClassVar

import yaml

from promptwork.cases import CellResult, ProbeTag, TestCase
from promptwork.probes.base import Derivation, ProbeCell, ProbeReport
from promptwork.probes.biasgaps import measure_bias
from promptwork.probes.perturb import rng_for
from promptwork.probes.spec import check_keys, get_choice, seed_of, spec_error, threshold_of
from promptwork.suite import PromptEntry

KEYS = ("language", "attributes")
ATTRIBUTE_KEYS = ("var", "list", "groups", "also_in", "name")
LANGUAGES = ("en", "fr")


def shipped_lists(language: str) -> dict[str, Any]:
    """The shipped attribute lists of a language (``en`` or ``fr``)."""
    text = resources.files("promptwork.probes").joinpath(f"data/bias_{language}.yaml").read_text(
        encoding="utf-8")
    data: dict[str, Any] = yaml.safe_load(text)
    return data


@dataclass(frozen=True)
class Attribute:
    """One declared attribute: the variable, its name, and its groups.

    ``groups`` maps a group to its values (whole-value swaps); ``words`` maps a group to aligned
    words swapped inside the text (pronouns).
    """

    var: str
    name: str
    groups: Mapping[str, tuple[Any, ...]]
    words: bool = False
    also_in: tuple[str, ...] = ()

    def swap(self, test: TestCase, group: str, seed: int) -> dict[str, Any]:
        """The test's variables with this attribute set to ``group`` (nothing else changed)."""
        variables = dict(test.vars)
        old = variables.get(self.var)
        if self.words:
            variables[self.var] = self._swap_words(str(old), group)
            return variables
        choices = [v for v in self.groups[group] if str(v) != str(old)] or list(
            self.groups[group])
        new = rng_for(seed, test.index, self.name, group).choice(choices)
        variables[self.var] = new
        if old is not None and str(old):
            pattern = re.compile(rf"(?<!\w){re.escape(str(old))}(?!\w)")
            for other in self.also_in:
                if isinstance(variables.get(other), str):
                    variables[other] = pattern.sub(str(new).replace("\\", "\\\\"),
                                                   variables[other])
        return variables

    def _swap_words(self, text: str, group: str) -> str:
        target = self.groups[group]
        index: dict[str, int] = {}
        for words in self.groups.values():
            for i, w in enumerate(words):
                index.setdefault(str(w).casefold(), i)
        alternatives = sorted(index, key=len, reverse=True)
        pattern = re.compile(r"(?<!\w)(" + "|".join(re.escape(w) for w in alternatives)
                             + r")(?!\w)", re.IGNORECASE)

        def one(match: re.Match[str]) -> str:
            word = match.group(0)
            new = str(target[index[word.casefold()]])
            if word.isupper() and len(word) > 1:
                return new.upper()
            return new[:1].upper() + new[1:] if word[:1].isupper() else new

        return pattern.sub(one, text)


def _attribute(item: Any, i: int, lists: Mapping[str, Any], where: str) -> Attribute:
    """One entry of ``attributes`` (errors name it: ``attributes[i]``)."""

    def error(message: str) -> Exception:
        return spec_error(where, f"probe 'bias', attributes[{i}]: {message}")

    if not isinstance(item, Mapping) or not isinstance(item.get("var"), str):
        raise error("each attribute needs a 'var' (the variable holding it) and a 'list' or "
                    "'groups'")
    for key in item:
        if key not in ATTRIBUTE_KEYS:
            raise error(f"unknown key {key!r}; allowed: {', '.join(ATTRIBUTE_KEYS)}")
    also = item.get("also_in") or []
    also = [also] if isinstance(also, str) else also
    if not isinstance(also, list) or not all(isinstance(a, str) for a in also):
        raise error("'also_in' must be a variable name or a list of them")
    if ("list" in item) == ("groups" in item):
        raise error(f"give either 'list' (a shipped list: {', '.join(lists)}) or 'groups' "
                    "(your own), not both")
    if "list" in item:
        entry = lists.get(str(item["list"]))
        if entry is None:
            raise error(f"no shipped list {item['list']!r}; shipped: {', '.join(lists)}")
        words = "words" in entry
        raw = entry["words" if words else "groups"]
        name = str(item.get("name") or item["list"])
    else:
        raw, words, name = item["groups"], False, str(item.get("name") or item["var"])
    if not isinstance(raw, Mapping) or len(raw) < 2 or not all(
            isinstance(v, list) and v and all(isinstance(x, str | int | float) for x in v)
            for v in raw.values()):
        raise error("'groups' must map at least two group names to non-empty lists of values")
    groups = {str(k): tuple(v) for k, v in raw.items()}
    return Attribute(item["var"], name, groups, words, tuple(also))


@dataclass
class BiasProbe:
    """Swaps declared attributes; measures pass-rate gaps between groups."""

    kind: ClassVar[str] = "bias"
    attributes: tuple[Attribute, ...] = ()
    seed: int = 0
    threshold: float | None = None

    @classmethod
    def from_spec(cls, spec: Mapping[str, Any], where: str) -> BiasProbe:
        check_keys(spec, where, KEYS)
        language = get_choice(spec, "language", where, LANGUAGES, "en", cls.kind,
                              " (the shipped lists)")
        items = spec.get("attributes")
        if not isinstance(items, list) or not items:
            raise spec_error(where, "probe 'bias': 'attributes' must list at least one attribute "
                                    "(var + list or groups)")
        lists = shipped_lists(str(language))
        attributes = tuple(_attribute(item, i, lists, where) for i, item in enumerate(items))
        return cls(attributes, seed_of(spec, where), threshold_of(spec, where))

    def calls_per_test(self) -> int:
        return sum(len(a.groups) for a in self.attributes)

    def derive(self, tests: Sequence[TestCase], prompts: Sequence[PromptEntry]
               ) -> list[Derivation]:
        out = []
        for test in tests:
            for attr in self.attributes:
                if attr.var not in test.vars:
                    continue
                for group in attr.groups:
                    variables = attr.swap(test, group, self.seed)
                    shown = variables[attr.var] if not attr.words else group
                    tag = ProbeTag(self.kind, test.index,
                                   f"{attr.name}: {attr.var}={shown}", f"{attr.name}={group}")
                    case = replace(test, vars=variables, probe=tag, description=(
                        f"{test.description or f'test {test.index + 1}'} [{attr.name}={group}]"))
                    out.append(Derivation(case, test.index))
        return out

    def measure(self, column: str, cells: Sequence[ProbeCell],
                originals: Sequence[CellResult]) -> ProbeReport:
        return measure_bias(column, cells, [a.name for a in self.attributes], self.seed,
                            self.threshold)
