"""`promptwork prompts import` and the library export to other tools' formats."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from promptwork.cli.main import main
from promptwork.library.formats import export_library
from promptwork.library.sync import sync_folder
from promptwork.prompts import load_prompt
from promptwork.store import Store

FIXTURES = Path(__file__).parent.parent / "library" / "formats" / "fixtures"


def test_import_writes_prompt_files_and_lists_what_was_dropped(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    lib = tmp_path / "lib"
    code = main(["prompts", "import", str(FIXTURES / "greet.prompt"),
                 str(FIXTURES / "movie-critic.json"), str(FIXTURES / "support.prompty"),
                 "--into", str(lib)])
    out = capsys.readouterr().out
    assert code == 0, out
    assert sorted(p.name for p in lib.iterdir()) == [
        "Support-Answer.prompt", "greet.prompt", "movie-critic.prompt"]
    assert "dropped tools (line 20)" in out
    assert "labels in langfuse: production" in out
    assert "sample values: question" in out
    rendered = load_prompt(str(lib / "movie-critic.prompt")).render(
        {"criticLevel": "a", "movie": "b"})
    assert rendered.messages[0].content.startswith("As a a movie critic")
    # a second import does not overwrite without --force
    code = main(["prompts", "import", str(FIXTURES / "greet.prompt"), "--into", str(lib)])
    assert code == 2 and "exists" in capsys.readouterr().err
    assert main(["prompts", "import", str(FIXTURES / "greet.prompt"), "--into", str(lib),
                 "--force"]) == 0


def test_import_error_names_file_and_line(tmp_path: Path,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.prompt"
    bad.write_text("---\nconfig: {temperature: 1}\n---\nHi {{media url=x}}\n")
    assert main(["prompts", "import", str(bad), "--into", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert f"{bad}:4" in err and "'media'" in err
    assert not (tmp_path / "out").exists()


def test_export_library_writes_each_prompt_with_its_labels(tmp_path: Path) -> None:
    lib = tmp_path / "lib"
    lib.mkdir()
    (lib / "a.prompt").write_text("---\nname: a\nmodel: openai:gpt-4o\n---\nHello {{ x }}\n")
    (lib / "b.prompt").write_text("---\nname: b\n---\nsystem:\nS\n\nuser:\n{{ q }}\n")
    store = Store.for_folder(lib, None)
    try:
        sync_folder(store, lib)
        assert main(["prompts", "label", "a@" + load_prompt(str(lib / "a.prompt"))
                     .content_hash[:12], "production", "--dir", str(lib)]) == 0
        report = export_library(store, "langfuse", tmp_path / "out")
    finally:
        store.close()
    assert report.startswith("wrote 2 langfuse file(s)")
    a = json.loads((tmp_path / "out" / "a.json").read_text())
    assert (a["type"], a["prompt"], a["labels"]) == ("text", "Hello {{x}}", ["production"])
    b = json.loads((tmp_path / "out" / "b.json").read_text())
    assert b["prompt"] == [{"role": "system", "content": "S"},
                           {"role": "user", "content": "{{q}}"}]
    # the same through `prompts export --format dotprompt`
    assert main(["prompts", "export", "--format", "dotprompt", "--out", str(tmp_path / "dp"),
                 "--dir", str(lib)]) == 0
    assert '{{role "system"}}' in (tmp_path / "dp" / "b.prompt").read_text()
