"""``promptwork tokens``, ``promptwork hooks`` and ``promptwork serve`` as commands."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from promptwork.cli.main import main
from promptwork.store import Store
from promptwork.store.events import record_event
from promptwork.store.tokens import find_token
from web.conftest import free_port

from .conftest import library_store


def cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_tokens_create_list_revoke(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = cli(capsys, "tokens", "create", "--scope", "run", "--name", "zapier",
                       "-C", str(tmp_path))
    assert code == 0
    text = out.strip()
    store = Store.for_folder(tmp_path)
    found = find_token(store.engine, text)
    assert found is not None and (found.name, found.scope) == ("zapier", "run")
    db = (tmp_path / ".promptwork" / "promptwork.db").read_bytes()
    assert text.encode() not in db  # only its hash is stored
    code, out, _ = cli(capsys, "tokens", "list", "-C", str(tmp_path))
    assert code == 0 and "zapier" in out and text not in out and "active" in out
    assert cli(capsys, "tokens", "revoke", "zapier", "-C", str(tmp_path))[0] == 0
    assert "revoked" in cli(capsys, "tokens", "list", "-C", str(tmp_path))[1]
    assert cli(capsys, "tokens", "create", "--scope", "root", "-C", str(tmp_path))[0] == 2
    assert cli(capsys, "tokens", "revoke", "nobody", "-C", str(tmp_path))[0] == 2


def test_hooks_add_list_deliver_log_remove(tmp_path: Path,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    where = ("-C", str(tmp_path))
    url = f"http://127.0.0.1:{free_port()}/nobody"
    code, out, _ = cli(capsys, "hooks", "add", url, "--events", "run.finished,label.moved",
                       *where)
    assert code == 0 and out.startswith("whsec_")
    secret = out.strip()
    listed = cli(capsys, "hooks", "list", *where)[1]
    assert "run.finished" in listed and secret not in listed
    assert cli(capsys, "hooks", "add", url, "--events", "run.started", *where)[0] == 2
    record_event(Store.for_folder(tmp_path).engine, "label.moved", {"name": "reply"})
    code, out, _ = cli(capsys, "hooks", "deliver", "--retry-base", "0", *where)
    assert code == 1 and "1 failed" in out
    assert "ConnectError" in cli(capsys, "hooks", "log", *where)[1]
    assert cli(capsys, "hooks", "remove", "1", *where)[0] == 0
    assert cli(capsys, "hooks", "remove", "1", *where)[0] == 2
    assert cli(capsys, "hooks", "deliver", *where)[1].startswith("0 delivered")


@pytest.mark.server
def test_serve_command_answers_with_tokens(tmp_path: Path) -> None:
    store = library_store(tmp_path)
    from promptwork.store.tokens import create_token

    token = create_token(store.engine, "read")[1]
    port = free_port()
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "promptwork.cli.main", "serve", "--db", store.url,
         "--port", str(port), "--no-deliver"], env=env, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                answer = httpx.get(f"http://127.0.0.1:{port}/v1/prompts/greet",
                                   headers={"Authorization": f"Bearer {token}"})
                break
            except httpx.ConnectError:
                assert proc.poll() is None and time.monotonic() < deadline
                time.sleep(0.1)
        assert answer.status_code == 200 and "orchard" in answer.json()["template"]
        assert httpx.get(f"http://127.0.0.1:{port}/v1/prompts").status_code == 401
        rebound = httpx.get(f"http://127.0.0.1:{port}/v1/prompts/greet", headers={
            "Authorization": f"Bearer {token}", "Host": f"evil.example:{port}"})
        assert rebound.status_code == 421  # a DNS-rebinding page is refused, token or not
        assert httpx.get(f"http://localhost:{port}/v1/prompts/greet", headers={
            "Authorization": f"Bearer {token}"}).status_code == 200
    finally:
        proc.terminate()
        proc.wait(20)
