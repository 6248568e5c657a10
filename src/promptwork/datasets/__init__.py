"""A suite's ``tests``: inline mappings and CSV / JSONL / JSON / YAML files, streamed as TestCases.

``tests`` is what promptfoo accepts: a list of test mappings, a ``file://`` path or glob
(``file://data/*.jsonl``, the prefix may be left out), or a list mixing both. :class:`TestSource`
turns it into :class:`~promptwork.cases.TestCase` objects numbered 0..N-1, with ``defaultTest``
merged in and list vars expanded (one test per combination, as promptfoo does), re-reading the
files on every iteration so that memory stays bounded however long they are. CSV and JSONL files
are read line by line; JSON and YAML files are loaded whole (they cannot be parsed incrementally
with the standard library: use JSONL for big data sets).

Values are data: CSV cells stay strings, and nothing is rendered as a template here (``{{7*7}}``
stays literal; the template engine inserts vars as data). A var whose value is ``file://path`` is
replaced by that file's text. Every ``file://`` path resolves inside the suite's folder: ``../``
escapes, absolute paths and symlinks that leave it are refused unless ``allow_outside`` is set.

Errors carry the file and line: invalid UTF-8, NUL bytes, malformed JSON lines, ragged CSV rows,
oversize fields, unknown keys (with a "did you mean"), missing files and globs that match nothing.

Modules: :mod:`.source` (the stream), :mod:`.merge` (``defaultTest`` and list-var expansion),
:mod:`.parse` (test mappings), :mod:`.formats` and :mod:`.csvrows` (file formats),
:mod:`.reading` (limits, UTF-8, line endings), :mod:`.expected` (CSV ``__expected`` strings).
"""

from __future__ import annotations

from promptwork.datasets.expected import assertion_from_string
from promptwork.datasets.parse import TEST_KEYS
from promptwork.datasets.reading import MAX_FIELD_CHARS
from promptwork.datasets.source import TestSource

__all__ = ["MAX_FIELD_CHARS", "TEST_KEYS", "TestSource", "assertion_from_string"]
