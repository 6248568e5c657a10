"""Other tools' prompt formats: import to promptwork prompt files, export from them.

Formats (one module each): ``langfuse`` (Langfuse prompt JSON, text and chat), ``dotprompt``
(Google's ``.prompt`` with Handlebars, translated to Jinja2), ``prompty`` (Microsoft's
``.prompty``), ``llm`` (Simon Willison's ``llm`` YAML templates) and ``promptfoo`` (text and
chat JSON prompt files).

* :func:`import_file` reads a file (its format found by :func:`detect_format`, or given) into
  :class:`Imported` prompts: the text of a promptwork ``.prompt`` file, with what could not be
  carried in ``dropped``; :func:`write_imported` writes them.
* :func:`export_prompt` writes a promptwork prompt (a path or a loaded prompt) in a format:
  :class:`Exported` file names and texts, and ``dropped``; :func:`export_library` does it for
  every prompt of a library's store (``promptwork prompts export --format ...``).

Template logic another format cannot express is refused with a ConfigError naming the construct
and its line; metadata it has no place for is listed in ``dropped``, never lost in silence.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from promptwork.errors import ConfigError
from promptwork.library.formats.common import (
    Dropped,
    Exported,
    Imported,
    Source,
    load_source,
    read_front_matter,
    read_text,
)
from promptwork.library.formats.dotprompt import KEYS as DOTPROMPT_KEYS
from promptwork.library.formats.dotprompt import export_dotprompt, import_dotprompt
from promptwork.library.formats.langfuse import export_langfuse, import_langfuse, looks_like
from promptwork.library.formats.llmtemplates import export_llm, import_llm
from promptwork.library.formats.promptfoo import export_promptfoo, import_promptfoo
from promptwork.library.formats.prompty import export_prompty, import_prompty
from promptwork.prompts import PromptTemplate, parse_prompt

__all__ = [
    "FORMATS", "Dropped", "Exported", "Imported", "detect_format", "export_library",
    "export_prompt", "import_file", "write_exported", "write_imported",
]

_IMPORTERS: dict[str, Callable[[str, str], list[Imported]]] = {
    "langfuse": import_langfuse, "dotprompt": import_dotprompt, "prompty": import_prompty,
    "llm": import_llm, "promptfoo": import_promptfoo,
}
_EXPORTERS: dict[str, Callable[[Source], Exported]] = {
    "dotprompt": export_dotprompt, "prompty": export_prompty, "llm": export_llm,
    "promptfoo": export_promptfoo,
}
#: Format names, for ``--format`` / ``--from`` choices.
FORMATS = ("langfuse", "dotprompt", "prompty", "llm", "promptfoo")
_HANDLEBARS = ("{{role", "{{#", "{{/", "{{~", "~}}", "\\{{", "{{!", "{{json ", "{{else}}")
_PROMPTWORK_ONLY = ("params", "inputs", "mode", "output_schema", "tags")


def detect_format(path: str | Path, raw: str) -> str:
    """The format of a file from its name and content.

    Raises:
        ConfigError: A file of no known format, or already a promptwork prompt file.
    """
    path = str(path)
    suffix = Path(path).suffix.lower()
    if suffix == ".prompty":
        return "prompty"
    if suffix in (".yaml", ".yml"):
        return "llm"
    if suffix == ".json":
        try:
            data = json.loads(raw)
        except json.JSONDecodeError:
            return "promptfoo"
        return "langfuse" if looks_like(data) else "promptfoo"
    if suffix in (".txt", ".md"):
        return "promptfoo"
    if suffix == ".prompt":
        data, _where, body, _first = read_front_matter(raw, path)
        keys = set(data) if isinstance(data, dict) else set()
        model = data.get("model") if isinstance(data, dict) else None
        if keys & set(DOTPROMPT_KEYS) or any(mark in body for mark in _HANDLEBARS) or (
                isinstance(model, str) and "/" in model.split(":", 1)[0]):
            return "dotprompt"
        if keys & set(_PROMPTWORK_ONLY) or "{%" in body or any(
                line.strip() in ("system:", "user:", "assistant:") for line in body.splitlines()):
            raise ConfigError("already a promptwork prompt file; nothing to import (use --from "
                              "dotprompt if it is a Dotprompt file)", path)
        return "dotprompt"
    raise ConfigError(f"cannot tell the format of {Path(path).name!r}; name it with --from "
                      f"({', '.join(FORMATS)})", path)


def import_file(path: str | Path, fmt: str | None = None) -> list[Imported]:
    """The prompts of another tool's file (one, or several for a Langfuse list).

    Raises:
        ConfigError: An unknown format, or any problem in the file, with its line.
    """
    raw = read_text(Path(path))
    fmt = fmt or detect_format(path, raw)
    if fmt not in _IMPORTERS:
        raise ConfigError(f"unknown format {fmt!r}; use one of {', '.join(FORMATS)}")
    return _IMPORTERS[fmt](raw, str(path))


def write_imported(imported: Imported, into: Path, force: bool = False) -> Path:
    """Write an imported prompt as ``INTO/<name>.prompt``.

    Raises:
        ConfigError: The file exists (and ``force`` is false), or is the file read.
    """
    target = into / imported.filename
    if target.resolve() == Path(imported.source).resolve():
        raise ConfigError(f"{target} is the file being imported; choose another --into folder",
                          imported.source)
    if target.exists() and not force:
        raise ConfigError(f"{target} exists; use --force to replace it")
    into.mkdir(parents=True, exist_ok=True)
    target.write_text(imported.text, encoding="utf-8")
    return target


def export_prompt(prompt: str | Path | PromptTemplate, fmt: str,
                  labels: Sequence[str] | None = None) -> Exported:
    """A promptwork prompt file in another tool's format.

    Args:
        prompt: A prompt file's path, or a loaded prompt of a file.
        fmt: One of :data:`FORMATS`.
        labels: Labels of this version (Langfuse keeps them in the file).

    Raises:
        ConfigError: An unknown format, a prompt that is not a file, or template logic the
            format cannot say (named, with its line).
    """
    if fmt not in FORMATS:
        raise ConfigError(f"unknown format {fmt!r}; use one of {', '.join(FORMATS)}")
    source = load_source(prompt)
    if fmt == "langfuse":
        return export_langfuse(source, list(labels or []))
    exported = _EXPORTERS[fmt](source)
    if labels:
        exported.dropped.append(Dropped("labels", f"{', '.join(labels)}: {fmt} files hold no "
                                        "labels"))
    return exported


def write_exported(exported: Exported, out: Path, force: bool = False) -> list[Path]:
    """Write an export's files into ``out``.

    Raises:
        ConfigError: A file that exists (and ``force`` is false).
    """
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for name, text in exported.files.items():
        target = out / name
        if target.exists() and not force:
            raise ConfigError(f"{target} exists; use --force to replace it")
        target.write_text(text, encoding="utf-8")
        written.append(target)
    return written


def export_library(store: Any, fmt: str, out: Path, force: bool = True) -> str:
    """Every prompt of a library's store, newest version, written to ``out`` in ``fmt``.

    Labels pointing at the newest version go with it (Langfuse); a label on an older version is
    listed as dropped. Returns a report: the files written and, per prompt, what was dropped.

    Raises:
        ConfigError: An unknown format, or a prompt that cannot be written in it (named).
    """
    from promptwork.store.library import library_entries

    if fmt not in FORMATS:
        raise ConfigError(f"unknown export format {fmt!r}; use md, csv or one of "
                          f"{', '.join(FORMATS)}")
    lines: list[str] = []
    count = 0
    for entry in library_entries(store):
        text = store.prompt_text(entry.latest_hash)
        if text is None:
            lines.append(f"{entry.name}: its newest version's text is not in the store; skipped")
            continue
        label_path = entry.path or f"{entry.name}.prompt"
        loaded = parse_prompt(text, label_path, Path(label_path).suffix or ".prompt")
        current = [lab for lab, h in sorted(entry.labels.items()) if h == entry.latest_hash]
        exported = export_prompt(loaded, fmt, current)
        for lab, h in sorted(entry.labels.items()):
            if h != entry.latest_hash:
                exported.dropped.append(Dropped(f"label {lab}", f"points at the older version "
                                                f"{h[:12]}, not exported"))
        count += len(write_exported(exported, out, force))
        lines += [f"{entry.name}: dropped {d}" for d in exported.dropped]
    return "\n".join([f"wrote {count} {fmt} file(s) to {out}", *lines])

