"""``promptwork prompts`` through ``main()``: sync, label, check (exit 1 for CI), list, show,
versions, diff, search, card and export, and eval recording the files it uses."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from evalkit import isolate_env
from librarykit import REPLY, make_library
from promptwork.cli.main import main


@pytest.fixture(autouse=True)
def _env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    isolate_env(monkeypatch, tmp_path)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("PROMPTWORK_USER", "bob")
    monkeypatch.setenv("COLUMNS", "200")


def cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_the_library_workflow(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    make_library(tmp_path)
    code, out, _ = cli(capsys, "prompts", "sync")
    assert code == 0 and "3 prompt files: 3 new versions" in out
    code, out, _ = cli(capsys, "prompts", "list", "--json")
    listed = {p["name"]: p for p in json.loads(out)}
    assert set(listed) == {"reply", "classify", "prompts/haiku.txt"}
    v1 = listed["reply"]["version"]
    code, out, _ = cli(capsys, "prompts", "label", f"reply@{v1[:7]}", "production")
    assert code == 0 and f"reply@production -> {v1[:12]}" in out
    assert "who: bob" in (tmp_path / "prompts.lock.yaml").read_text()
    code, out, _ = cli(capsys, "prompts", "check")
    assert code == 0 and "matches its file" in out
    (tmp_path / "prompts" / "reply.prompt").write_text(REPLY + "Sign as Ann.\n")
    code, _, err = cli(capsys, "prompts", "check")
    assert code == 1
    assert "label mismatch:" in err and "reply@production" in err and "changed since" in err
    code, out, _ = cli(capsys, "prompts", "sync")
    assert "new       reply" in out and "1 new versions" in out
    code, out, _ = cli(capsys, "prompts", "versions", "reply")
    assert code == 0 and "+1 -0 lines" in out and "first version" in out
    v2 = json.loads(cli(capsys, "prompts", "list", "--json")[1])
    v2 = next(p["version"] for p in v2 if p["name"] == "reply")
    code, out, _ = cli(capsys, "prompts", "diff", "reply", v1[:8], v2[:8])
    assert code == 0 and "+Sign as Ann." in out
    code, _, err = cli(capsys, "prompts", "label", "reply@ffff", "production")
    assert code == 2 and "has no version 'ffff'" in err
    code, out, _ = cli(capsys, "prompts", "label", "reply", "production")  # the newest
    assert code == 0 and f"(was {v1[:12]})" in out
    assert cli(capsys, "prompts", "check")[0] == 0


def test_eval_records_files_and_show_gives_pass_rates(tmp_path: Path,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    make_library(tmp_path)
    code, _, _ = cli(capsys, "eval", "--no-progress", "--no-table")
    assert code != 2  # the unscripted model fails every check; the files are recorded anyway
    code, out, _ = cli(capsys, "prompts", "show", "reply")
    assert code == 0
    assert "Answers a customer's refund question politely." in out
    assert "question" in out and "warm" in out
    assert "0.0% (0/4)" in out and "bot" in out  # the measured pass rate per suite x model
    code, out, _ = cli(capsys, "prompts", "search", "refund", "--json")
    found = json.loads(out)
    assert found["ranking"] == "lexical" and [r["name"] for r in found["rows"]] == ["reply"]
    code, out, err = cli(capsys, "prompts", "search", "refund", "--semantic")
    assert code == 0 and "falling back to lexical ranking" in err and "reply" in out
    code, out, _ = cli(capsys, "prompts", "search", "--model-tested", "nobody", "--json")
    assert json.loads(out)["rows"] == []
    code, out, _ = cli(capsys, "prompts", "card", "reply")
    assert code == 0 and out.startswith("---\nname: reply\n") and "## Models tested" in out
    code, _, err = cli(capsys, "prompts", "card", "reply", "-o", "card.md")
    assert code == 0 and (tmp_path / "card.md").read_text().startswith("---\nname: reply")
    code, _, err = cli(capsys, "prompts", "export", "--format", "md", "--out", "vault")
    assert code == 0 and (tmp_path / "vault" / "index.md").is_file()
    code, _, _ = cli(capsys, "prompts", "export", "--format", "csv", "--out", "lib.csv")
    assert code == 0 and (tmp_path / "lib.csv").read_text().startswith("name,description")
    code, _, err = cli(capsys, "prompts", "show", "nope")
    assert code == 2 and "no prompt 'nope'" in err
