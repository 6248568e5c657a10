"""Chat messages a prompt function or a rendered chat template produced, checked."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from promptwork.errors import TemplateError
from promptwork.types import ROLES, Message, RenderedPrompt

#: Part types read, in OpenAI's chat form or the Responses API's, and Anthropic's image.
TEXT_PARTS = ("text", "input_text")
IMAGE_PARTS = ("image_url", "input_image", "image")


def messages_from(data: Any, label: str) -> RenderedPrompt:
    """A rendered prompt from a generated value: text (one user message) or a list of
    ``{role, content}`` messages whose content is text or a list of text and image parts.

    Raises:
        TemplateError: Anything else, naming what is wrong.
    """
    if isinstance(data, str):
        return RenderedPrompt.from_text(data)
    if not isinstance(data, list) or not data:
        raise TemplateError("a generated prompt must be text or a non-empty list of chat "
                            f"messages, got {type(data).__name__}", label)
    messages = []
    for i, msg in enumerate(data):
        if not isinstance(msg, Mapping) or msg.get("role") not in ROLES:
            raise TemplateError(f"message {i + 1}: must be {{role: {'|'.join(ROLES)}, "
                                "content: text}", label)
        content = msg.get("content")
        if isinstance(content, list):
            messages.append(multipart_message(msg["role"], content, i + 1, label))
            continue
        if not isinstance(content, str):
            raise TemplateError(f"message {i + 1}: content must be text", label)
        messages.append(Message(msg["role"], content))
    return RenderedPrompt(tuple(messages))


def multipart_message(role: str, content: list[Any], n: int, label: str) -> Message:
    """A message whose content is a list of text and image parts, kept in OpenAI's form.

    Raises:
        TemplateError: A part that is neither text nor an image (audio, files...), named.
    """
    parts: list[dict[str, Any]] = []
    for j, part in enumerate(content):
        at = f"message {n}, part {j + 1}"
        kind = part.get("type") if isinstance(part, Mapping) else None
        if isinstance(part, Mapping) and kind in TEXT_PARTS:
            if not isinstance(part.get("text"), str):
                raise TemplateError(f"{at}: a text part needs 'text'", label)
            parts.append({"type": "text", "text": part["text"]})
        elif isinstance(part, Mapping) and kind in IMAGE_PARTS:
            parts.append({"type": "image_url", "image_url": _image(part, at, label)})
        else:
            raise TemplateError(
                f"{at}: content part type {kind!r} is not supported: promptwork sends text and "
                "image parts (text, image_url, input_text, input_image)", label)
    text = "\n".join(p["text"] for p in parts if p["type"] == "text")
    return Message(role, text, tuple(parts))  # type: ignore[arg-type]


def _image(part: Mapping[str, Any], at: str, label: str) -> dict[str, Any]:
    """An image part's ``{url[, detail]}`` (an ``https:`` or ``data:`` URL)."""
    url: Any
    if part.get("type") == "image":  # Anthropic's {source: {type: base64|url, ...}}
        source = part.get("source")
        if isinstance(source, Mapping) and source.get("type") == "base64":
            url = f"data:{source.get('media_type', 'image/png')};base64,{source.get('data', '')}"
        else:
            url = source.get("url") if isinstance(source, Mapping) else None
    else:
        value = part.get("image_url")
        url = value.get("url") if isinstance(value, Mapping) else value
    if not isinstance(url, str) or not url.startswith(("https://", "http://", "data:image/")):
        raise TemplateError(f"{at}: an image part needs an http(s) or data:image/ URL, got "
                            f"{str(url)[:60]!r}", label)
    out: dict[str, Any] = {"url": url}
    nested = part.get("image_url")
    detail = part.get("detail") or (nested.get("detail") if isinstance(nested, Mapping) else None)
    if isinstance(detail, str):
        out["detail"] = detail
    return out
