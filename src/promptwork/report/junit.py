"""JUnit XML export (``.xml``): one ``testsuite`` per prompt x provider, one ``testcase`` per
test and repeat, ``failure`` with the checks' reason, ``error`` for failed calls.
"""

from __future__ import annotations

import re
import shutil
import tempfile
from collections.abc import Iterable, Mapping, Sequence
from contextlib import ExitStack
from typing import IO, Any
from xml.sax.saxutils import escape as xml_escape
from xml.sax.saxutils import quoteattr

from promptwork.report.promptfoo_json import iso
from promptwork.report.terminal import clean, column_label, compact_vars, status_of
from promptwork.store import RunRecord

__all__ = ["write_junit"]

_XML_INVALID = re.compile("[\ufffe\uffff\ud800-\udfff]")


def _xml_text(value: Any) -> str:
    """Text valid in XML 1.0 (control characters written out) and escaped."""
    return xml_escape(_XML_INVALID.sub("\ufffd", clean(value)))


def _xml_attr(value: Any) -> str:
    return quoteattr(_XML_INVALID.sub("\ufffd", clean(value)))


def write_junit(
    f: IO[str],
    run: RunRecord,
    rows: Iterable[Mapping[str, Any]],
    prompt_labels: Sequence[str],
    provider_labels: Sequence[str],
    descriptions: Mapping[int, str] | None,
) -> None:
    """Write JUnit XML: one ``testsuite`` per prompt x provider (see the module docs)."""
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
            elif row.get("description"):  # the test's own (stored with the cell)
                about = clean(row["description"])[:120]
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
                    f'time="{c[3]:.3f}" timestamp={_xml_attr(iso(run.created_at) or "")}>\n')
            part = parts[col]
            part.seek(0)
            shutil.copyfileobj(part, f)
            f.write("  </testsuite>\n")
        f.write("</testsuites>\n")
