"""Export a stored run to a file; the format follows the extension.

``.json``
    promptfoo's ``--output results.json`` layout (``OutputFile`` holding an
    ``EvaluateSummaryV3``), so scripts written for promptfoo read ours: ``evalId``,
    ``results.version`` (3), ``results.timestamp``, ``results.prompts`` (one ``CompletedPrompt``
    per prompt x provider, with ``metrics``), ``results.results`` (one ``EvaluateResult`` per
    cell), ``results.stats``, ``config``, ``shareableUrl``; plus a ``promptwork`` block with our
    summary (pass rates with Wilson intervals). Index semantics are promptfoo's: ``promptIdx``
    indexes ``results.prompts``, which is ordered provider-major (``provider_idx * n_prompts +
    prompt_idx``), and ``testIdx`` counts test x repeat (``test_idx * repeat + repeat_idx``).
    Our own indices are kept in each result's ``metadata.promptwork``.
``.jsonl``
    One ``EvaluateResult`` object (as above) per line.
``.csv``
    One row per result: test, repeat, ``var_<name>`` columns, prompt, provider, output, status,
    pass, score, reason, error, latency, cost, tokens. Text cells starting with ``= + - @`` (or a
    tab / carriage return) are prefixed with ``'`` so spreadsheets do not run model output as a
    formula; plain numbers are left alone.
``.md``
    The summary table and the result matrix (outputs escaped for tables and Markdown syntax, so
    no image or link in an output renders).
``.xml``
    JUnit XML: one ``testsuite`` per prompt x provider, one ``testcase`` per test and repeat,
    ``failure`` with the checks' reason, ``error`` for failed calls.
``.html``
    The offline report of :mod:`promptwork.report.html`.

JSONL, CSV and XML are streamed (bounded memory whatever the number of rows); JSON is written
result by result too. Files are written to a temporary name and renamed at the end, so a failed
export never leaves a truncated file behind.
"""

from __future__ import annotations

import csv
import json
import os
import re
import shutil
import tempfile
from collections.abc import Callable, Iterable, Mapping, Sequence
from contextlib import ExitStack
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any
from xml.sax.saxutils import escape as xml_escape
from xml.sax.saxutils import quoteattr

from promptwork import __version__
from promptwork.errors import ConfigError
from promptwork.report.html import render_html
from promptwork.report.summary import ColumnSummary
from promptwork.report.terminal import (
    best_columns,
    build_matrix,
    clean,
    column_label,
    compact_vars,
    format_cost,
    format_latency,
    format_rate,
    format_score,
    row_label,
    status_of,
)
from promptwork.store import RunRecord

__all__ = ["SUPPORTED", "export", "promptfoo_result"]

SUPPORTED = (".csv", ".html", ".json", ".jsonl", ".md", ".xml")

MD_MAX_ROWS = 2000

# promptfoo's ResultFailureReason enum.
FAILURE_NONE, FAILURE_ASSERT, FAILURE_ERROR = 0, 1, 2


