"""Dead-run detection: a ``running`` run whose process on this machine is gone is interrupted."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from promptwork.store import Store
from promptwork.store.owner import current_owner, owner_state, run_status

pytestmark = pytest.mark.skipif(os.name != "posix", reason="pid checks need POSIX")


def dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_this_process_is_alive() -> None:
    owner = current_owner()
    assert owner["pid"] == os.getpid()
    assert owner_state(owner) == "alive"
    assert run_status("running", {"owner": owner}) == "running"


def test_a_finished_process_is_dead() -> None:
    owner = {**current_owner(), "pid": dead_pid(), "started": None}
    assert owner_state(owner) == "dead"
    assert run_status("running", {"owner": owner}) == "interrupted"
    assert run_status("complete", {"owner": owner}) == "complete"  # only running runs change


def test_a_reused_pid_is_dead() -> None:
    owner = current_owner()
    if owner["started"] is None:
        pytest.skip("no /proc start times here")
    assert owner_state({**owner, "started": owner["started"] + 1}) == "dead"


def test_another_machine_is_never_declared_dead() -> None:
    gone = dead_pid()
    assert owner_state({**current_owner(), "host": "another-machine", "pid": gone}) == "unknown"
    other_boot = {**current_owner(), "pid": gone, "boot": "not-this-boot"}
    if current_owner()["boot"]:
        assert owner_state(other_boot) == "unknown"
    assert run_status("running", {"owner": {"host": "another-machine", "pid": gone}}) == "running"
    assert run_status("running", {}) == "running"  # older runs: no owner recorded


def test_the_store_records_and_keeps_the_owner(tmp_path: Path) -> None:
    store = Store.for_folder(tmp_path)
    run_id = store.create_run("f", 1, {"prompts": []})
    record = store.get_run(run_id)
    assert record.settings["owner"]["pid"] == os.getpid()
    assert record.shown_status == "running"
    store.update_run(run_id, settings={"prompts": [{"label": "p"}]})  # an optimizer's update
    assert store.get_run(run_id).settings["owner"]["pid"] == os.getpid()
    # Its process dies: the run is shown as interrupted, the stored status is unchanged.
    settings = store.get_run(run_id).settings
    dead = {**settings, "owner": {**settings["owner"], "pid": dead_pid(), "started": None}}
    store.update_run(run_id, settings=dead)
    record = store.get_run(run_id)
    assert record.status == "running" and record.shown_status == "interrupted"
    # Resuming makes this process the owner again.
    store.set_status(run_id, "running")
    assert store.get_run(run_id).shown_status == "running"
    assert store.get_run(run_id).settings["prompts"] == [{"label": "p"}]
