"""``promptwork prompts``: the prompt library (sync, labels, check, list, show, versions, diff,
search, card, export).

A library is a folder of prompt files plus the store (``DIR/.promptwork/`` unless ``--db``);
labels live in ``DIR/prompts.lock.yaml``. ``prompts import`` (other tools' formats) is
registered on this group by :mod:`promptwork.cli.promptformats`.
"""

from __future__ import annotations

import importlib
import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import click
from rich.table import Table
from rich.text import Text

from promptwork.cli.output import console, safe_text
from promptwork.errors import ConfigError
from promptwork.library.cards import export_csv, export_markdown, prompt_card, render_card
from promptwork.library.files import DEFAULT_PATTERNS, LOCK_NAME
from promptwork.library.history import prompt_details, prompt_history
from promptwork.library.lock import check_labels, move_label, remove_label
from promptwork.library.measures import measures
from promptwork.library.search import search
from promptwork.library.sync import sync_folder
from promptwork.store import Store
from promptwork.store.library import library_entries, library_entry, resolve_version
from promptwork.store.library import version_hashes as all_hashes
from promptwork.views.prompts import diff_versions

_db = click.option("--db", metavar="URL", help="Store URL (default: SQLite in DIR/.promptwork/).")
_dir = click.option("-C", "--dir", "folder", default=".", metavar="DIR",
                    help="The library folder (default: here).")


@contextmanager
def _store(folder: str, db: str | None) -> Iterator[Store]:
    store = Store.for_folder(Path(folder), db)
    try:
        yield store
    finally:
        store.close()


def _plain(text: str) -> Text:
    return Text(safe_text(text))


@click.group("prompts")
def prompts_group() -> None:
    """The prompt library: versions, labels, search, cards and export."""


@prompts_group.command("sync")
@click.argument("folder", default=".", metavar="[DIR]")
@_db
@click.option("--pattern", "patterns", multiple=True, metavar="GLOB",
              help="Prompt files to read (repeatable; default: *.prompt anywhere, and .txt, "
                   ".md, .json files in folders named prompts).")
def sync_command(folder: str, db: str | None, patterns: tuple[str, ...]) -> None:
    """Record each prompt file's current content as a version, and mirror the labels."""
    path = Path(folder)
    if not path.is_dir():
        raise ConfigError(f"{folder} is not a folder")
    with _store(folder, db) as store:
        result = sync_folder(store, path, patterns or DEFAULT_PATTERNS)
    out = console()
    for r in result.recorded:
        if r.status != "unchanged":
            out.print(_plain(f"{r.status:9} {r.name} {r.hash[:12]}"))
    out.print(_plain(f"{len(result.recorded)} prompt files: {result.count('new')} new versions, "
                     f"{result.count('moved')} moved, {result.count('unchanged')} unchanged; "
                     f"{result.labels} labels mirrored from {LOCK_NAME}"))


def _split_ref(ref: str) -> tuple[str, str | None]:
    name, at, version = ref.rpartition("@")
    return (name, version) if at and name else (ref, None)


@prompts_group.command("label")
@click.argument("ref", metavar="NAME@VERSION")
@click.argument("label")
@_dir
@_db
@click.option("--who", metavar="NAME", help="Who moves it (default: $PROMPTWORK_USER or login).")
@click.option("--remove", is_flag=True, help="Remove the label instead.")
def label_command(ref: str, label: str, folder: str, db: str | None, who: str | None,
                  remove: bool) -> None:
    """Point LABEL of prompt NAME at VERSION (a hash or its unique prefix; default: newest).

    The label is written to DIR/prompts.lock.yaml (review it like code) and mirrored in the
    store.
    """
    name, version = _split_ref(ref)
    with _store(folder, db) as store:
        if remove:
            row = remove_label(store, Path(folder), name, label, who)
            console().print(_plain(f"removed {name}@{label} (was {row.hash[:12]})"))
            return
        moved = move_label(store, Path(folder), name, version or library_entry(
            store, name).latest_hash, label, who)
    was = f" (was {moved.previous[:12]})" if moved.previous and moved.previous != moved.row.hash \
        else ""
    console().print(_plain(f"{name}@{label} -> {moved.row.hash[:12]}{was}; "
                           f"wrote {Path(folder) / LOCK_NAME}"))


@prompts_group.command("check")
@click.argument("folder", default=".", metavar="[DIR]")
def check_command(folder: str) -> None:
    """Exit 1 when a labelled version no longer matches its file (for CI)."""
    problems = check_labels(Path(folder))
    err = console(stderr=True)
    for line in problems:
        err.print(_plain(f"label mismatch: {line}"))
    if problems:
        raise click.exceptions.Exit(1)
    console().print(_plain(f"every label of {Path(folder) / LOCK_NAME} matches its file"))


