"""Multi-part (text and image) message content: read from chat prompts, carried in ``Message``,
sent in each vendor's form, refused by name for models that take no images."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

import promptwork as pw
from fakeserver import FakeServer
from promptwork.chatmessages import messages_from
from promptwork.errors import ProviderError, TemplateError
from promptwork.limits import LimitedProvider, Limits, RunLimits
from promptwork.providers.imageparts import anthropic_content, gemini_parts, responses_input
from promptwork.providers.scripted import ScriptedProvider
from promptwork.runner import RunConfig
from promptwork.suite import load_suite
from promptwork.types import Capabilities, Message, Params, RenderedPrompt

PNG = "data:image/png;base64,iVBORw0KGgo="
CHAT = [{"role": "system", "content": "Describe images."},
        {"role": "user", "content": [
            {"type": "text", "text": "What is in {{ thing }}?"},
            {"type": "image_url", "image_url": {"url": "{{ url }}"}}]}]


def image_suite(tmp_path: Path, provider: str) -> Path:
    (tmp_path / "prompt.json").write_text(json.dumps(CHAT), encoding="utf-8")
    path = tmp_path / "promptfooconfig.yaml"
    path.write_text(f"prompts: [file://prompt.json]\nproviders: [{provider}]\n"
                    f"tests: [{{vars: {{thing: the picture, url: '{PNG}'}}}}]\n", encoding="utf-8")
    return path


def test_a_json_chat_prompt_with_image_parts_renders_them(tmp_path: Path) -> None:
    suite = load_suite(image_suite(tmp_path, "echo"))
    rendered = suite.prompts[0].template.render(next(iter(suite.tests)).vars)
    user = rendered.messages[1]
    assert user.content == "What is in the picture?"
    assert user.images == (PNG,)
    assert user.to_dict()["content"][1] == {"type": "image_url", "image_url": {"url": PNG}}
    assert rendered.messages[0].parts is None  # text messages stay text


def test_responses_and_anthropic_part_forms_are_read_as_openai_parts() -> None:
    rendered = messages_from([{"type": "message", "role": "user", "content": [
        {"type": "input_text", "text": "Look"},
        {"type": "input_image", "image_url": "https://x.test/a.jpg"},
        {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "AA"}},
    ]}], "p")
    assert rendered.messages[0].images == ("https://x.test/a.jpg", "data:image/png;base64,AA")


def test_an_audio_part_is_refused_by_name() -> None:
    with pytest.raises(TemplateError, match="part 2: content part type 'input_audio'"):
        messages_from([{"role": "user", "content": [
            {"type": "text", "text": "hi"}, {"type": "input_audio", "input_audio": {}}]}], "p")


def test_an_image_without_a_usable_url_is_refused() -> None:
    with pytest.raises(TemplateError, match="http\\(s\\) or data:image/ URL"):
        messages_from([{"role": "user", "content": [
            {"type": "image_url", "image_url": {"url": "file:///etc/passwd"}}]}], "p")


def test_vendor_forms() -> None:
    m = Message("user", "Look", ({"type": "text", "text": "Look"},
                                 {"type": "image_url", "image_url": {"url": PNG}},
                                 {"type": "image_url", "image_url": {"url": "https://x.test/a.jpg"}}))
    assert anthropic_content(m) == [
        {"type": "text", "text": "Look"},
        {"type": "image", "source": {"type": "base64", "media_type": "image/png",
                                     "data": "iVBORw0KGgo="}},
        {"type": "image", "source": {"type": "url", "url": "https://x.test/a.jpg"}}]
    assert gemini_parts(m, "google:x") == [
        {"text": "Look"}, {"inline_data": {"mime_type": "image/png", "data": "iVBORw0KGgo="}},
        {"file_data": {"mime_type": "image/jpeg", "file_uri": "https://x.test/a.jpg"}}]
    assert responses_input(RenderedPrompt((m,)))[0]["content"] == [
        {"type": "input_text", "text": "Look"}, {"type": "input_image", "image_url": PNG},
        {"type": "input_image", "image_url": "https://x.test/a.jpg"}]
    assert anthropic_content(Message("user", "plain")) == "plain"


def test_the_openai_compatible_provider_sends_the_parts(
    tmp_path: Path, fake_server: FakeServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    path = image_suite(tmp_path, f"{{id: 'openai:chat:m', config: {{apiBaseUrl: "
                                 f"'{fake_server.base_url}'}}}}")
    run = pw.evaluate(path, config=RunConfig(use_cache=False))
    assert run.stats()["errors"] == 0
    sent = fake_server.requests[-1].json["messages"][1]["content"]
    assert sent == [{"type": "text", "text": "What is in the picture?"},
                    {"type": "image_url", "image_url": {"url": PNG}}]


def test_a_model_that_takes_no_images_refuses_without_a_call() -> None:
    inner = ScriptedProvider(("answer",), capabilities=Capabilities(chat=True))
    limited = LimitedProvider(inner, RunLimits(Limits()))
    prompt = messages_from([{"role": "user", "content": [
        {"type": "image_url", "image_url": {"url": PNG}}]}], "p")
    with pytest.raises(ProviderError, match="scripted cannot take images"):
        asyncio.run(limited.complete(prompt, Params()))
    text = RenderedPrompt.from_text("hi")
    out = asyncio.run(limited.complete_batch([(prompt, Params()), (text, Params())]))
    assert isinstance(out[0], ProviderError) and not isinstance(out[1], ProviderError)
    assert len(inner.calls) == 1 and inner.calls[0][0] == text