def export(
    path: Path,
    run: RunRecord,
    rows: Iterable[Mapping[str, Any]],
    prompt_labels: Sequence[str],
    provider_labels: Sequence[str],
    columns: list[ColumnSummary],
    *,
    descriptions: Mapping[int, str] | None = None,
    prompt_texts: Sequence[str] | None = None,
) -> Path:
    """Write the run to ``path`` in the format its extension names.

    Args:
        path: Output file; its extension picks the format (see :data:`SUPPORTED`).
        run: The stored run.
        rows: Its result rows (streamed; any order, matrix order reads best).
        prompt_labels: Label of each prompt, by ``prompt_idx``.
        provider_labels: Label of each provider, by ``provider_idx``.
        columns: Per-column summaries (:func:`promptwork.report.summary.summarize`).
        descriptions: Optional test descriptions by ``test_idx`` (Markdown, HTML, JUnit).
        prompt_texts: Optional prompt templates by ``prompt_idx``, for promptfoo's
            ``results.prompts[].raw`` (the prompt label is used when not given).

    Returns:
        ``path``.

    Raises:
        ConfigError: An unsupported extension.
    """
    path = Path(path)
    ext = path.suffix.lower()
    writers: dict[str, Callable[[IO[str]], None]] = {
        ".json": lambda f: _write_json(f, run, rows, prompt_labels, provider_labels, columns,
                                       prompt_texts),
        ".jsonl": lambda f: _write_jsonl(f, run, rows, prompt_labels, provider_labels),
        ".csv": lambda f: _write_csv(f, rows, prompt_labels, provider_labels),
        ".md": lambda f: _write_markdown(f, run, rows, prompt_labels, provider_labels, columns,
                                         descriptions),
        ".xml": lambda f: _write_junit(f, run, rows, prompt_labels, provider_labels,
                                       descriptions),
        ".html": lambda f: _write_html(f, run, rows, prompt_labels, provider_labels, columns,
                                       descriptions),
    }
    writer = writers.get(ext)
    if writer is None:
        shown = f"'{ext}'" if ext else "no extension"
        raise ConfigError(f"cannot export to '{path.name}': {shown} is not a supported format; "
                          f"use one of {', '.join(SUPPORTED)}")
    _atomic_write(path, writer, newline="" if ext == ".csv" else None)
    return path


def _atomic_write(path: Path, writer: Callable[[IO[str]], None], newline: str | None) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline=newline) as f:
            writer(f)
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes it 0600; give it a normal file's mode
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _write_html(
    f: IO[str],
    run: RunRecord,
    rows: Iterable[Mapping[str, Any]],
    prompt_labels: Sequence[str],
    provider_labels: Sequence[str],
    columns: Sequence[ColumnSummary],
    descriptions: Mapping[int, str] | None,
) -> None:
    f.write(render_html(run, rows, prompt_labels, provider_labels, columns,
                        descriptions=descriptions))


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


# -- promptfoo JSON / JSONL ---------------------------------------------------------------------


def _label(labels: Sequence[str], index: int) -> str:
    return labels[index] if 0 <= index < len(labels) else f"#{index}"


