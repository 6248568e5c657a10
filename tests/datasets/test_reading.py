"""Reading files: UTF-8 and NUL errors with lines, line endings, limits, streaming."""

from __future__ import annotations

import csv
import tracemalloc
from pathlib import Path

import pytest

from promptwork.datasets import TestSource, reading

from .helpers import error, load, write

# --- errors with locations -------------------------------------------------------------------


def test_invalid_utf8_reports_the_line(tmp_path: Path) -> None:
    write(tmp_path / "t.csv", b"q\nfine\ncaf\xe9\n")
    exc = error("file://t.csv", tmp_path)
    assert (exc.path, exc.line) == ("t.csv", 3) and "invalid UTF-8" in exc.message
    write(tmp_path / "t.jsonl", b'{"q": "a"}\n{"q": "\xc3"}\n')
    assert error("t.jsonl", tmp_path).line == 2
    write(tmp_path / "t.yaml", b"- vars: {q: a}\n- vars: {q: \xff}\n")
    exc = error("t.yaml", tmp_path)
    assert (exc.line, "invalid UTF-8" in exc.message) == (2, True)


def test_nul_byte_reports_the_line(tmp_path: Path) -> None:
    write(tmp_path / "t.csv", b"q\na\nb\x00c\n")
    exc = error("t.csv", tmp_path)
    assert (exc.line, "NUL byte" in exc.message) == (3, True)
    write(tmp_path / "t.json", b'[\n{"vars": {}},\n\x00]')
    assert error("t.json", tmp_path).line == 3


def test_utf16_is_named(tmp_path: Path) -> None:
    write(tmp_path / "t.csv", "q\na\n".encode("utf-16"))
    assert "UTF-16" in error("t.csv", tmp_path).message


def test_oversize_field(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(reading, "MAX_FIELD_CHARS", 1000)
    write(tmp_path / "ok.csv", 'q\n"' + "x\n" * 500 + '"\n')  # exactly the limit
    (case,) = load("ok.csv", tmp_path)
    assert len(case.vars["q"]) == 1000
    write(tmp_path / "t.csv", 'q\nshort\n"' + "x\n" * 600 + '"\n')  # short lines, long field
    exc = error("t.csv", tmp_path)
    assert (exc.line, "a field is larger than 1000 bytes" in exc.message) == (3, True)
    write(tmp_path / "t.jsonl", '{"q": "' + "x" * 2000 + '"}\n')
    exc = error("t.jsonl", tmp_path)
    assert (exc.line, "line longer than" in exc.message) == (1, True)


def test_csv_field_limit_is_raised_only_while_reading(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = csv.field_size_limit()
    big = "y" * (before + 10)  # over the csv module's default limit
    write(tmp_path / "t.csv", f"q\n{big}\nsmall\n")
    cases = iter(TestSource("t.csv", tmp_path, None, "suite.yaml"))
    assert next(cases).vars["q"] == big
    assert csv.field_size_limit() == before  # not left raised while the stream is paused
    assert next(cases).vars["q"] == "small"
    assert csv.field_size_limit() == before
    monkeypatch.setattr(reading, "MAX_FIELD_CHARS", 1000)
    write(tmp_path / "bad.csv", 'q\n"' + "z\n" * 501 + '"\n')
    assert "invalid CSV: a field is larger than" in error("bad.csv", tmp_path).message
    assert csv.field_size_limit() == before


# --- line endings ----------------------------------------------------------------------------


def test_carriage_return_line_endings(tmp_path: Path) -> None:
    write(tmp_path / "t.csv", 'q,n\r"multi\rline",1\r\rsecond,2\r')
    write(tmp_path / "t.jsonl", '{"q": "a"}\r\r{"q": "b"}\r\n{"q": "c"}\n{"q": "d"}')
    cases = load(["t.csv", "t.jsonl"], tmp_path)
    assert [c.vars["q"] for c in cases] == ["multi\rline", "second", "a", "b", "c", "d"]
    assert [c.source for c in cases] == [
        "t.csv:2",
        "t.csv:5",
        "t.jsonl:1",
        "t.jsonl:3",
        "t.jsonl:4",
        "t.jsonl:5",
    ]


def test_carriage_return_errors_have_lines(tmp_path: Path) -> None:
    write(tmp_path / "t.csv", b"q\rfine\rcaf\xe9\r")
    exc = error("t.csv", tmp_path)
    assert (exc.line, "column 4" in exc.message) == (3, True)
    write(tmp_path / "t.csv", b"q\ra\rb\x00\r")
    assert error("t.csv", tmp_path).line == 3
    write(tmp_path / "t.jsonl", '{"q": 1}\r{"q": 2\r')
    assert error("t.jsonl", tmp_path).line == 2
    write(tmp_path / "t.json", '[\r{"vars": {}},\r  oops]')
    exc = error("t.json", tmp_path)
    assert (exc.line, "(column 3)" in exc.message) == (3, True)
    write(tmp_path / "t.csv", "a,b\r1,2\r3,4,5\r")
    assert error("t.csv", tmp_path).line == 3


# --- streaming -------------------------------------------------------------------------------


def test_large_jsonl_streams_with_bounded_memory(tmp_path: Path) -> None:
    # 100,000 rows, 11 MB: holding them all as TestCases would take about 60 MB.
    path = tmp_path / "big.jsonl"
    pad = "x" * 100
    path.write_text("".join(f'{{"q": "{pad} {i}"}}\n' for i in range(100_000)))
    source = TestSource("file://big.jsonl", Path("."), {"vars": {"lang": "en"}}, "suite.yaml")
    tracemalloc.start()
    try:
        count, last = 0, None
        for case in source:
            count, last = count + 1, case
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert count == 100_000 and last is not None and last.index == 99_999
    assert last.vars == {"lang": "en", "q": f"{pad} 99999"}
    assert last.source == "big.jsonl:100000"
    assert peak < 30 * 1024 * 1024, f"peak {peak / 1e6:.1f} MB"


def test_tiny_blocks_give_the_same_tests_and_lines(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write(
        tmp_path / "t.csv",
        '\ufeffq,__expected\r\n"multi\r\nline café",contains: é\r\nsecond,regex: ^s\r\n',
    )
    write(tmp_path / "t.jsonl", '{"q": "naïve"}\n\n{"q": "two"}\r\n{"q": "three"}')
    write(tmp_path / "r.csv", "q,p\r" + '"x\ry",z\r\r' * 3 + "last,\r")
    files = ["t.csv", "t.jsonl", "r.csv"]
    normal = load(files, tmp_path)
    for size in (7, 1, 2):
        monkeypatch.setattr(reading, "BLOCK_BYTES", size)
        assert load(files, tmp_path) == normal, size
    assert [c.source for c in normal] == [
        "t.csv:2",
        "t.csv:4",
        "t.jsonl:1",
        "t.jsonl:3",
        "t.jsonl:4",
        "r.csv:2",
        "r.csv:5",
        "r.csv:8",
        "r.csv:11",
    ]
    assert normal[0].vars == {"q": "multi\r\nline café"}
    write(
        tmp_path / "bad.jsonl", b'{"q": "a"}\n{"q": "long enough to span blocks"}\n{"q": "\xff"}\n'
    )
    assert error("bad.jsonl", tmp_path).line == 3
