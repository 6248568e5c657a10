"""A small prompt library for the library tests: prompt files, a suite that evaluates them with
the ``scripted`` model (answers chosen per prompt), and helpers to open its store."""

from __future__ import annotations

from pathlib import Path

from evalkit import write_suite
from promptwork.evaluation import evaluate
from promptwork.providers.scripted import ScriptedProvider
from promptwork.store import Store
from promptwork.store.db import default_url

REPLY = """---
name: reply
description: Answers a customer's refund question politely.
tags: [support, email]
inputs:
  question: {type: string, description: The customer's question}
  tone: {type: string, default: warm}
---
user:
Reply in a {{ tone }} tone to: {{ question }}
"""

CLASSIFY = """---
name: classify
description: Sorts tickets into billing, shipping or other.
tags: [support, triage]
---
Classify this ticket as billing, shipping or other: {{ question }}
"""

HAIKU = "Write a haiku about {{ question }}\n"


def make_library(folder: Path) -> Path:
    """Three prompt files (two named, one identified by its path) and a suite using them."""
    (folder / "prompts").mkdir(parents=True, exist_ok=True)
    (folder / "prompts" / "reply.prompt").write_text(REPLY, encoding="utf-8")
    (folder / "prompts" / "classify.prompt").write_text(CLASSIFY, encoding="utf-8")
    (folder / "prompts" / "haiku.txt").write_text(HAIKU, encoding="utf-8")
    return write_suite(folder, {
        "description": "library suite",
        "prompts": ["file://prompts/reply.prompt", "file://prompts/classify.prompt"],
        "providers": [{"id": "scripted", "label": "bot"}],
        "defaultTest": {"assert": [{"type": "contains", "value": "refund"}]},
        "tests": [{"vars": {"question": q}} for q in ("refund now", "where is it", "refund?",
                                                     "late parcel")],
    })


def run_suite(suite: Path, db: str | None = None) -> str:
    """Evaluate the suite: ``reply`` passes 3 of 4 tests, ``classify`` 1 of 4; returns the run."""
    model = ScriptedProvider({
        "Reply in a warm tone to: refund now": "your refund is on its way",
        "Reply in a warm tone to: where is it": "a refund is coming",
        "Reply in a warm tone to: refund?": "refund sent",
        "Classify this ticket as billing, shipping or other: refund now": "billing refund",
        "*": "no idea",
    })
    return evaluate(suite, db=db, providers={0: model}).id


def open_store(folder: Path, db: str | None = None) -> Store:
    return Store(db or default_url(folder))


def measured_library(folder: Path) -> Store:
    """The library evaluated once and synced; returns its open store (close it)."""
    from promptwork.library.sync import sync_folder

    run_suite(make_library(folder))
    store = open_store(folder)
    sync_folder(store, folder)
    return store
