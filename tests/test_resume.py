"""Interrupted runs and ``--resume`` (reliability notes, items 9, 10 and 12's integrity check).

``promptwork eval`` runs in a subprocess against the fake server (a real ``openai:chat:`` provider),
is killed with SIGKILL at random points while it stores cells, and is resumed until complete.
The server's request log shows which cells were asked for after each kill.
"""

from __future__ import annotations

import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from evalkit import clean_env, db_file, fake_provider, isolate_env, sqlite_rows, write_suite
from fakeserver import FakeServer
from promptwork.cli.main import main

pytest.importorskip("openai", reason="the openai SDK is not installed")

PROMPTS = ("Alpha question {{ i }}", "Beta question {{ i }}")
N_TESTS = 90
KILLS = 3
#: Seed of the kill points; set PROMPTWORK_TEST_SEED to replay a failure.
SEED = int(os.environ.get("PROMPTWORK_TEST_SEED") or random.randrange(1 << 30))

Key = tuple[int, int, int, int]


@pytest.fixture(autouse=True)
def _env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    isolate_env(monkeypatch, tmp_path)
    monkeypatch.chdir(tmp_path)


def eval_process(folder: Path, *args: str) -> subprocess.Popen[bytes]:
    command = [sys.executable, "-m", "promptwork.cli.main", "eval", "--no-progress",
               "--no-table", "--no-cache", *args]
    env = clean_env(PROMPTWORK_CONFIG=str(folder / "absent.toml"))
    # Ctrl-C at its default in the child whatever this test process inherited: an ignored
    # SIGINT (a job started in the background by a non-interactive shell) is passed on to
    # children, and Python then keeps ignoring it, as it should.
    return subprocess.Popen(command, cwd=folder, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))


def stored(db: Path) -> int:
    """Result rows stored so far (0 while the store does not exist yet)."""
    if not db.exists():
        return 0
    try:
        return int(sqlite_rows(db, "SELECT count(*) FROM results")[0][0])
    except sqlite3.OperationalError:  # the tables are being created
        return 0


def wait_for_rows(db: Path, proc: subprocess.Popen[bytes], at_least: int) -> int:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        n = stored(db)
        if n >= at_least:
            return n
        if proc.poll() is not None:
            _, err = proc.communicate()
            raise AssertionError(f"eval ended early ({proc.returncode}): {err.decode()[-2000:]}")
        time.sleep(0.005)
    raise AssertionError("no progress within 60 s")


def keys(db: Path) -> list[Key]:
    rows = sqlite_rows(db, "SELECT prompt_idx, provider_idx, test_idx, repeat_idx FROM results")
    return [(int(p), int(m), int(t), int(r)) for p, m, t, r in rows]


def integrity(db: Path) -> str:
    conn = sqlite3.connect(db, timeout=30)  # read-write, as the next run opens it
    try:
        return str(conn.execute("PRAGMA integrity_check").fetchone()[0])
    finally:
        conn.close()


def requested_key(body: Any) -> Key:
    text = body["messages"][0]["content"]
    word, _, number = text.split()
    return ({"Alpha": 0, "Beta": 1}[word], 0, int(number), 0)