def _repeats(run: RunRecord) -> int:
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
        "testCase": {"vars": variables},
        "promptId": row.get("prompt_hash"),
        "provider": {"id": row.get("provider_id"), "label": _label(provider_labels, v)},
        "prompt": {"raw": row.get("prompt_text"), "label": _label(prompt_labels, p)},
        "vars": variables,
        "response": response,
        "error": error,
        "failureReason": failure,
        "success": bool(row.get("success")) and error is None,
        "score": float(row.get("score") or 0.0),
        "latencyMs": row.get("latency_ms") or 0,
        "gradingResult": _grading_result(grading),
        "namedScores": _named_scores(grading),
        "cost": row.get("cost"),
        "tokenUsage": usage,
        "metadata": {"promptwork": {
            "prompt_idx": p, "provider_idx": v, "test_idx": t, "repeat_idx": r,
            "error_kind": row.get("error_kind"), "finish_reason": row.get("finish_reason"),
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


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None


def _write_json(
    f: IO[str],
    run: RunRecord,
    rows: Iterable[Mapping[str, Any]],
    prompt_labels: Sequence[str],
    provider_labels: Sequence[str],
    columns: Sequence[ColumnSummary],
    prompt_texts: Sequence[str] | None,
) -> None:
    repeats = _repeats(run)
    n_prompts = max(1, len(prompt_labels))
    counts = {"successes": 0, "failures": 0, "errors": 0, "total": 0}
    usage = _empty_usage()
    metrics: dict[int, dict[str, Any]] = {}
    provider_ids: dict[int, str] = {}
    f.write('{"evalId": ' + json.dumps(run.id) + ', "results": {"version": 3, "timestamp": '
            + json.dumps(_iso(run.created_at)) + ', "results": [')
    first = True
    for row in rows:
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
        m["score"] += result["score"]
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
    extra = {
        "config": config,
        "shareableUrl": None,
        "metadata": {"exportedAt": datetime.now(UTC).isoformat(),
                     "evaluationCreatedAt": _iso(run.created_at),
                     "promptworkVersion": __version__},
        "promptwork": {
            "version": __version__,
            "run": {"id": run.id, "status": run.status, "created_at": _iso(run.created_at),
                    "finished_at": _iso(run.finished_at), "description": run.description,
                    "suite_path": run.suite_path, "fingerprint": run.fingerprint,
                    "total_cells": run.total_cells},
            "summary": [c.to_dict() for c in columns],
        },
    }
    f.write("\n], ")
    f.write(json.dumps(tail, default=str)[1:-1])
    f.write("}, ")
    f.write(json.dumps(extra, default=str)[1:-1])
    f.write("}\n")


def _write_jsonl(
    f: IO[str],
    run: RunRecord,
    rows: Iterable[Mapping[str, Any]],
    prompt_labels: Sequence[str],
    provider_labels: Sequence[str],
) -> None:
    repeats = _repeats(run)
    for row in rows:
        result = promptfoo_result(row, run.id, prompt_labels, provider_labels, repeats)
        f.write(json.dumps(result, default=str) + "\n")


# -- CSV ------------------------------------------------------------------------------------------

_NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?")
CSV_FIELDS = ["prompt", "provider", "provider_id", "output", "status", "pass", "score", "reason",
              "error", "error_kind", "latency_ms", "cost", "prompt_tokens", "completion_tokens",
              "cached"]


def csv_safe(text: str) -> str:
    """Neutralise spreadsheet formulas: prefix ``'`` to text starting with ``= + - @``, tab or
    carriage return, unless it is a plain number."""
    if text and text[0] in "=+-@\t\r" and not _NUMBER.fullmatch(text):
        return "'" + text
    return text


def _var_text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


def _write_csv(
    f: IO[str],
    rows: Iterable[Mapping[str, Any]],
    prompt_labels: Sequence[str],
    provider_labels: Sequence[str],
) -> None:
    # The var columns are the union of every row's vars, only known at the end: spool the rows
    # (as the CSV fields they need) to a temporary file, then write.
    var_names: dict[str, None] = {}
    with tempfile.SpooledTemporaryFile(max_size=16 * 1024 * 1024, mode="w+",
                                       encoding="utf-8") as spool:
        for row in rows:
            variables = {str(k): _var_text(val) for k, val in (row.get("vars") or {}).items()}
            for name in variables:
                var_names.setdefault(name, None)
            status = status_of(row)
            record = {
                "test": int(row["test_idx"]), "repeat": int(row.get("repeat_idx") or 0),
                "vars": variables,
                "prompt": _label(prompt_labels, int(row["prompt_idx"])),
                "provider": _label(provider_labels, int(row["provider_idx"])),
                "provider_id": row.get("provider_id") or "",
                "output": row.get("output") or "",
                "status": status,
                "pass": "true" if status == "PASS" else "false",
                "score": float(row.get("score") or 0.0),
                "reason": (row.get("grading") or {}).get("reason", ""),
                "error": row.get("error") or "",
                "error_kind": row.get("error_kind") or "",
                "latency_ms": row.get("latency_ms"),
                "cost": row.get("cost"),
                "prompt_tokens": row.get("prompt_tokens"),
                "completion_tokens": row.get("completion_tokens"),
                "cached": "true" if row.get("cached") else "false",
            }
            spool.write(json.dumps(record, default=str) + "\n")
        spool.seek(0)
        names = list(var_names)
        writer = csv.writer(f)
        writer.writerow(["test", "repeat", *(f"var_{n}" for n in names), *CSV_FIELDS])
        for line in spool:
            rec = json.loads(line)
            cells: list[Any] = [rec["test"], rec["repeat"]]
            cells.extend(csv_safe(rec["vars"].get(n, "")) for n in names)
            for name in CSV_FIELDS:
                value = rec[name]
                cells.append(csv_safe(value) if isinstance(value, str) else
                             ("" if value is None else value))
            writer.writerow(cells)


# -- Markdown -------------------------------------------------------------------------------------

_MD_SPECIAL = re.compile(r"([\\`*_\[\]!|~])")


def md_escape(text: Any) -> str:
    """Text safe inside a Markdown table cell: no HTML, no link/image/emphasis syntax, no pipes
    or line breaks that would break the row."""
    value = clean(text)
    value = value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    value = _MD_SPECIAL.sub(r"\\\1", value)
    return re.sub(r"\r\n|\r|\n", "<br>", value)


def _write_markdown(
    f: IO[str],
    run: RunRecord,
    rows: Iterable[Mapping[str, Any]],
    prompt_labels: Sequence[str],
    provider_labels: Sequence[str],
    columns: Sequence[ColumnSummary],
    descriptions: Mapping[int, str] | None,
) -> None:
    f.write(f"# promptwork run {md_escape(run.id)}\n\n")
    meta = f"Status: {md_escape(run.status)} · created {md_escape(_iso(run.created_at))}"
    f.write(meta + "\n\n")
    if run.description:
        f.write(md_escape(run.description) + "\n\n")
    f.write("## Summary\n\n")
    f.write("| Prompt | Model | Pass rate [95% CI] | Mean score | Errors | Tokens | Cost "
            "| p50 | p95 | Cached |\n")
    f.write("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|\n")
    best = best_columns(columns)
    for summary in columns:
        rate = md_escape(format_rate(summary))
        if (summary.prompt_idx, summary.provider_idx) in best:
            rate = f"**{rate}**"
        score = format_score(summary.mean_score) if summary.graded else "n/a"
        f.write(f"| {md_escape(summary.prompt_label)} | {md_escape(summary.provider_label)} "
                f"| {rate} | {score} | {summary.errors} "
                f"| {summary.prompt_tokens + summary.completion_tokens} "
                f"| {md_escape(format_cost(summary))} "
                f"| {format_latency(summary.latency(50))} "
                f"| {format_latency(summary.latency(95))} | {summary.cached} |\n")
    matrix = build_matrix(rows, MD_MAX_ROWS, output_limit=300)
    f.write("\n## Results\n\n")
    if matrix.omitted:
        f.write(f"Showing the first {len(matrix.rows)} of {len(matrix.rows) + matrix.omitted} "
                f"tests; {matrix.omitted} omitted.\n\n")
    head = [md_escape(column_label(c, prompt_labels, provider_labels)) for c in matrix.columns]
    f.write("| Test | " + " | ".join(head) + " |\n")
    f.write("|---|" + "---|" * len(matrix.columns) + "\n")
    for key in matrix.rows:
        if descriptions and key[0] in descriptions:
            test = md_escape(descriptions[key[0]])
        else:
            test = md_escape(compact_vars(matrix.vars.get(key[0]), 120))
        cells = [f"{md_escape(row_label(key, matrix.repeats))} {test}"]
        for col in matrix.columns:
            cell = matrix.cells.get((key, col))
            if cell is None:
                cells.append("\u2013")
            elif cell.status == "ERROR":
                cells.append(f"**ERROR** {md_escape(cell.error)}")
            else:
                text = f"**{cell.status}** {cell.score:.2f} {md_escape(cell.output)}"
                if cell.status == "FAIL" and cell.reason:
                    text += f"<br>_{md_escape(cell.reason)}_"
                cells.append(text)
        f.write("| " + " | ".join(cells) + " |\n")


# -- JUnit XML ------------------------------------------------------------------------------------

_XML_INVALID = re.compile("[\ufffe\uffff\ud800-\udfff]")


def _xml_text(value: Any) -> str:
    """Text valid in XML 1.0 (control characters written out) and escaped."""
    return xml_escape(_XML_INVALID.sub("\ufffd", clean(value)))


def _xml_attr(value: Any) -> str:
    return quoteattr(_XML_INVALID.sub("\ufffd", clean(value)))


def _write_junit(
    f: IO[str],
    run: RunRecord,
    rows: Iterable[Mapping[str, Any]],
    prompt_labels: Sequence[str],
    provider_labels: Sequence[str],
    descriptions: Mapping[int, str] | None,
) -> None:
    # JUnit wants each suite's counts on its opening tag, and rows arrive test-major: write each
    # column's test cases to its own temporary file, count, then assemble.
    parts: dict[tuple[int, int], IO[str]] = {}
    counts: dict[tuple[int, int], list[float]] = {}  # tests, failures, errors, seconds
    with ExitStack() as stack:
        for row in rows:
            col = (int(row["prompt_idx"]), int(row["provider_idx"]))
            part = parts.get(col)
            if part is None:
                part = parts[col] = stack.enter_context(
                    tempfile.TemporaryFile(mode="w+", encoding="utf-8"))
                counts[col] = [0, 0, 0, 0.0]
            t, r = int(row["test_idx"]), int(row.get("repeat_idx") or 0)
            if descriptions and t in descriptions:
                about = clean(descriptions[t])[:120]
            else:
                about = compact_vars(row.get("vars"), 120)
            name = f"test {t}" + (f" repeat {r}" if r else "") + f": {about}"
            seconds = float(row.get("latency_ms") or 0.0) / 1000.0
            classname = column_label(col, prompt_labels, provider_labels)
            c = counts[col]
            c[0] += 1
            c[3] += seconds
            part.write(f"    <testcase name={_xml_attr(name)} classname={_xml_attr(classname)} "
                       f'time="{seconds:.3f}">\n')
            status = status_of(row)
            if status == "ERROR":
                c[2] += 1
                error = str(row.get("error") or "")
                part.write(f"      <error message={_xml_attr(error[:500])} "
                           f"type={_xml_attr(row.get('error_kind') or 'error')}>"
                           f"{_xml_text(error)}</error>\n")
            elif status == "FAIL":
                c[1] += 1
                grading = row.get("grading") or {}
                reason = str(grading.get("reason", "")) or "checks failed"
                details = [reason] + [
                    f"{'PASS' if comp.get('pass') else 'FAIL'} {comp.get('type', '')}: "
                    f"{comp.get('reason', '')}"
                    for comp in grading.get("components", [])
                ]
                part.write(f"      <failure message={_xml_attr(reason[:500])} type=\"assertion\">"
                           f"{_xml_text(chr(10).join(details))}</failure>\n")
            if row.get("output"):
                part.write(f"      <system-out>{_xml_text(row['output'])}</system-out>\n")
            part.write("    </testcase>\n")
        total = [sum(c[i] for c in counts.values()) for i in range(4)]
        f.write('<?xml version="1.0" encoding="UTF-8"?>\n')
        f.write(f"<testsuites name={_xml_attr('promptwork run ' + run.id)} "
                f'tests="{int(total[0])}" failures="{int(total[1])}" errors="{int(total[2])}" '
                f'time="{total[3]:.3f}">\n')
        for col in sorted(parts):
            c = counts[col]
            name = column_label(col, prompt_labels, provider_labels)
            f.write(f"  <testsuite name={_xml_attr(name)} tests=\"{int(c[0])}\" "
                    f'failures="{int(c[1])}" errors="{int(c[2])}" skipped="0" '
                    f'time="{c[3]:.3f}" timestamp={_xml_attr(_iso(run.created_at) or "")}>\n')
            part = parts[col]
            part.seek(0)
            shutil.copyfileobj(part, f)
            f.write("  </testsuite>\n")
        f.write("</testsuites>\n")