@prompts_group.command("list")
@_dir
@_db
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def list_command(folder: str, db: str | None, as_json: bool) -> None:
    """The library's prompts: description, tags, versions and labels."""
    with _store(folder, db) as store:
        entries = library_entries(store)
        hashes = all_hashes(store)
    if as_json:
        click.echo(json.dumps([{
            "name": e.name, "description": e.description, "tags": list(e.tags),
            "path": e.path, "version": e.latest_hash, "versions": len(hashes.get(e.name, [])),
            "labels": e.labels, "updated_at": e.updated_at.isoformat()} for e in entries],
            indent=2))
        return
    table = Table("name", "description", "tags", "versions", "labels", "updated")
    for e in entries:
        table.add_row(_plain(e.name), _plain(e.description or ""), _plain(", ".join(e.tags)),
                      str(len(hashes.get(e.name, []))),
                      _plain(", ".join(f"{k}={v[:8]}" for k, v in e.labels.items())),
                      e.updated_at.strftime("%Y-%m-%d %H:%M"))
    console().print(table)
    if not entries:
        console(stderr=True).print("no prompts yet: run `promptwork prompts sync`", markup=False)


@prompts_group.command("show")
@click.argument("name")
@_dir
@_db
def show_command(name: str, folder: str, db: str | None) -> None:
    """A prompt: description, tags, variables, labels, and per suite x model its last and best
    measured pass rate with its 95% interval and the run it came from."""
    with _store(folder, db) as store:
        details = prompt_details(store, name)
        found = measures(store, all_hashes(store, [name]).get(name, []))
        history = prompt_history(store, name)
    e, out = details.entry, console()
    out.print(Text(safe_text(e.name), style="bold"))
    for label, value in (("description", e.description or ""), ("tags", ", ".join(e.tags)),
                         ("file", e.path or ""), ("version", f"{e.latest_hash[:12]} "
                                                 f"({len(history)} recorded changes)"),
                         ("model", details.model or ""),
                         ("labels", ", ".join(f"{k} -> {v[:12]}" for k, v in e.labels.items()))):
        if value:
            out.print(_plain(f"{label + ':':13}{value}"))
    if details.variables:
        table = Table("variable", "type", "default", "required", "description")
        for v in details.variables:
            table.add_row(_plain(v.name), v.type, _plain("" if v.default is None else
                                                         str(v.default)),
                          "yes" if v.required else "no", _plain(v.description))
        out.print(table)
    if not found:
        out.print("not evaluated yet", markup=False)
        return
    table = Table("suite", "model", "last", "95% interval", "run", "best", "95% interval", "run")
    for m in found:
        table.add_row(_plain(m.suite), _plain(m.model),
                      f"{m.last.rate:.1%} ({m.last.passed}/{m.last.graded})",
                      f"{m.last.low:.1%}-{m.last.high:.1%}", m.last.run_id,
                      f"{m.best.rate:.1%} ({m.best.passed}/{m.best.graded})",
                      f"{m.best.low:.1%}-{m.best.high:.1%}", m.best.run_id)
    out.print(table)


@prompts_group.command("versions")
@click.argument("name")
@_dir
@_db
def versions_command(name: str, folder: str, db: str | None) -> None:
    """A prompt's recorded versions, newest first: when, file, what changed, labels."""
    with _store(folder, db) as store:
        history = prompt_history(store, name)
    table = Table("#", "version", "recorded", "file", "source", "change", "labels")
    for h in history:
        table.add_row(str(h.number), h.short, h.recorded_at.strftime("%Y-%m-%d %H:%M:%S"),
                      _plain(h.path or ""), h.source, _plain(h.change), _plain(", ".join(h.labels)))
    console().print(table)


@prompts_group.command("diff")
@click.argument("name")
@click.argument("a")
@click.argument("b")
@_dir
@_db
def diff_command(name: str, a: str, b: str, folder: str, db: str | None) -> None:
    """The line diff of prompt NAME from version A to version B (hashes or prefixes)."""
    with _store(folder, db) as store:
        diff = diff_versions(store, resolve_version(store, name, a), resolve_version(
            store, name, b), "line")
    out = console()
    out.print(_plain(f"--- {name} {diff.a.hash[:12]}\n+++ {name} {diff.b.hash[:12]}"))
    for segment in diff.diff.segments:
        prefix, style = {"insert": ("+", "green"), "delete": ("-", "red")}.get(
            segment.op, (" ", ""))
        for line in segment.text.splitlines() or [""]:
            out.print(Text(safe_text(prefix + line), style=style))


