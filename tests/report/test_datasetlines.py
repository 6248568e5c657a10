"""Dataset metrics worded once and shown by every report, hostile labels escaped."""

from __future__ import annotations

import io

from promptwork.derived import DerivedReport
from promptwork.metrics import ClassificationReport, DiversityReport
from promptwork.report.datasetlines import metric_lines
from promptwork.report.html import render_html
from promptwork.report.summary import summarize
from promptwork.report.summarycsv import write_summary_csv

from .synthetic import PROMPTS, PROVIDERS, make_row, make_run

BAD = "<img src=x onerror=alert(1)>"
REPORTS = [
    ClassificationReport(0, 0, 4, 0.75, 0.7, ["yes", BAD], [[2, 0], [1, 1]]),
    DiversityReport(0, 0, 2, 0.4, 4, 0.5),
    DerivedReport(0, 0, "precision", "tp / (tp + fp)", None, "division by zero"),
]


def test_lines_word_each_kind_of_metric() -> None:
    lines = metric_lines(REPORTS)
    assert [(x.metric, x.value) for x in lines] == [
        ("accuracy / macro-F1", "75.0% / 0.700"), ("distinct 2-grams", "0.400"),
        ("precision", "undefined")]
    assert lines[0].detail == f"n=4; yes: yes=2; {BAD}: yes=1, {BAD}=1"
    assert lines[1].detail == "4 outputs (below min 0.5)"
    assert lines[2].detail == "tp / (tp + fp) (division by zero)"


def test_html_shows_the_dataset_metrics_escaped() -> None:
    rows = [make_row(0)]
    page = render_html(make_run(), rows, PROMPTS, PROVIDERS, summarize(rows, PROMPTS, PROVIDERS),
                       dataset=REPORTS)
    section = page[page.index("<h2>Dataset metrics</h2>"):]
    assert "<img" not in page and "&lt;img src=x onerror=alert(1)&gt;" in section
    assert "distinct 2-grams" in section and "confusion matrix" in section


def test_summary_csv_has_a_line_per_number() -> None:
    rows = [make_row(0), make_row(1, success=False)]
    out = io.StringIO()
    write_summary_csv(out, summarize(rows, PROMPTS, PROVIDERS), REPORTS, PROMPTS, PROVIDERS)
    lines = out.getvalue().splitlines()
    assert lines[0] == "prompt,provider,metric,value,detail"
    assert "concise,gpt-mini,pass_rate,0.5," in out.getvalue()
    assert "concise,gpt-mini,metric:accuracy,0.5," in out.getvalue()
    assert "concise,gpt-mini,macro_f1,0.7," in out.getvalue()
    assert "concise,gpt-mini,precision,,tp / (tp + fp) (division by zero)" in out.getvalue()
