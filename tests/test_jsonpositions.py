"""Lines of the objects and keys of a JSON list (for chat prompt file errors)."""

from __future__ import annotations

from promptwork.jsonpositions import json_lines


def test_each_object_and_key_has_its_line() -> None:
    raw = ('[\n  {"role": "system",\n   "content":\n     "Be brief."},\n'
           '  {"role": "user", "content": "Hi"}\n]')
    assert json_lines(raw) == [
        (2, {"role": (2, 2), "content": (3, 4)}),
        (5, {"role": (5, 5), "content": (5, 5)}),
    ]


def test_not_a_list_or_broken_text_gives_what_was_found() -> None:
    assert json_lines('{"role": "user"}') == []
    assert json_lines('[{"role": "user"}, {"role": ') == [(1, {"role": (1, 1)})]
