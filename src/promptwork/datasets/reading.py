"""Reading data files: size limits, UTF-8 with line numbers in errors, blocks of whole lines.

A line ends at ``\\n``, ``\\r\\n`` or a lone ``\\r`` (files saved by old Mac tools), everywhere:
line numbers in errors, JSONL lines and CSV records.

The limits are read from this module when a file is read, so tests can lower them here.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

from promptwork.errors import ConfigError

#: Largest CSV field, JSONL line or ``file://`` var (characters or bytes): about 64 MB.
MAX_FIELD_CHARS = 64 * 1024 * 1024
#: Largest JSON or YAML test file, which is loaded whole.
MAX_WHOLE_FILE_BYTES = 256 * 1024 * 1024
#: Bytes read at a time from a streamed file.
BLOCK_BYTES = 1 << 20

_BOM = b"\xef\xbb\xbf"
#: One line ending: ``\r\n``, ``\r`` or ``\n``.
NEWLINE = re.compile(r"\r\n?|\n")


def size_text(n: int) -> str:
    """``64 MB`` (or ``1000 bytes`` for small limits), for messages."""
    return f"{n // (1024 * 1024)} MB" if n >= 1024 * 1024 else f"{n} bytes"


def too_long() -> str:
    return f"line longer than {size_text(MAX_FIELD_CHARS)}"


def count_lines(data: bytes, end: int | None = None) -> int:
    """Line endings in ``data[:end]``; a ``\\r\\n`` pair is one."""
    return data.count(b"\n", 0, end) + data.count(b"\r", 0, end) - data.count(b"\r\n", 0, end)


def text_position(text: str, pos: int) -> tuple[int, int]:
    """1-based ``(line, column)`` of character ``pos`` in ``text``."""
    line = 1 + text.count("\n", 0, pos) + text.count("\r", 0, pos) - text.count("\r\n", 0, pos)
    start = max(text.rfind("\n", 0, pos), text.rfind("\r", 0, pos)) + 1
    return line, pos - start + 1


def split_lines(text: str) -> list[str]:
    """``text`` split at line endings (a trailing ending gives a last, empty item)."""
    return NEWLINE.split(text) if "\r" in text else text.split("\n")


def check_start(head: bytes, display: str) -> None:
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise ConfigError("the file is UTF-16; save it as UTF-8", display, 1)


def decode(data: bytes, display: str, first: int) -> str:
    """``data`` (whole lines) as text; ``first`` is its first line's number, for errors."""
    nul = data.find(0)
    if nul >= 0:
        raise ConfigError(
            "NUL byte in the file (is it binary, or not saved as UTF-8?)",
            display,
            first + count_lines(data, nul),
        )
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        start = max(data.rfind(b"\n", 0, exc.start), data.rfind(b"\r", 0, exc.start)) + 1
        bad = data[exc.start : exc.start + 1]
        raise ConfigError(
            f"invalid UTF-8 (byte {bad!r} at column {exc.start - start + 1}); "
            "save the file as UTF-8",
            display,
            first + count_lines(data, exc.start),
        ) from None


def blocks(path: Path, display: str) -> Iterator[tuple[int, str]]:
    """The file as blocks of whole lines (about :data:`BLOCK_BYTES` each): ``(first line, text)``.

    A leading BOM is dropped. A ``\\r\\n`` pair is never split between blocks. A line longer than
    :data:`MAX_FIELD_CHARS` bytes is an error, so memory stays bounded whatever the file holds.
    """
    limit = MAX_FIELD_CHARS
    number = 1
    pending: list[bytes] = []
    size = 0
    with path.open("rb") as f:
        block = f.read(max(BLOCK_BYTES, 4))  # the BOM whole, however small the blocks
        check_start(block, display)
        block = block.removeprefix(_BOM)
        while block:
            while block.endswith(b"\r"):  # its \n may be the next byte: keep the pair together
                extra = f.read(1)
                if not extra:
                    break
                block += extra
            end = max(block.rfind(b"\n"), block.rfind(b"\r"))
            if end < 0:
                pending.append(block)
                size += len(block)
                if size > limit:
                    raise ConfigError(too_long(), display, number)
            else:
                data = b"".join((*pending, block[: end + 1])) if pending else block[: end + 1]
                rest = block[end + 1 :]
                pending, size = ([rest], len(rest)) if rest else ([], 0)
                first, text = number, decode(data, display, number)
                number += count_lines(data)
                del data, rest  # keep only the text alive while it is consumed
                yield first, text
                del text
            block = f.read(BLOCK_BYTES)
    if pending:
        yield number, decode(b"".join(pending), display, number)


def read_whole(path: Path, display: str) -> str:
    """A JSON or YAML test file, whole (those cannot be parsed incrementally)."""
    size = path.stat().st_size
    if size > MAX_WHOLE_FILE_BYTES:
        raise ConfigError(
            f"{size / 1e6:.0f} MB is too large to load whole; use JSONL or CSV, which stream",
            display,
        )
    raw = path.read_bytes()
    check_start(raw, display)
    return decode(raw.removeprefix(_BOM), display, 1)
