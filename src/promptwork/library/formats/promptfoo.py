"""promptfoo's prompt files: a text file (``.txt``, ``.md``: one plain prompt) or a JSON list of
``{role, content}`` chat messages, in Nunjucks, which promptwork reads directly (see
:mod:`promptwork.prompts`).

Import gives the same prompt as a promptwork ``.prompt`` file (so that a name, a model and
variables can be added to it). Export writes the template text or the chat list; a promptfoo
prompt file holds nothing else, so a model, parameters, declared inputs, a description, tags and
an output schema are listed as dropped (in promptfoo they belong to the suite's providers and
tests).
"""

from __future__ import annotations

import json
from pathlib import Path

from promptwork.errors import ConfigError
from promptwork.library.formats.common import (
    Draft,
    Dropped,
    Exported,
    Imported,
    Source,
    slug,
)
from promptwork.prompts import parse_prompt

SUFFIXES = (".txt", ".md", ".json")


def import_promptfoo(raw: str, path: str) -> list[Imported]:
    """A promptfoo prompt file as a promptwork prompt.

    Raises:
        ConfigError: Whatever promptwork finds wrong in the file (it reads it as promptfoo does).
    """
    suffix = Path(path).suffix.lower()
    loaded = parse_prompt(raw, path, suffix)
    if loaded.renderer is not None:
        raise ConfigError("a chat list built by template tags cannot be a .prompt file; use the "
                          "JSON file as it is (promptwork reads it)", path)
    draft = Draft(Path(path).stem, path, "promptfoo")
    if suffix == ".json":
        data = json.loads(raw)
        draft.messages = [(str(m["role"]), str(m["content"])) for m in data]
    else:
        draft.messages = [(None, raw[:-1] if raw.endswith("\n") else raw)]
    return [draft.finish()]


def export_promptfoo(source: Source) -> Exported:
    """A promptwork prompt as a promptfoo prompt file (text, or a JSON chat list)."""
    dropped: list[Dropped] = []
    meta = source.meta
    for key, value in (("model", meta.model), ("params", meta.params), ("mode", meta.mode),
                       ("description", meta.description), ("tags", meta.tags),
                       ("output_schema", meta.output_schema)):
        if value:
            dropped.append(Dropped(key, "a promptfoo prompt file holds the template only (set "
                                   "it in the suite: providers, defaultTest)"))
    for name, spec in meta.inputs.items():
        if spec.default is not None:
            dropped.append(Dropped(f"inputs.{name}.default", "set it in the suite's "
                                   "defaultTest.vars"))
        elif spec.description or spec.type != "string":
            dropped.append(Dropped(f"inputs.{name}", "promptfoo declares no variable types"))
    stem = slug(source.name)
    if source.plain:
        return Exported("promptfoo", {stem + ".txt": source.messages[0][1] + "\n"}, dropped)
    chat = [{"role": role, "content": text} for role, text, _line in source.messages]
    return Exported("promptfoo", {stem + ".json": json.dumps(chat, indent=2, ensure_ascii=False)
                                  + "\n"}, dropped)