def test_kill_9_at_random_points_then_resume_completes_exactly_once(
    tmp_path: Path, fake_server: FakeServer
) -> None:
    rng = random.Random(SEED)
    fake_server.delay = 0.01
    write_suite(tmp_path, {
        "prompts": list(PROMPTS),
        "providers": [fake_provider(fake_server.base_url)],
        "tests": [{"vars": {"i": i}} for i in range(N_TESTS)],
        "evaluateOptions": {"maxConcurrency": 4},
    })
    db = db_file(tmp_path)
    expected = {(p, 0, t, 0) for p in range(2) for t in range(N_TESTS)}
    total = len(expected)
    witnesses: list[tuple[set[Key], int]] = []  # cells stored at a kill, requests seen by then
    done = 0
    for kill in range(KILLS):
        proc = eval_process(tmp_path, *(["--resume"] if kill else []))
        target = done + rng.randrange(5, total // (KILLS + 1))
        wait_for_rows(db, proc, target)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
        assert proc.returncode == -signal.SIGKILL, f"seed {SEED}"
        assert integrity(db) == "ok", f"seed {SEED}"
        got = keys(db)
        assert len(got) == len(set(got)), f"duplicates after kill {kill} (seed {SEED})"
        assert set(got) <= expected
        done = len(got)
        assert done < total, f"the run finished before kill {kill}; make it slower (seed {SEED})"
        witnesses.append((set(got), len(fake_server.requests)))

    final = eval_process(tmp_path, "--resume")
    _, err = final.communicate(timeout=120)
    assert final.returncode == 0, err.decode()[-3000:]
    got = keys(db)
    assert len(got) == total and set(got) == expected, f"seed {SEED}"
    assert integrity(db) == "ok"
    runs = sqlite_rows(db, "SELECT status, total_cells FROM runs")
    assert runs == [("complete", total)]  # one run, resumed, never a second one

    # Cells stored before a kill were never asked for again.
    # (A request whose sender was killed before its body went out has no JSON body.)
    bodies = [r.json for r in fake_server.requests]
    for stored_then, mark in witnesses:
        again = {requested_key(b) for b in bodies[mark:] if isinstance(b, dict)} & stored_then
        assert not again, f"stored cells requested again: {sorted(again)[:5]} (seed {SEED})"
    # Every cell was asked for; only cells unfinished at a kill were asked for twice: at most
    # maxConcurrency (4) in flight plus a few answered but not yet stored, per kill.
    asked = [requested_key(b) for b in bodies if isinstance(b, dict)]
    assert set(asked) == expected
    assert len(asked) - total <= KILLS * 8


def test_ctrl_c_stops_cleanly_and_resume_completes(
    tmp_path: Path, fake_server: FakeServer
) -> None:
    # 60 cells, 2 at a time, 0.2 s each: the run lasts about 6 s, so the interrupt sent after the
    # 5th stored cell lands mid-run even when the test process is descheduled for seconds (with
    # 0.02 s the whole run took 0.6 s and a loaded CI machine once let it finish first).
    fake_server.delay = 0.2
    write_suite(tmp_path, {
        "prompts": [PROMPTS[0]],
        "providers": [fake_provider(fake_server.base_url)],
        "tests": [{"vars": {"i": i}} for i in range(60)],
        "evaluateOptions": {"maxConcurrency": 2},
    })
    db = db_file(tmp_path)
    proc = eval_process(tmp_path)
    wait_for_rows(db, proc, 5)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 130, err.decode()[-2000:]
    assert b"Traceback" not in err
    assert sqlite_rows(db, "SELECT status FROM runs") == [("interrupted",)]
    assert integrity(db) == "ok"
    partial = len(keys(db))
    assert 5 <= partial < 60

    final = eval_process(tmp_path, "--resume")
    _, err = final.communicate(timeout=60)
    assert final.returncode == 0, err.decode()[-2000:]
    assert sorted(keys(db)) == [(0, 0, t, 0) for t in range(60)]
    assert sqlite_rows(db, "SELECT status FROM runs") == [("complete",)]


# -- resume refuses a changed suite (item 10) ------------------------------------------------------


def _suite_with_files(folder: Path) -> Path:
    (folder / "prompt.txt").write_text("Answer {{ q }}\n", encoding="utf-8")
    (folder / "tests.csv").write_text("q,__expected\none,contains:one\ntwo,contains:two\n"
                                      "three,contains:three\n", encoding="utf-8")
    return write_suite(folder, {"description": "resume", "prompts": ["file://prompt.txt"],
                                "providers": ["echo"], "tests": "file://tests.csv"})


def _cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    code = main(["eval", "--no-progress", "--no-table", *args])
    return code, capsys.readouterr().err


@pytest.mark.parametrize("change", ["suite", "prompt", "data"])
def test_resume_after_a_change_is_refused_and_never_merged(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], change: str
) -> None:
    suite = _suite_with_files(tmp_path)
    code, err = _cli(capsys, "--max-tests", "2")
    assert code == 0, err
    db = db_file(tmp_path)
    before = sqlite_rows(db, "SELECT id, status FROM runs")
    rows_before = sqlite_rows(db, "SELECT * FROM results")
    # Interrupted runs are what one resumes: mark it so.
    conn = sqlite3.connect(db)
    with conn:
        conn.execute("UPDATE runs SET status = 'interrupted'")
    conn.close()

    target = {"suite": suite, "prompt": tmp_path / "prompt.txt",
              "data": tmp_path / "tests.csv"}[change]
    before_text = target.read_text(encoding="utf-8")
    after_text = {"suite": before_text + "# edited\n", "prompt": "Reply to {{ q }}\n",
                  "data": before_text.replace("one", "uno")}[change]
    target.write_text(after_text, encoding="utf-8")
    code, err = _cli(capsys, "--max-tests", "2", "--resume")
    assert code == 2
    assert "changed since run" in err and before[0][0] in err
    assert "Start a new run" in err or "start a new run" in err
    assert sqlite_rows(db, "SELECT id FROM runs") == [(before[0][0],)]
    assert sqlite_rows(db, "SELECT * FROM results") == rows_before


