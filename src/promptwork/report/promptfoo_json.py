"""promptfoo's result layout: ``.json`` (``--output results.json``) and ``.jsonl`` exports.

``.json`` is promptfoo's ``OutputFile`` holding an ``EvaluateSummaryV3``, so scripts written for
promptfoo read ours; ``.jsonl`` holds one ``EvaluateResult`` per line. Index semantics are
promptfoo's: ``promptIdx`` indexes ``results.prompts``, which is ordered provider-major
(``provider_idx * n_prompts + prompt_idx``), and ``testIdx`` counts test x repeat
(``test_idx * repeat + repeat_idx``). Our own indices are kept in each result's
``metadata.promptwork``. See :mod:`promptwork.report.export`.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import IO, Any

from promptwork.derived import NamedSums, derived_specs
from promptwork.report.notes import default_grader_of, similarity_of
from promptwork.report.summary import ColumnSummary
from promptwork.store import RunRecord
from promptwork.version import __version__

__all__ = ["iso", "label_at", "promptfoo_result", "repeats_of", "write_json", "write_jsonl"]

# promptfoo's ResultFailureReason enum.
FAILURE_NONE, FAILURE_ASSERT, FAILURE_ERROR = 0, 1, 2


def label_at(labels: Sequence[str], index: int) -> str:
    """``labels[index]``, or ``#index`` when there is no such label."""
    return labels[index] if 0 <= index < len(labels) else f"#{index}"


def repeats_of(run: RunRecord) -> int:
    """The run's ``repeat`` setting (at least 1)."""
    try:
        return max(1, int(run.settings.get("repeat") or 1))
    except (TypeError, ValueError):
        return 1


def _token_usage(row: Mapping[str, Any]) -> dict[str, int]:
    prompt = int(row.get("prompt_tokens") or 0)
    completion = int(row.get("completion_tokens") or 0)
    total = prompt + completion
    return {"total": total, "prompt": prompt, "completion": completion,
            "cached": total if row.get("cached") else 0, "numRequests": 1}


