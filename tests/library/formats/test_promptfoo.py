"""promptfoo prompt files: text and chat JSON in and out; metadata listed as dropped."""

from __future__ import annotations

import json
from pathlib import Path

from promptwork.library.formats import export_prompt, import_file
from promptwork.prompts import load_prompt

from .roundtrip import FIXTURES, from_promptwork, messages, round_trip

VALUES = {"customer": "Ada", "topic": "refunds", "items": ["a", "b"], "persona": "calm",
          "question": "Why?"}


def test_import_reads_as_promptwork_reads_promptfoo_files() -> None:
    for name in ("reply.txt", "chat.json"):
        [imp] = import_file(FIXTURES / name)
        direct = load_prompt(str(FIXTURES / name)).render(VALUES).to_list()
        assert imp.fmt == "promptfoo" and messages(imp, VALUES) == direct
    [imp] = import_file(FIXTURES / "reply.txt")
    assert messages(imp, VALUES)[0]["content"] == "Reply to Ada about REFUNDS.\n- a\n- b\n"


def test_round_trips(tmp_path: Path) -> None:
    for name in ("reply.txt", "chat.json"):
        first, second = round_trip(FIXTURES / name, "promptfoo", tmp_path / name)
        assert messages(second, VALUES) == messages(first, VALUES)


def test_export_lists_what_a_prompt_file_cannot_hold(tmp_path: Path) -> None:
    text = ("---\nname: s\nmodel: openai:gpt-4o\nparams: {temperature: 0}\ninputs:\n"
            "  who: {type: string, default: you}\n---\nsystem:\nBe brief.\n\nuser:\nHi {{ who }}\n")
    source, back = from_promptwork(text, "promptfoo", tmp_path)
    exported = export_prompt(source, "promptfoo")
    assert json.loads(exported.files["s.json"])[1] == {"role": "user", "content": "Hi {{ who }}"}
    assert [d.what for d in exported.dropped] == ["model", "params", "inputs.who.default"]
    assert messages(back, {"who": "Bo"}) == load_prompt(str(source)).render({"who": "Bo"}).to_list()