@prompts_group.command("search")
@click.argument("query", required=False, default="")
@_dir
@_db
@click.option("--semantic", is_flag=True, help="Rank by embedding similarity ([embeddings]).")
@click.option("--suite", metavar="S", help="Only prompts measured on suite S.")
@click.option("--model", metavar="M", help="Only prompts measured with model M.")
@click.option("--min-score", type=click.FloatRange(0, 1), metavar="X",
              help="Only prompts whose best pass rate (on --suite/--model) reaches X.")
@click.option("--label", metavar="L", help="Only prompts with label L.")
@click.option("--tag", metavar="T", help="Only prompts with tag T.")
@click.option("--model-tested", metavar="M", help="Only prompts evaluated with model M.")
@click.option("-n", "--limit", default=20, show_default=True, help="Rows shown.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def search_command(query: str, folder: str, db: str | None, semantic: bool, suite: str | None,
                   model: str | None, min_score: float | None, label: str | None,
                   tag: str | None, model_tested: str | None, limit: int,
                   as_json: bool) -> None:
    """Search the library by content and by measured performance."""
    with _store(folder, db) as store:
        rows = search(query, store=store, semantic=semantic, suite=suite, model=model,
                      min_score=min_score, model_tested=model_tested, label=label, tag=tag,
                      limit=limit)
    if rows.note:
        console(stderr=True).print(rows.note, markup=False)
    if as_json:
        click.echo(json.dumps({"ranking": rows.ranking, "note": rows.note or None,
                               "rows": [r.to_dict() for r in rows]}, indent=2))
        return
    # Ranked best first; the raw relevance is comparable within one search only (--json has it).
    table = Table("#", "name", "match", "labels", "measured")
    for rank, r in enumerate(rows, 1):
        snippet = Text()
        for part, hit in r.snippet:
            snippet.append(safe_text(part), style="bold yellow" if hit else "")
        table.add_row(str(rank), _plain(r.name), snippet,
                      _plain(", ".join(r.labels)),
                      _plain(f"{r.measured:.1%} {r.measured_on}" if r.measured is not None
                             else ""))
    console().print(table)
    if not rows:
        console(stderr=True).print("no prompt matches", markup=False)


@prompts_group.command("card")
@click.argument("name")
@_dir
@_db
@click.option("-o", "--output", metavar="FILE", help="Write the card here (default: print).")
def card_command(name: str, folder: str, db: str | None, output: str | None) -> None:
    """A prompt card: Markdown with YAML front matter (Obsidian, Notion, a README)."""
    with _store(folder, db) as store:
        text = render_card(prompt_card(store, name))
    if output is None:
        sys.stdout.write(text)
        return
    Path(output).write_text(text, encoding="utf-8")
    console(stderr=True).print(_plain(f"wrote {output}"))


@prompts_group.command("export")
@click.option("--format", "fmt", default="md", show_default=True, metavar="FORMAT",
              help="md (a folder of cards with [[wiki-links]] and an index: an Obsidian "
                   "vault), csv (a catalogue), or another tool's format.")
@click.option("--out", "out", required=True, metavar="PATH", help="Folder (md) or file (csv).")
@_dir
@_db
def export_command(fmt: str, out: str, folder: str, db: str | None) -> None:
    """Export the whole library."""
    fmt = fmt.lower()
    with _store(folder, db) as store:
        if fmt == "md":
            written = export_markdown(store, Path(out))
            message = f"wrote {len(written) - 1} prompt cards and index.md to {out}"
        elif fmt == "csv":
            Path(out).write_text(export_csv(store), encoding="utf-8")
            message = f"wrote the catalogue {out}"
        else:
            message = _export_other(store, fmt, Path(out))
    console(stderr=True).print(_plain(message))


def _export_other(store: Store, fmt: str, out: Path) -> str:
    """Other tools' formats belong to :mod:`promptwork.library.formats` (when installed)."""
    try:
        formats = importlib.import_module("promptwork.library.formats")
    except ImportError:
        formats = None
    exporter = getattr(formats, "export_library", None)
    if exporter is None:
        raise ConfigError(f"unknown export format {fmt!r}; use md or csv")
    return str(exporter(store, fmt, out))


from promptwork.cli.promptformats import import_command  # noqa: E402  (formats: engineer E)

prompts_group.add_command(import_command)
