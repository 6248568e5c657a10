"""The OpenAI-compatible provider against a real ``llama_cpp.server`` on 127.0.0.1.

The server runs the same GGUF file as the embedded ``local:gemma3-270m`` provider, so greedy
answers can be compared across the two paths.
"""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from promptwork.providers.local_models import POOL
from promptwork.providers.registry import create_provider
from promptwork.secrets import KEY_VARS
from promptwork.types import Completion, Message, Params, RenderedPrompt

pytestmark = [pytest.mark.embedded, pytest.mark.server]

PROMPT = RenderedPrompt.from_text("1, 2, 3, 4,")
GREEDY = Params(temperature=0, max_tokens=5)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.fixture(scope="session")
def llama_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Start ``python -m llama_cpp.server`` on the Gemma file; yield its ``/v1`` base URL."""
    pytest.importorskip("llama_cpp.server")
    pytest.importorskip("openai")
    model_path, _ = POOL.resolve("gemma3-270m")
    port = _free_port()
    log_path = tmp_path_factory.mktemp("llama-server") / "server.log"
    with log_path.open("wb") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "llama_cpp.server", "--model", str(model_path),
             "--host", "127.0.0.1", "--port", str(port), "--n_ctx", "1024"],
            stdout=log, stderr=subprocess.STDOUT,
        )
    base_url = f"http://127.0.0.1:{port}/v1"
    try:
        deadline = time.monotonic() + 60
        while True:
            if proc.poll() is not None:
                pytest.fail(f"llama_cpp.server exited ({proc.returncode}):\n"
                            + log_path.read_text(errors="replace")[-2000:])
            try:
                if httpx.get(f"{base_url}/models", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                pytest.fail("llama_cpp.server did not answer /v1/models within 60 s:\n"
                            + log_path.read_text(errors="replace")[-2000:])
            time.sleep(0.25)
        yield base_url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@pytest.fixture(autouse=True)
def dummy_key(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """``openai:`` needs a key; the local server ignores it. No real key or config is used."""
    for names in KEY_VARS.values():
        for name in names:
            monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("PROMPTWORK_CONFIG", str(tmp_path / "absent.toml"))
    monkeypatch.setenv("OPENAI_API_KEY", "local-server-needs-no-key")


async def test_completion_endpoint_matches_embedded_greedy(llama_server: str) -> None:
    remote = create_provider("openai:completion:gemma", {"base_url": llama_server})
    try:
        answer = await remote.complete(PROMPT, GREEDY)
    finally:
        await remote.aclose()
    embedded = create_provider("local:gemma3-270m")
    expected = await embedded.complete(PROMPT, GREEDY)
    assert answer.text.strip()
    assert answer.text == expected.text
    assert answer.provider == "openai:completion:gemma"
    assert answer.usage.completion_tokens == expected.usage.completion_tokens == 5
    assert answer.usage.prompt_tokens == expected.usage.prompt_tokens
    assert answer.finish_reason == "length"
    assert answer.latency_ms > 0


async def test_completion_endpoint_streams(llama_server: str) -> None:
    remote = create_provider("openai:completion:gemma", {"base_url": llama_server})
    pieces: list[str] = []
    try:
        streamed = await remote.stream_complete(PROMPT, GREEDY, pieces.append)
        whole = await remote.complete(PROMPT, GREEDY)
    finally:
        await remote.aclose()
    assert "".join(pieces) == streamed.text == whole.text


async def test_chat_endpoint(llama_server: str) -> None:
    remote = create_provider("openai:chat:gemma", {"base_url": llama_server})
    prompt = RenderedPrompt((Message("system", "Answer briefly."), Message("user", "Count: 1, 2,")))
    try:
        answer = await remote.complete(prompt, GREEDY)
    finally:
        await remote.aclose()
    assert isinstance(answer, Completion)
    assert answer.provider == "openai:chat:gemma"
    assert isinstance(answer.text, str)
    assert answer.usage.prompt_tokens and answer.usage.prompt_tokens > 5
    assert answer.usage.completion_tokens is not None and answer.usage.completion_tokens <= 5
    assert answer.finish_reason in ("stop", "length")
