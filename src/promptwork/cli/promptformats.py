"""``promptwork prompts import``: other tools' prompt files as promptwork prompt files.

Registered on :data:`promptwork.cli.prompts.prompts_group`. Exports to those formats go through
``promptwork prompts export --format langfuse|dotprompt|prompty|llm|promptfoo``, which calls
:func:`promptwork.library.formats.export_library`; :func:`export_files` exports given files.
"""

from __future__ import annotations

from pathlib import Path

import click
from rich.text import Text

from promptwork.cli.output import console, safe_text
from promptwork.errors import ConfigError
from promptwork.library.formats import (
    FORMATS,
    Exported,
    export_prompt,
    import_file,
    write_exported,
    write_imported,
)


def _plain(text: str) -> Text:
    return Text(safe_text(text))


@click.command("import")
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False))
@click.option("--into", "into", default=".", show_default=True, metavar="DIR",
              help="Folder to write the promptwork prompt files into.")
@click.option("--from", "fmt", type=click.Choice(FORMATS), default=None,
              help="The files' format (default: from the name and content).")
@click.option("--force", is_flag=True, help="Replace prompt files that exist.")
def import_command(files: tuple[str, ...], into: str, fmt: str | None, force: bool) -> None:
    """Import Langfuse JSON, Dotprompt, Prompty, llm templates or promptfoo prompt files.

    Each prompt becomes DIR/<name>.prompt; what could not be carried over is listed. Every file
    is read and translated before any is written.
    """
    out = console()
    imported = [item for path in files for item in import_file(path, fmt)]
    seen: dict[str, str] = {}
    for item in imported:
        if item.filename in seen:
            raise ConfigError(f"{item.source} and {seen[item.filename]} both make "
                              f"{item.filename}; rename one (its name: key)")
        seen[item.filename] = item.source
    for item in imported:
        target = write_imported(item, Path(into), force)
        out.print(_plain(f"imported {item.name} ({item.fmt}, {item.source}) -> {target}"))
        for dropped in item.dropped:
            out.print(_plain(f"  dropped {dropped}"))
        if item.labels:
            labels = ", ".join(item.labels)
            out.print(_plain(f"  labels in {item.fmt}: {labels} (move them with: promptwork "
                             f"prompts label {item.name}@VERSION LABEL)"))
        if item.samples:
            out.print(_plain(f"  sample values: {', '.join(sorted(item.samples))} (not defaults; "
                             "pass them with -v or --vars)"))


def export_files(files: list[str], fmt: str, out: Path, force: bool = False) -> list[Exported]:
    """Export prompt files to ``out`` in ``fmt``, printing what was written and dropped."""
    screen = console()
    done = []
    for path in files:
        exported = export_prompt(path, fmt)
        for target in write_exported(exported, out, force):
            screen.print(_plain(f"exported {path} -> {target}"))
        for dropped in exported.dropped:
            screen.print(_plain(f"  dropped {dropped}"))
        done.append(exported)
    return done
