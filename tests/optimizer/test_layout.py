"""Cutting prompt bodies into instruction, demos and query, and editing them."""

from __future__ import annotations

import pytest

from promptwork.optimizer.layout import jinja_literal, parse_body
from promptwork.templates import TemplateEngine

BODIES = [
    "Classify the review. Be brief!\n\nReview: {{ review }}\nSentiment:",
    "{{ review }}\nSentiment:",
    "system:\nYou are terse.\n\nuser:\nReview: {{ review }}\nLabel:\n",
    "Intro line.\nSecond line? Yes.\n\nQ: {{ a }}\nContext: {{ b }}\nA:",
    "Translate to French: {{ text }}",
    "{% if x %}Be nice.{% endif %}\nText: {{ text }}\nAnswer:",
    "No variables at all.\n\nJust text:",
    "Classify.\n\nReview: good\nSentiment: positive\n\nReview: {{ review }}\nSentiment:",
]


@pytest.mark.parametrize("body", BODIES)
def test_parsing_is_lossless(body: str) -> None:
    assert parse_body(body).render() == body


def test_query_and_answer_line() -> None:
    layout = parse_body(BODIES[3])
    assert layout.query == "Q: {{ a }}\nContext: {{ b }}\nA:"
    assert layout.answer_line == "A:"
    assert [s.text for s in layout.segments] == ["Intro line.", "Second line?", "Yes."]
    assert parse_body(BODIES[4]).answer_line is None


def test_existing_demo_paragraph_is_one_segment_and_role_lines_stay() -> None:
    kinds = [s.kind for s in parse_body(BODIES[7]).segments]
    assert kinds == ["sentence", "demo"]
    chat = parse_body(BODIES[2])
    assert [s.kind for s in chat.segments] == ["role", "sentence", "role"]
    assert [chat.segments[i].text for i in chat.droppable()] == ["You are terse."]


def test_drop_add_and_replace_instruction() -> None:
    layout = parse_body(BODIES[0])
    assert layout.drop(1).render() == "Classify the review.\n\nReview: {{ review }}\nSentiment:"
    assert layout.drop(0).render() == "Be brief!\n\nReview: {{ review }}\nSentiment:"
    assert layout.drop(0).drop(0).render() == "Review: {{ review }}\nSentiment:"
    added = layout.add("Answer with one word.")
    assert added.render().startswith("Classify the review. Be brief! Answer with one word.\n\n")
    bare = parse_body(BODIES[1]).add("Answer with one word.")
    assert bare.render() == "Answer with one word.\n\n{{ review }}\nSentiment:"
    chat = parse_body(BODIES[2]).with_instruction("Say it. Now.")
    assert chat.render().startswith("system:\nSay it. Now.\n\nuser:\n")


def test_demos_mimic_the_query_and_are_escaped() -> None:
    layout = parse_body(BODIES[0])
    texts = layout.demo_texts([({"review": "great {{ 7*7 }}"}, " positive ")])
    assert texts == ["Review: great {{ 7*7 }}\nSentiment: positive"]
    body = layout.render(texts)
    rendered = TemplateEngine().compile(body).render({"review": "X"})
    assert rendered == (
        "Classify the review. Be brief!\n\nReview: great {{ 7*7 }}\nSentiment: positive\n\n"
        "Review: X\nSentiment:"
    )


def test_demo_without_answer_line() -> None:
    layout = parse_body(BODIES[4])
    assert layout.demo_texts([({"text": "cheese"}, "fromage")]) == [
        "Translate to French: cheese\nfromage"
    ]
    assert layout.with_answer_line("Answer:").answer_line == "Answer:"


@pytest.mark.parametrize("text", ["plain", "a {{ b }} c", "{% endraw %} {{ x }}", "{#c#}"])
def test_jinja_literal_renders_to_itself(text: str) -> None:
    assert TemplateEngine().compile(jinja_literal(text)).render({}) == text
