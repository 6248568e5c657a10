"""promptfoo's ``commandLineOptions``: the ones with an equivalent are folded into the suite,
the others are refused by name at their line."""

from __future__ import annotations

from pathlib import Path

import pytest

from promptwork.errors import ConfigError
from promptwork.suite import load_suite

BASE = "prompts: ['Say {{ w }}']\nproviders: [echo]\ntests:\n  - vars: {w: hi}\n"


def write(tmp_path: Path, extra: str) -> Path:
    path = tmp_path / "promptfooconfig.yaml"
    path.write_text(BASE + extra, encoding="utf-8")
    return path


def test_mapped_options_reach_the_suites_settings(tmp_path: Path) -> None:
    suite = load_suite(write(tmp_path, (
        "evaluateOptions: {maxConcurrency: 2, timeoutMs: 500}\noutputPath: a.json\n"
        "commandLineOptions:\n  maxConcurrency: 7\n  repeat: 3\n  delay: 5\n  cache: false\n"
        "  output: [b.csv]\n  description: from flags\n  verbose: true\n  table: false\n"
        "  share: false\n  write: true\n")))
    opts = suite.options
    # The flags' defaults win over evaluateOptions (they stand for command-line flags).
    assert (opts.max_concurrency, opts.repeat, opts.delay_ms, opts.cache, opts.timeout_ms) == (
        7, 3, 5, False, 500)
    assert suite.output_paths == ["a.json", "b.csv"]
    assert suite.description == "from flags"


@pytest.mark.parametrize(("extra", "key", "line", "says"), [
    ("commandLineOptions:\n  filterFirstN: 2\n", "filterFirstN", 6, "--max-tests"),
    ("commandLineOptions:\n  watch: true\n", "watch", 6, "not supported"),
    ("commandLineOptions:\n  repeat: 0\n", "repeat", 6, ">= 1"),
    ("commandLineOptions:\n  cache: 1\n  share: true\n", "share", 7, "never uploads"),
    ("commandLineOptions:\n  write: false\n", "write", 6, "stores every run"),
])
def test_the_others_are_refused_by_name_at_their_line(
        tmp_path: Path, extra: str, key: str, line: int, says: str) -> None:
    extra = extra.replace("cache: 1\n", "")
    with pytest.raises(ConfigError) as info:
        load_suite(write(tmp_path, extra))
    assert key in info.value.message and says in info.value.message
    assert info.value.line == line - (1 if "share" in key else 0)
