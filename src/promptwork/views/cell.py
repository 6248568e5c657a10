"""One cell in detail: the prompt as sent, the answer, each check, the call's numbers, and the
same test's answers in the other columns."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from promptwork.errors import ConfigError
from promptwork.report.terminal import EMPTY, clean, format_latency, one_line, status_of
from promptwork.store import RunRecord, Store
from promptwork.store.matrix import cells_of_tests
from promptwork.views.matrix import labels_of

__all__ = ["CellDetail", "CheckLine", "OtherAnswer", "build_cell_view"]


@dataclass(frozen=True)
class CheckLine:
    """One check of the cell (nested checks are flattened, with their depth)."""

    check: str
    metric: str
    passed: bool
    score: str
    reason: str
    grader: str
    depth: int


@dataclass(frozen=True)
class OtherAnswer:
    """The same test in another column (or another repeat)."""

    column: str
    repeat_idx: int
    status: str
    score: str
    preview: str
    path: str
    current: bool


@dataclass(frozen=True)
class CellDetail:
    """Everything the cell page and the report's cell partial show."""

    run: RunRecord
    test_idx: int
    prompt_idx: int
    provider_idx: int
    repeat_idx: int
    column: str
    provider_id: str
    status: str
    score: str
    description: str
    vars: tuple[tuple[str, str], ...]
    prompt_text: str
    output: str
    empty: bool
    error: str
    error_kind: str
    reason: str
    checks: tuple[CheckLine, ...]
    facts: tuple[tuple[str, str], ...]
    params: tuple[tuple[str, str], ...]
    traceback: str
    others: tuple[OtherAnswer, ...]
    #: A probe's derived cell (issue 21): probe, origin test, transformation, group; and the
    #: path of the original cell it is paired with (empty for the suite's own tests).
    probe: tuple[tuple[str, str], ...] = ()
    original_path: str = ""


def _checks(grading: Mapping[str, Any] | None, depth: int = 0) -> list[CheckLine]:
    out: list[CheckLine] = []
    for comp in (grading or {}).get("components", []) or []:
        out.append(CheckLine(
            clean(comp.get("type", "")), clean(comp.get("metric") or ""),
            bool(comp.get("pass")), f"{float(comp.get('score') or 0.0):.2f}",
            clean(comp.get("reason", "")), clean(comp.get("grader") or ""), depth))
        out.extend(_checks(comp, depth + 1))
    return out


def _num(value: Any) -> str:
    return "n/a" if value is None else f"{value:,}"


def build_cell_view(store: Store, run: RunRecord, test: int, prompt: int, provider: int,
                    repeat: int) -> CellDetail:
    """The cell of ``run`` at (test, prompt, provider, repeat).

    Raises:
        ConfigError: No such cell.
    """
    prompts, models = labels_of(run)
    rows = cells_of_tests(store, run.id, [test])
    mine = next((r for r in rows if (r["prompt_idx"], r["provider_idx"], r["repeat_idx"])
                 == (prompt, provider, repeat)), None)
    if mine is None:
        raise ConfigError(f"run {run.id} has no cell test {test}, prompt {prompt}, "
                          f"model {provider}, repeat {repeat}")

    def column(row: Mapping[str, Any]) -> str:
        p, m = int(row["prompt_idx"]), int(row["provider_idx"])
        pl = prompts[p] if p < len(prompts) else f"#{p}"
        ml = models[m] if m < len(models) else f"#{m}"
        return f"{pl} \u00d7 {ml}"

    status = status_of(mine)
    grading = mine.get("grading") or {}
    output = mine.get("output")
    facts = [
        ("latency", format_latency(mine.get("latency_ms"))),
        ("prompt tokens", _num(mine.get("prompt_tokens"))),
        ("completion tokens", _num(mine.get("completion_tokens"))),
        ("cost", "n/a" if mine.get("cost") is None else f"${float(mine['cost']):.6f}"),
        ("cache hit", "yes" if mine.get("cached") else "no"),
        ("finish reason", clean(mine.get("finish_reason") or "n/a")),
        ("provider", clean(mine.get("provider_id") or "")),
    ]
    others = tuple(OtherAnswer(
        clean(column(r)), int(r["repeat_idx"]), status_of(r),
        "" if status_of(r) == "ERROR" else f"{float(r.get('score') or 0.0):.2f}",
        one_line(r.get("error") if status_of(r) == "ERROR" else r.get("output"), 300)
        or EMPTY,
        f"/runs/{run.id}/cells/{test}/{r['prompt_idx']}/{r['provider_idx']}/{r['repeat_idx']}",
        r is mine) for r in rows)
    return CellDetail(
        run=run, test_idx=test, prompt_idx=prompt, provider_idx=provider, repeat_idx=repeat,
        column=clean(column(mine)), provider_id=clean(mine.get("provider_id") or ""),
        status=status,
        score="" if status == "ERROR" else f"{float(mine.get('score') or 0.0):.2f}",
        description=clean(mine.get("description") or ""),
        vars=tuple((clean(k), clean(v if isinstance(v, str) else repr(v)))
                   for k, v in (mine.get("vars") or {}).items()),
        prompt_text=clean(mine.get("prompt_text") or ""),
        output=clean(output or ""), empty=status != "ERROR" and not (output or "").strip(),
        error=clean(mine.get("error") or ""), error_kind=clean(mine.get("error_kind") or ""),
        reason=clean(grading.get("reason", "")) if status != "ERROR" else "",
        checks=tuple(_checks(grading)) if status != "ERROR" else (),
        facts=tuple(facts),
        params=tuple((clean(k), clean(v)) for k, v in (mine.get("params") or {}).items()),
        traceback=clean(grading.get("traceback", "")) if status == "ERROR" else "",
        others=others,
        probe=tuple((k, clean(v)) for k, v in (
            ("probe", mine.get("probe_kind")), ("origin test", f"#{mine.get('probe_origin')}"),
            ("transformation", mine.get("probe_transform")), ("group", mine.get("probe_group")),
        )) if mine.get("probe_kind") else (),
        original_path=(f"/runs/{run.id}/cells/{mine['probe_origin']}/{prompt}/{provider}/"
                       f"{repeat}") if mine.get("probe_kind") else "",
    )
