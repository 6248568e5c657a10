"""Multi-part (text and image) messages in each vendor's form.

A :class:`~promptwork.types.Message` keeps its parts in OpenAI's chat form (``text`` and
``image_url`` parts); these functions write them as Anthropic's, Gemini's and OpenAI's
Responses API take them. Text-only messages are written as before.
"""

from __future__ import annotations

import mimetypes
from typing import Any

from promptwork.errors import ConfigError
from promptwork.types import Message, RenderedPrompt

__all__ = ["anthropic_content", "gemini_parts", "responses_input"]


def _data_url(url: str) -> tuple[str, str] | None:
    """``(media type, base64 data)`` of a ``data:`` URL, else None."""
    if not url.startswith("data:"):
        return None
    head, _, data = url[5:].partition(",")
    return head.split(";")[0] or "image/png", data


def anthropic_content(m: Message) -> str | list[dict[str, Any]]:
    """A message's ``content`` for Anthropic's Messages API."""
    if m.parts is None:
        return m.content
    out: list[dict[str, Any]] = []
    for part in m.parts:
        if part["type"] == "text":
            out.append({"type": "text", "text": part["text"]})
            continue
        url = part["image_url"]["url"]
        inline = _data_url(url)
        source = ({"type": "base64", "media_type": inline[0], "data": inline[1]} if inline
                  else {"type": "url", "url": url})
        out.append({"type": "image", "source": source})
    return out


def gemini_parts(m: Message, model: str) -> list[dict[str, Any]]:
    """A message's ``parts`` for Gemini: inline data for ``data:`` URLs, file data otherwise."""
    if m.parts is None:
        return [{"text": m.content}]
    out: list[dict[str, Any]] = []
    for part in m.parts:
        if part["type"] == "text":
            out.append({"text": part["text"]})
            continue
        url = part["image_url"]["url"]
        inline = _data_url(url)
        if inline:
            out.append({"inline_data": {"mime_type": inline[0], "data": inline[1]}})
            continue
        mime = mimetypes.guess_type(url.split("?")[0])[0]
        if mime is None or not mime.startswith("image/"):
            raise ConfigError(f"{model}: cannot tell the image type of {url[:80]!r}; give a "
                              "URL ending in .png, .jpg, .webp... or a data: URL")
        out.append({"file_data": {"mime_type": mime, "file_uri": url}})
    return out


def responses_input(prompt: RenderedPrompt) -> list[dict[str, Any]]:
    """The ``input`` of OpenAI's Responses API (its ``input_text``/``input_image`` parts)."""
    out: list[dict[str, Any]] = []
    for m in prompt.messages:
        if m.parts is None:
            out.append(m.to_dict())
            continue
        parts: list[dict[str, Any]] = []
        for part in m.parts:
            if part["type"] == "text":
                parts.append({"type": "input_text", "text": part["text"]})
            else:
                image = {"type": "input_image", "image_url": part["image_url"]["url"]}
                if "detail" in part["image_url"]:
                    image["detail"] = part["image_url"]["detail"]
                parts.append(image)
        out.append({"role": m.role, "content": parts})
    return out