def test_resume_with_different_options_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _suite_with_files(tmp_path)
    code, err = _cli(capsys, "--max-tests", "2")
    assert code == 0, err
    db = db_file(tmp_path)
    for extra in (["--max-tests", "3"], ["--max-tests", "2", "--repeat", "2"], []):
        code, err = _cli(capsys, *extra, "--resume")
        assert code == 2, (extra, err)
        assert "resume with the same" in err
    assert len(sqlite_rows(db, "SELECT * FROM results")) == 2
    code, err = _cli(capsys, "--max-tests", "2", "--resume")
    assert code == 0, err


def test_resume_of_an_unknown_run_is_bad_input(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _suite_with_files(tmp_path)
    assert _cli(capsys)[0] == 0
    code, err = _cli(capsys, "--resume", "no-such-run")
    assert code == 2 and "no run 'no-such-run'" in err


@pytest.mark.embedded
def test_embedded_answers_after_kill_9_and_resume_are_the_uninterrupted_ones(
    tmp_path: Path,
) -> None:
    # Issue 18: a resumed run is the run that would have been. 5 templates x 24 reviews on the
    # embedded model, groups decoded in worker processes; killed once the first group is stored,
    # resumed (the cells in flight are decoded again, in other groups); every answer must be the
    # one an uninterrupted run gives, itself the one each prompt gets decoded alone.
    words = ["warm", "dull", "bright", "slow", "sharp", "flat", "bold", "thin"]
    suite = {
        "prompts": [f"{head}\nReview: {{{{ review }}}}\nSentiment:" for head in (
            "Classify the review as positive or negative.", "Is this review positive?",
            "Sentiment of a film review (positive or negative).", "Review sentiment, one word.",
            "Say whether the critic liked the film.")],
        "providers": [{"id": "local:gemma3-270m",
                       "config": {"temperature": 0, "max_tokens": 6, "workers": 2}}],
        "tests": [{"vars": {"review": f"a {words[i % 8]}, {words[(3 * i + 1) % 8]} film"
                                      + ", and long" * (i % 3)}} for i in range(24)],
    }
    total = 5 * 24
    whole, cut = tmp_path / "whole", tmp_path / "cut"
    for folder in (whole, cut):
        write_suite(folder, suite)
    first = eval_process(whole)
    _, err = first.communicate(timeout=300)
    assert first.returncode == 0, err.decode()[-3000:]

    proc = eval_process(cut)
    wait_for_rows(db_file(cut), proc, 1)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    done = len(keys(db_file(cut)))
    assert 0 < done < total  # killed mid-run
    again = eval_process(cut, "--resume")
    _, err = again.communicate(timeout=300)
    assert again.returncode == 0, err.decode()[-3000:]

    def answers(folder: Path) -> dict[tuple[int, int], str]:
        rows = sqlite_rows(db_file(folder), "SELECT prompt_idx, test_idx, output FROM results")
        return {(int(p), int(t)): str(o) for p, t, o in rows}

    resumed = answers(cut)
    assert len(resumed) == total and resumed == answers(whole)
    assert len(set(resumed.values())) > 3  # the answers are not all alike
