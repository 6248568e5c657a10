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
    Our own indices are kept in each result's ``metadata.promptwork``, with the cell's human
    ratings (``ratings``: pass, score, comment, rater, created_at; latest first) when it has any.
``.jsonl``
    One ``EvaluateResult`` object (as above) per line.
``.csv``
    One row per result: test, repeat, the test's description, ``var_<name>`` columns, prompt,
    provider, output, status, pass, score, reason, error, latency, cost, tokens, and a
    ``metric:<name>`` column per named metric of the checks, and, when some cell is rated by
    people, ``rating_pass``, ``rating_score``, ``rating_comment``, ``rater`` (the cell's latest
    rating; :mod:`promptwork.store.ratings`). Text cells starting with
    ``= + - @`` (or a tab / carriage return) are prefixed with ``'`` so spreadsheets do not run
    model output as a formula; plain numbers are left alone. A second file,
    ``<name>.summary.csv``, holds the per-column numbers (pass rate, named metrics, latency...)
    and the dataset metrics, one per line (:mod:`promptwork.report.summarycsv`).
``.md``
    The summary table (with the named metrics), the dataset metrics, the result matrix and the
    long answers below it, for wikis that show HTML literally (:mod:`promptwork.report.markdown`:
    no HTML, entity or ``<br>``; Markdown syntax in outputs backslash-escaped).
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

import os
import tempfile
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import IO, Any

from promptwork.errors import ConfigError
from promptwork.report.html import render_html
from promptwork.report.junit import write_junit
from promptwork.report.markdown import md_escape, write_markdown
from promptwork.report.promptfoo_json import promptfoo_result, write_json, write_jsonl
from promptwork.report.summary import ColumnSummary
from promptwork.report.summarycsv import summary_csv_path, write_summary_csv
from promptwork.report.tabular import csv_safe, write_csv
from promptwork.store import RunRecord

__all__ = ["SUPPORTED", "csv_safe", "export", "md_escape", "promptfoo_result"]

SUPPORTED = (".csv", ".html", ".json", ".jsonl", ".md", ".xml")


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
    dataset: Sequence[Any] = (),
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
        dataset: The run's dataset-metric reports
            (:meth:`promptwork.evaluation.EvalRun.dataset_metrics`), written in every format
            but JSONL and JUnit.

    Returns:
        ``path``.

    Raises:
        ConfigError: An unsupported extension.
    """
    path = Path(path)
    ext = path.suffix.lower()
    writers: dict[str, Callable[[IO[str]], None]] = {
        ".json": lambda f: write_json(f, run, rows, prompt_labels, provider_labels, columns,
                                       prompt_texts, dataset),
        ".jsonl": lambda f: write_jsonl(f, run, rows, prompt_labels, provider_labels),
        ".csv": lambda f: write_csv(f, rows, prompt_labels, provider_labels),
        ".md": lambda f: write_markdown(f, run, rows, prompt_labels, provider_labels, columns,
                                         descriptions, dataset),
        ".xml": lambda f: write_junit(f, run, rows, prompt_labels, provider_labels,
                                       descriptions),
        ".html": lambda f: _write_html(f, run, rows, prompt_labels, provider_labels, columns,
                                       descriptions, dataset),
    }
    writer = writers.get(ext)
    if writer is None:
        shown = f"'{ext}'" if ext else "no extension"
        raise ConfigError(f"cannot export to '{path.name}': {shown} is not a supported format; "
                          f"use one of {', '.join(SUPPORTED)}")
    _atomic_write(path, writer, newline="" if ext == ".csv" else None)
    if ext == ".csv":  # the per-column numbers, next to the per-result rows
        _atomic_write(summary_csv_path(path), lambda f: write_summary_csv(
            f, columns, dataset, prompt_labels, provider_labels), newline="")
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
    dataset: Sequence[Any],
) -> None:
    f.write(render_html(run, rows, prompt_labels, provider_labels, columns,
                        descriptions=descriptions, dataset=dataset))


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask
