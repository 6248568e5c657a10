"""Chat messages a prompt function or a rendered chat template produced, checked."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from promptwork.errors import TemplateError
from promptwork.types import ROLES, Message, RenderedPrompt

MULTIPART_REFUSED = (
    "message {n}: multi-part content (a list of text / image_url parts) is not supported yet: "
    "promptwork sends text messages only; put the text in one 'content' string"
)


def messages_from(data: Any, label: str) -> RenderedPrompt:
    """A rendered prompt from a generated value: text (one user message) or a list of
    ``{role, content}`` messages with text content.

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
            raise TemplateError(MULTIPART_REFUSED.format(n=i + 1), label)
        if not isinstance(content, str):
            raise TemplateError(f"message {i + 1}: content must be text", label)
        messages.append(Message(msg["role"], content))
    return RenderedPrompt(tuple(messages))
