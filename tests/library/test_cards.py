"""Prompt cards and the export: YAML front matter plus Markdown with measured pass rates and
intervals, examples, limits, versions and labels; a vault of linked cards; a CSV catalogue."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy import select

from evalkit import isolate_env
from librarykit import measured_library
from promptwork.library.cards import (
    cell,
    export_csv,
    export_markdown,
    fence,
    prompt_card,
    render_card,
)
from promptwork.library.lock import move_label
from promptwork.library.served import PromptNotFound, resolve
from promptwork.stats import wilson_interval
from promptwork.store import Store, schema
from promptwork.store.library import library_entry


@pytest.fixture(autouse=True)
def _env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    isolate_env(monkeypatch, tmp_path)


@pytest.fixture
def library(tmp_path: Path) -> Iterator[Store]:
    store = measured_library(tmp_path)
    move_label(store, tmp_path, "reply", library_entry(store, "reply").latest_hash,
               "production")
    yield store
    store.close()


def _front_matter(text: str) -> dict[str, Any]:
    assert text.startswith("---\n")
    return yaml.safe_load(text.split("---\n", 2)[1])  # type: ignore[no-any-return]


def test_a_card_documents_purpose_variables_results_and_use(library: Store) -> None:
    text = render_card(prompt_card(library, "reply"))
    meta = _front_matter(text)
    low, high = wilson_interval(3, 4)
    assert meta["name"] == "reply" and meta["tags"] == ["support", "email"]
    assert meta["labels"] == {"production": library_entry(library, "reply").latest_hash}
    assert meta["models"] == [{"suite": meta["models"][0]["suite"], "model": "bot",
                               "pass_rate": 0.75, "interval": [round(low, 4), round(high, 4)],
                               "run": _run_id(library)}]
    body = text.split("---\n", 2)[2]
    assert "# reply\n" in body and "Answers a customer's refund question politely." in body
    assert "| `question` | string |  | yes | The customer's question |" in body
    assert "| `tone` | string | warm | no |  |" in body
    assert f"3/4 = 75.0% ({100 * low:.1f}%-{100 * high:.1f}%)" in body
    passing, failing = body.split("### Passing")[1].split("### Failing")
    assert passing.count("Answer:") == 2 and failing.split("## Known limits")[0].count(
        "Answer:") == 1  # only one test failed
    assert "failed `contains`" in failing and "no idea" in failing
    assert "- `contains`: 1 failed answer\n" in body
    assert "| 1 | `" in body and "| first version | production |" in body
    assert 'promptwork run prompts/reply.prompt -v question=... -v tone=...' in body
    assert "/v1/prompts/reply?label=production" in body
    assert "&#" not in body and "&lt;" not in body  # Markdown, not HTML-escaped


def test_values_cannot_break_the_markdown() -> None:
    assert fence("plain") == "```"
    assert fence("an answer with ```` inside") == "`````"
    assert cell("a | b\n\nc") == "a \\| b c"
    assert cell(None) == ""


def test_export_md_writes_linked_cards_and_an_index(tmp_path: Path, library: Store) -> None:
    out = tmp_path / "vault"
    written = export_markdown(library, out)
    assert sorted(p.name for p in written) == [
        "classify.md", "index.md", "prompts-haiku.txt.md", "reply.md"]
    reply = (out / "reply.md").read_text()
    assert "[[classify|classify]]" in reply  # they share the tag "support"
    assert "[[prompts-haiku.txt" not in reply
    assert "[[index|All prompts]]" in reply
    index = (out / "index.md").read_text()
    assert "[[reply\\|reply]]" in index and "[[prompts-haiku.txt\\|prompts/haiku.txt]]" in index
    assert "| production | 75.0% |" in index
    haiku = (out / "prompts-haiku.txt.md").read_text()
    assert "Not evaluated yet" in haiku and "None: the prompt takes no variables." not in haiku


def test_export_csv_is_a_catalogue(library: Store) -> None:
    rows = list(csv.DictReader(io.StringIO(export_csv(library))))
    assert [r["name"] for r in rows] == ["classify", "prompts/haiku.txt", "reply"]
    reply = rows[2]
    assert reply["tags"] == "support;email" and reply["best_pass_rate"] == "0.7500"
    assert reply["labels"].startswith("production=") and reply["models_tested"] == "bot"
    assert rows[1]["best_pass_rate"] == "" and rows[1]["versions"] == "1"


def test_resolve_serves_a_label_a_version_or_the_newest(tmp_path: Path, library: Store) -> None:
    served = resolve(library, "reply", label="production")
    assert served.version == library_entry(library, "reply").latest_hash
    assert served.template.variables == {"tone", "question"} and served.model is None
    assert served.template.render({"question": "hi"}).messages[0].content == (
        "Reply in a warm tone to: hi")
    assert resolve(library, "reply", version=served.version[:8]).version == served.version
    with pytest.raises(PromptNotFound, match="no label 'staging'"):
        resolve(library, "reply", label="staging")
    with pytest.raises(PromptNotFound, match="no prompt 'nope'"):
        resolve(library, "nope")


def _run_id(store: Store) -> str:
    with store.engine.connect() as conn:
        return str(conn.execute(select(schema.runs.c.id)).scalar_one())
