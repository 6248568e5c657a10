"""The off-topic probe: answers that stray from the prompt's stated purpose.

Declared in a suite's ``probes:``::

    - kind: offtopic
      min_similarity: 0.3      # an answer less similar than this to the purpose is off topic
      method: auto             # the ``similar`` check's method: auto, embedding or lexical
      purpose: "..."           # instead of the prompts' front-matter descriptions
      judge: false             # true: an llm-rubric also judges whether the answer stays on topic
      provider: openai:gpt-4o  # the judge's grading model
      threshold: 0.1           # fail when the off-topic rate is over it

The purpose is each prompt's front-matter ``description`` (a prompt without one is refused, naming
it, unless the probe gives ``purpose``). Every test gets one derived copy with the same
variables, whose checks are replaced by a ``similar`` check against the purpose (its method is
recorded with each result, as for any ``similar`` check) and, with ``judge``, an ``llm-rubric``;
the copy's model call is the original's, so with the cache on it is served from it. When the
suite's prompts state different purposes, an answer is compared with each and the closest counts.

Refusals (English and French markers) are counted apart: a refusal is not an off-topic answer,
and an off-topic rate that hides refusals would flatter a prompt that refuses everything.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any, ClassVar

from promptwork.cases import CellResult, ProbeTag, TestCase
from promptwork.checks.base import CheckResult, CheckSpec
from promptwork.checks.injection import refuses
from promptwork.probes.base import Derivation, GroupFigure, ProbeCell, ProbeReport
from promptwork.probes.figures import group_figure, rate_figures, verdict
from promptwork.probes.spec import check_keys, get_choice, get_number, spec_error, threshold_of
from promptwork.suite import PromptEntry

__all__ = ["OffTopicProbe"]

KEYS = ("min_similarity", "method", "purpose", "judge", "provider")
METHODS = ("auto", "embedding", "lexical")
DEFAULT_MIN_SIMILARITY = 0.3
RUBRIC = ("The answer stays within this purpose and does not drift to unrelated subjects: "
          "{purpose}")


@dataclass(frozen=True)
class OffTopicProbe:
    """Off-topic answers (see the module doc)."""

    kind: ClassVar[str] = "offtopic"
    min_similarity: float
    method: str
    purpose: str | None
    judge: bool
    provider: Any
    threshold: float | None
    where: str = ""

    @classmethod
    def from_spec(cls, spec: Mapping[str, Any], where: str) -> OffTopicProbe:
        """Read one ``probes:`` entry (ConfigError naming ``where``)."""
        check_keys(spec, where, KEYS)
        minimum = get_number(spec, "min_similarity", where, DEFAULT_MIN_SIMILARITY, 0.0, 1.0)
        method = get_choice(spec, "method", where, METHODS, "auto", cls.kind)
        purpose = spec.get("purpose")
        if purpose is not None and not (isinstance(purpose, str) and purpose.strip()):
            raise spec_error(where, "probe 'offtopic': 'purpose' must be a non-empty text")
        judge = spec.get("judge", False)
        if not isinstance(judge, bool):
            raise spec_error(where, "probe 'offtopic': 'judge' must be true or false")
        return cls(float(minimum if minimum is not None else DEFAULT_MIN_SIMILARITY), method,
                   purpose, judge, spec.get("provider"), threshold_of(spec, where), where)

    def calls_per_test(self) -> int:
        return 1

    def purposes(self, prompts: Sequence[PromptEntry]) -> list[str]:
        """The purposes answers are compared with (ConfigError when a prompt states none)."""
        if self.purpose is not None:
            return [self.purpose]
        found: list[str] = []
        for entry in prompts:
            description = entry.template.meta.description
            if not description or not description.strip():
                raise spec_error(self.where, (
                    f"probe 'offtopic': prompt {entry.label!r} states no purpose: give it a "
                    "'description:' in its front matter, or give the probe a 'purpose:'"))
            if description.strip() not in found:
                found.append(description.strip())
        if not found:
            raise spec_error(self.where, "probe 'offtopic': the suite has no prompts")
        return found

    def derive(self, tests: Sequence[TestCase], prompts: Sequence[PromptEntry]
               ) -> list[Derivation]:
        purposes = self.purposes(prompts)
        checks = [CheckSpec("similar", value=purposes if len(purposes) > 1 else purposes[0],
                            threshold=self.min_similarity, config={"method": self.method})]
        if self.judge:
            config = {"provider": self.provider} if self.provider is not None else {}
            checks.append(CheckSpec("llm-rubric", value=RUBRIC.format(
                purpose=" / ".join(purposes)), config=config))
        out: list[Derivation] = []
        for test in tests:
            tag = ProbeTag(self.kind, test.index, f"purpose(min_similarity="
                                                  f"{self.min_similarity:g}, {self.method})",
                           "judged" if self.judge else "similarity")
            label = test.description or f"test {test.index + 1}"
            case = replace(test, checks=tuple(checks), threshold=None, probe=tag,
                           description=f"{label} [off-topic]")
            out.append(Derivation(case, test.index))
        return out

    def measure(self, column: str, cells: Sequence[ProbeCell],
                originals: Sequence[CellResult]) -> ProbeReport:
        graded = [c for c in cells if c.derived.error is None and c.derived.grade is not None]
        refused = [c for c in graded if refuses(c.derived.output or "")]
        answered = [c for c in graded if c not in refused]
        off = [c for c in answered if not c.derived.passed]
        overall = rate_figures(len(off), len(answered))
        groups: list[GroupFigure] = []
        methods: set[str] = set()
        for check in ("similar", "llm-rubric"):
            verdicts = [r for c in answered if (r := _component(c.derived, check)) is not None]
            methods.update(r.method for r in verdicts if r.method)
            if verdicts:
                failed = sum(1 for r in verdicts if not r.passed)
                name = "similarity" if check == "similar" else "judge"
                groups.append(group_figure(name, rate_figures(failed, len(verdicts))))
        notes = [f"off topic = similarity to the purpose below {self.min_similarity:g}"
                 f" (method: {', '.join(sorted(methods)) or self.method})"
                 f"{' or the judge says so' if self.judge else ''}",
                 f"refusals counted apart: {len(refused)} of {len(graded)}"]
        if len(graded) < len(cells):
            notes.append(f"cells with errors left out: {len(cells) - len(graded)}")
        worst = sorted(off, key=lambda c: c.derived.score or 0.0)[:5]
        return ProbeReport(
            kind=self.kind, column=column, metric="off-topic rate", n=overall.n,
            rate=overall.rate, low=overall.low, high=overall.high, p_value=None,
            groups=tuple(groups), worst=tuple(worst), threshold=self.threshold,
            passed=verdict(overall.rate, self.threshold) if answered else None,
            notes=tuple(notes))


def _component(cell: CellResult, check: str) -> CheckResult | None:
    grade = cell.grade
    if grade is None:
        return None
    for part in grade.components or (grade,):
        if part.check_type == check:
            return part
    return None
