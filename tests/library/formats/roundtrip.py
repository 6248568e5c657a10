"""Round trips shared by the format tests: import -> export -> import, rendered and compared."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from promptwork.library.formats import (
    Imported,
    export_prompt,
    import_file,
    write_exported,
    write_imported,
)

FIXTURES = Path(__file__).parent / "fixtures"


def messages(imported: Imported, values: dict[str, Any]) -> list[dict[str, Any]]:
    """What promptwork sends for ``values`` (the sandboxed render of the imported file)."""
    return imported.load().render(values).to_list()


def round_trip(path: Path, fmt: str, tmp_path: Path) -> tuple[Imported, Imported]:
    """``path`` imported, written as a promptwork file, exported in ``fmt``, imported again."""
    [first] = import_file(path, fmt)
    written = write_imported(first, tmp_path / "library")
    exported = export_prompt(written, fmt, first.labels)
    [out_file] = write_exported(exported, tmp_path / "exported")
    [second] = import_file(out_file, fmt)
    return first, second


def from_promptwork(text: str, fmt: str, tmp_path: Path, name: str = "mine.prompt"
                    ) -> tuple[Path, Imported]:
    """A promptwork prompt file exported in ``fmt`` and imported back."""
    source = tmp_path / name
    source.write_text(text, encoding="utf-8")
    exported = export_prompt(source, fmt)
    [out_file] = write_exported(exported, tmp_path / "exported")
    [back] = import_file(out_file, fmt)
    return source, back