def _component(check: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {
        "pass": bool(check.get("pass")),
        "score": float(check.get("score") or 0.0),
        "reason": str(check.get("reason", "")),
    }
    assertion: dict[str, Any] = {}
    if check.get("type"):
        assertion["type"] = check["type"]
    if check.get("metric"):
        assertion["metric"] = check["metric"]
    out["assertion"] = assertion or None
    if check.get("components"):
        out["componentResults"] = [_component(c) for c in check["components"]]
    return out


def _named_scores(grading: Mapping[str, Any] | None) -> dict[str, float]:
    if not grading:
        return {}
    found: dict[str, list[float]] = {}
    if grading.get("metric"):
        found.setdefault(str(grading["metric"]), []).append(float(grading.get("score") or 0.0))
    for comp in grading.get("components", []):
        if comp.get("metric"):
            found.setdefault(str(comp["metric"]), []).append(float(comp.get("score") or 0.0))
    return {k: sum(v) / len(v) for k, v in found.items()}


def _grading_result(grading: Mapping[str, Any] | None) -> dict[str, Any] | None:
    if grading is None:
        return None
    out = _component(grading)
    if grading.get("components") or grading.get("type") == "aggregate":
        out["assertion"] = None  # promptfoo: the test's overall verdict has no assertion
    else:
        out["componentResults"] = []
    out["namedScores"] = _named_scores(grading)
    return out


def promptfoo_result(
    row: Mapping[str, Any],
    run_id: str,
    prompt_labels: Sequence[str],
    provider_labels: Sequence[str],
    repeats: int = 1,
) -> dict[str, Any]:
    """One stored row as a promptfoo ``EvaluateResult``.

    ``promptIdx`` indexes promptfoo's provider-major ``prompts`` list
    (``provider_idx * len(prompt_labels) + prompt_idx``); ``testIdx`` counts test x repeat.
    """
    p, v = int(row["prompt_idx"]), int(row["provider_idx"])
    t, r = int(row["test_idx"]), int(row.get("repeat_idx") or 0)
    error = row.get("error")
    variables = dict(row.get("vars") or {})
    grading = row.get("grading")
    usage = _token_usage(row)
    if error is not None:
        failure = FAILURE_ERROR
    elif row.get("success"):
        failure = FAILURE_NONE
    else:
        failure = FAILURE_ASSERT
    response: dict[str, Any] = {
        "output": row.get("output"),
        "tokenUsage": usage,
        "cached": bool(row.get("cached")),
        "cost": row.get("cost"),
    }
    if row.get("latency_ms") is not None:
        response["latencyMs"] = row["latency_ms"]
    if row.get("finish_reason"):
        response["finishReason"] = row["finish_reason"]
    if error is not None:
        response["error"] = error
    return {
        "id": f"{run_id}:{p}:{v}:{t}:{r}",
        "promptIdx": v * max(1, len(prompt_labels)) + p,
        "testIdx": t * max(1, repeats) + r,
        "testCase": {"vars": variables, **(
            {"description": row["description"]} if row.get("description") else {}), **(
            {"metadata": {"probe": {  # a probe's derived cell (issue 21)
                "kind": row["probe_kind"], "origin": row.get("probe_origin"),
                "transform": row.get("probe_transform"), "group": row.get("probe_group")}}}
            if row.get("probe_kind") else {})},
        "promptId": row.get("prompt_hash"),
        "provider": {"id": row.get("provider_id"), "label": label_at(provider_labels, v)},
        "prompt": {"raw": row.get("prompt_text"), "label": label_at(prompt_labels, p)},
        "vars": variables,
        "response": response,
        "error": error,
        "failureReason": failure,
        "success": bool(row.get("success")) and error is None,
        # An error has no verdict, so no score (null), never a 0 that averages would count.
        "score": None if error is not None or row.get("score") is None else float(row["score"]),
        "latencyMs": row.get("latency_ms") or 0,
        "gradingResult": _grading_result(grading),
        "namedScores": _named_scores(grading),
        "cost": row.get("cost"),
        "tokenUsage": usage,
        "metadata": {"promptwork": {
            "prompt_idx": p, "provider_idx": v, "test_idx": t, "repeat_idx": r,
            "error_kind": row.get("error_kind"), "finish_reason": row.get("finish_reason"),
            # People's ratings, next to the automated verdict (never replacing it).
            **({"ratings": list(row["ratings"])} if row.get("ratings") else {}),
        }},
    }


def _empty_usage() -> dict[str, int]:
    return {"total": 0, "prompt": 0, "completion": 0, "cached": 0, "numRequests": 0}


def _add_usage(into: dict[str, int], usage: Mapping[str, int]) -> None:
    for k in into:
        into[k] += usage.get(k, 0)


def _empty_metrics() -> dict[str, Any]:
    return {"score": 0.0, "testPassCount": 0, "testFailCount": 0, "testErrorCount": 0,
            "assertPassCount": 0, "assertFailCount": 0, "totalLatencyMs": 0.0,
            "tokenUsage": _empty_usage(), "namedScores": {}, "namedScoresCount": {}, "cost": 0.0}


def iso(moment: datetime | None) -> str | None:
    """``moment`` in ISO 8601, or ``None``."""
    return moment.isoformat() if moment else None



def write_json(
    f: IO[str],
    run: RunRecord,
    rows: Iterable[Mapping[str, Any]],
    prompt_labels: Sequence[str],
    provider_labels: Sequence[str],
    columns: Sequence[ColumnSummary],
    prompt_texts: Sequence[str] | None,
    dataset: Sequence[Any] = (),
) -> None:
    """Write promptfoo's ``OutputFile`` layout, result by result (see the module docs).

    ``dataset``: the run's dataset-metric reports (:func:`promptwork.metrics.dataset_metrics`),
    written in the ``promptwork`` block (derived ones are in ``derived_metrics``).
    """
    repeats = repeats_of(run)
    n_prompts = max(1, len(prompt_labels))
    counts = {"successes": 0, "failures": 0, "errors": 0, "total": 0}
    usage = _empty_usage()
    metrics: dict[int, dict[str, Any]] = {}
    provider_ids: dict[int, str] = {}
    f.write('{"evalId": ' + json.dumps(run.id) + ', "results": {"version": 3, "timestamp": '
            + json.dumps(iso(run.created_at)) + ', "results": [')
    first = True
    sums = NamedSums()  # for the suite's derivedMetrics, summed on the way
    for row in sums.watch(rows):
        result = promptfoo_result(row, run.id, prompt_labels, provider_labels, repeats)
        f.write(("\n" if first else ",\n") + json.dumps(result, default=str))
        first = False
        counts["total"] += 1
        if result["failureReason"] == FAILURE_ERROR:
            counts["errors"] += 1
        elif result["success"]:
            counts["successes"] += 1
        else:
            counts["failures"] += 1
        _add_usage(usage, result["tokenUsage"])
        m = metrics.setdefault(result["promptIdx"], _empty_metrics())
        provider_ids.setdefault(result["promptIdx"], str(row.get("provider_id") or ""))
        m["score"] += result["score"] or 0.0
        if result["failureReason"] == FAILURE_ERROR:
            m["testErrorCount"] += 1
        elif result["success"]:
            m["testPassCount"] += 1
        else:
            m["testFailCount"] += 1
        for comp in (result["gradingResult"] or {}).get("componentResults", []):
            m["assertPassCount" if comp["pass"] else "assertFailCount"] += 1
        m["totalLatencyMs"] += float(result["latencyMs"] or 0)
        _add_usage(m["tokenUsage"], result["tokenUsage"])
        for name, value in result["namedScores"].items():
            m["namedScores"][name] = m["namedScores"].get(name, 0.0) + value
            m["namedScoresCount"][name] = m["namedScoresCount"].get(name, 0) + 1
        m["cost"] += float(result["cost"] or 0.0)
    # promptfoo adds each derived metric to its prompt's namedScores; an undefined one (division
    # by zero...) is left out there and listed with its reason in the promptwork block.
    derived = sums.derived(derived_specs(run.settings))
    for report in derived:
        if report.value is not None:
            m = metrics.setdefault(report.provider_idx * n_prompts + report.prompt_idx,
                                   _empty_metrics())
            m["namedScores"][report.name] = report.value
    prompts = []
    settings_prompts = run.settings.get("prompts") or []
    for v in range(len(provider_labels)):
        for p in range(len(prompt_labels)):
            idx = v * n_prompts + p
            raw = (prompt_texts[p] if prompt_texts is not None and p < len(prompt_texts)
                   else prompt_labels[p])
            entry: dict[str, Any] = {"raw": raw, "label": prompt_labels[p],
                                     "provider": provider_labels[v],
                                     "metrics": metrics.get(idx, _empty_metrics())}
            if p < len(settings_prompts) and settings_prompts[p].get("hash"):
                entry["id"] = settings_prompts[p]["hash"]
            prompts.append(entry)
    settings_providers = run.settings.get("providers") or []
    tail = {
        "prompts": prompts,
        "stats": {**counts, "tokenUsage": usage},
    }
    config = {
        "description": run.description,
        "prompts": list(prompt_labels),
        "providers": [{"id": p.get("id"), "label": p.get("label")} for p in settings_providers]
        or [{"id": label, "label": label} for label in provider_labels],
        "evaluateOptions": {"repeat": repeats},
    }
    grader, similarity = default_grader_of(run.settings), similarity_of(run.settings)
    extra = {
        "config": config,
        "shareableUrl": None,
        "metadata": {"exportedAt": datetime.now(UTC).isoformat(),
                     "evaluationCreatedAt": iso(run.created_at),
                     "promptworkVersion": __version__,
                     # Which model graded the checks that name none, and why; how similar
                     # measured (only what the run used).
                     **({"defaultGrader": grader} if grader else {}),
                     **({"similarity": similarity} if similarity else {})},
        "promptwork": {
            "version": __version__,
            "run": {"id": run.id, "status": run.status, "created_at": iso(run.created_at),
                    "finished_at": iso(run.finished_at), "description": run.description,
                    "suite_path": run.suite_path, "fingerprint": run.fingerprint,
                    "total_cells": run.total_cells},
            "summary": [c.to_dict() for c in columns],
            "derived_metrics": [r.to_dict() for r in derived],
            "dataset_metrics": [d for d in (r.to_dict() for r in dataset)
                                if d.get("type") != "derived"],
        },
    }
    f.write("\n], ")
    f.write(json.dumps(tail, default=str)[1:-1])
    f.write("}, ")
    f.write(json.dumps(extra, default=str)[1:-1])
    f.write("}\n")


def write_jsonl(
    f: IO[str],
    run: RunRecord,
    rows: Iterable[Mapping[str, Any]],
    prompt_labels: Sequence[str],
    provider_labels: Sequence[str],
) -> None:
    """Write one promptfoo ``EvaluateResult`` per line."""
    repeats = repeats_of(run)
    for row in rows:
        result = promptfoo_result(row, run.id, prompt_labels, provider_labels, repeats)
        f.write(json.dumps(result, default=str) + "\n")

