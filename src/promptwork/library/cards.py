"""Prompt cards: a library prompt documented in Markdown with YAML front matter, and the library
exported as a folder of cards (an Obsidian vault) or a CSV catalogue.

A card holds the prompt's purpose, variables (types, defaults, descriptions), the models it was
tested on (last and best pass rate with 95% intervals, cost per call), two passing and two
failing examples, its versions and labels, its known limits (the checks it fails most) and how
to call it (CLI, Python, HTTP). It is rendered by ``templates/library/card.md`` (the one
template set; Markdown, so the template turns HTML escaping off and this module makes every
value safe for a table cell or a code fence).
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from promptwork.library.history import Details, HistoryRow, prompt_details, prompt_history
from promptwork.library.measures import Measure, measures
from promptwork.store import Store
from promptwork.store.library import library_entries, version_hashes
from promptwork.store.library_results import (
    Example,
    ModelCost,
    examples,
    failed_checks,
    model_costs,
)
from promptwork.templating import render

__all__ = ["Card", "card_file_name", "export_csv", "export_markdown", "prompt_card",
           "render_card"]

_UNSAFE = re.compile(r"[^A-Za-z0-9._ -]+")
_FORMULA = ("=", "+", "-", "@", "\t", "\r")


@dataclass(frozen=True, slots=True)
class Card:
    """Everything a prompt card shows."""

    details: Details
    history: tuple[HistoryRow, ...]
    measures: tuple[Measure, ...]
    costs: tuple[ModelCost, ...]
    passing: tuple[Example, ...]
    failing: tuple[Example, ...]
    limits: tuple[tuple[str, int], ...]
    related: tuple[str, ...] = ()

    @property
    def name(self) -> str:
        return self.details.entry.name

    def cost_of(self, model: str) -> ModelCost | None:
        return next((c for c in self.costs if c.model == model), None)


def prompt_card(store: Store, name: str, related: Sequence[str] = ()) -> Card:
    """The card of ``name`` (``related``: prompts to link to, by name).

    Raises:
        ConfigError: An unknown prompt.
    """
    details = prompt_details(store, name)
    hashes = version_hashes(store, [name]).get(name, [])
    return Card(details, tuple(prompt_history(store, name)), tuple(measures(store, hashes)),
                tuple(model_costs(store, hashes)), tuple(examples(store, hashes, True)),
                tuple(examples(store, hashes, False)), tuple(failed_checks(store, hashes)),
                tuple(related))


def card_file_name(name: str) -> str:
    """The card's file stem (also its wiki-link target): the name with unsafe characters as
    ``-`` (a path identity's slashes included)."""
    return _UNSAFE.sub("-", name).strip(" .-") or "prompt"


def cell(value: Any) -> str:
    """A value safe in one Markdown table cell (one line, pipes escaped)."""
    return " ".join(str("" if value is None else value).split()).replace("|", "\\|")


def fence(text: str) -> str:
    """A code fence longer than any run of backticks in ``text``."""
    longest = max((len(m) for m in re.findall(r"`+", text)), default=0)
    return "`" * max(3, longest + 1)


def _front_matter(card: Card) -> str:
    entry = card.details.entry
    data: dict[str, Any] = {
        "name": entry.name, "description": entry.description or "", "tags": list(entry.tags),
        "version": entry.latest_hash, "path": entry.path,
        "labels": dict(sorted(entry.labels.items())),
        "models": [{"suite": m.suite, "model": m.model, "pass_rate": round(m.last.rate, 4),
                    "interval": [round(m.last.low, 4), round(m.last.high, 4)],
                    "run": m.last.run_id} for m in card.measures],
        "updated": entry.updated_at.isoformat(timespec="seconds"),
    }
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=100)


def render_card(card: Card, serve_url: str = "http://127.0.0.1:8000") -> str:
    """The card as Markdown with YAML front matter."""
    return render("library/card.md", card=card, front_matter=_front_matter(card), cell=cell,
                  fence=fence, link=card_file_name, serve_url=serve_url)


def export_markdown(store: Store, out: Path) -> list[Path]:
    """Write every prompt's card into ``out`` (``NAME.md``, linked by ``[[wiki-links]]`` to the
    prompts sharing a tag) and an ``index.md`` listing them; returns the files written."""
    out.mkdir(parents=True, exist_ok=True)
    entries = library_entries(store)
    by_tag: dict[str, list[str]] = {}
    for e in entries:
        for tag in e.tags:
            by_tag.setdefault(tag, []).append(e.name)
    written = []
    cards = []
    for e in entries:
        related = sorted({n for t in e.tags for n in by_tag[t] if n != e.name})
        card = prompt_card(store, e.name, related)
        cards.append(card)
        path = out / f"{card_file_name(e.name)}.md"
        path.write_text(render_card(card), encoding="utf-8")
        written.append(path)
    index = out / "index.md"
    index.write_text(render("library/index.md", cards=cards, cell=cell, link=card_file_name,
                            tags=sorted(by_tag.items())), encoding="utf-8")
    return [*written, index]


CSV_COLUMNS = ("name", "description", "tags", "path", "version", "labels", "versions",
               "models_tested", "best_pass_rate", "best_on", "updated_at")


def _safe_csv(value: str) -> str:
    """A spreadsheet never reads a cell as a formula."""
    return "'" + value if value.startswith(_FORMULA) else value


def export_csv(store: Store) -> str:
    """The library as a CSV catalogue, one row per prompt (columns :data:`CSV_COLUMNS`)."""
    entries = library_entries(store)
    hashes = version_hashes(store)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for e in entries:
        found = measures(store, hashes.get(e.name, []))
        best = max(found, key=lambda m: m.best.rate, default=None)
        row = [e.name, e.description or "", ";".join(e.tags), e.path or "", e.latest_hash,
               ";".join(f"{k}={v[:12]}" for k, v in sorted(e.labels.items())),
               str(len(hashes.get(e.name, []))), ";".join(sorted({m.model for m in found})),
               f"{best.best.rate:.4f}" if best else "",
               f"{best.suite} x {best.model}" if best else "",
               e.updated_at.isoformat(timespec="seconds")]
        writer.writerow([_safe_csv(v) for v in row])
    return buffer.getvalue()
