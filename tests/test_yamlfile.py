"""Safe YAML loading: tags, tabs, duplicate keys, alias bombs, line numbers."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from promptwork import yamlfile
from promptwork.errors import ConfigError
from promptwork.suite import load_suite
from promptwork.yamlfile import MAX_ALIASES, MAX_DEPTH, LineMap, did_you_mean, load_yaml


def _error(text: str, path: str | None = "suite.yaml", line_offset: int = 0) -> ConfigError:
    with pytest.raises(ConfigError) as info:
        load_yaml(text, path, line_offset)
    return info.value


# --- plain data and line maps -------------------------------------------------------------


def test_plain_data_and_line_map() -> None:
    text = (
        "name: demo\n"  # 1
        "prompts:\n"  # 2
        "  - file://a.txt\n"  # 3
        "  - id: b\n"  # 4
        "    raw: hello\n"  # 5
        "tests:\n"  # 6
        "  - vars:\n"  # 7
        "      city: Paris\n"  # 8
        "    assert:\n"  # 9
        "      - type: contains\n"  # 10
        "        value: Paris\n"  # 11
    )
    data, lines = load_yaml(text, "suite.yaml")
    assert data["prompts"][1] == {"id": "b", "raw": "hello"}
    assert data["tests"][0]["vars"]["city"] == "Paris"
    assert lines.path == "suite.yaml"
    assert lines.line_of(()) == 1
    assert lines.line_of(("name",)) == 1
    assert lines.line_of(("prompts",)) == 2
    assert lines.line_of(("prompts", 0)) == 3
    assert lines.line_of(("prompts", 1, "raw")) == 5
    assert lines.line_of(("tests", 0, "vars", "city")) == 8
    assert lines.line_of(("tests", 0, "assert", 0, "value")) == 11
    # Unknown keys fall back to their nearest known ancestor.
    assert lines.line_of(("tests", 0, "vars", "nope", 3)) == 7
    assert lines.line_of(("tests", 5)) == 6
    assert lines.line_of(("missing",)) == 1


def test_line_map_error_carries_file_and_line() -> None:
    _, lines = load_yaml("a:\n  b: 1\n", "x.yaml")
    err = lines.error(("a", "b"), "b is wrong")
    assert isinstance(err, ConfigError)
    assert (err.path, err.line) == ("x.yaml", 2)
    assert str(err) == "x.yaml:2: b is wrong"


def test_line_map_without_lines() -> None:
    assert LineMap(None, {}).line_of(("a", 0)) is None


def test_empty_document() -> None:
    data, lines = load_yaml("# only a comment\n", "e.yaml")
    assert data is None
    assert lines.line_of(("a",)) is None


def test_line_offset_shifts_lines_and_errors() -> None:
    data, lines = load_yaml("a: 1\nb:\n  c: 2\n", "p.prompt", line_offset=1)
    assert data == {"a": 1, "b": {"c": 2}}
    assert lines.line_of(("a",)) == 2
    assert lines.line_of(("b", "c")) == 4
    err = _error("a: 1\nb: [1,\n", "p.prompt", line_offset=1)
    assert err.path == "p.prompt"
    assert err.line is not None and err.line >= 3
    err = _error("a: 1\na: 2\n", "p.prompt", line_offset=10)
    assert err.line == 12
    assert "line 11" in err.message


def test_path_object_is_accepted() -> None:
    err = _error("a: [\n", Path("dir") / "s.yaml")  # type: ignore[arg-type]
    assert err.path == str(Path("dir") / "s.yaml")


# --- safety -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "tagged",
    [
        "!!python/object/apply:os.system ['touch {marker}']",
        "!!python/object/new:os.system ['touch {marker}']",
        "!!python/name:os.system",
        "!!python/object:os.PathLike {{}}",
        "!custom 1",
    ],
)
def test_python_tags_are_refused_without_running(tmp_path: Path, tagged: str) -> None:
    marker = tmp_path / "pwned"
    text = "safe: 1\nrun: " + tagged.format(marker=marker) + "\n"
    err = _error(text, "evil.yaml")
    assert err.path == "evil.yaml"
    assert err.line == 2
    assert "unsupported YAML tag" in err.message
    assert str(err).startswith("evil.yaml:2: ")
    assert not marker.exists()


def test_python_tag_on_a_key_is_refused() -> None:
    err = _error("a: 1\n!!python/name:os.system : 1\n")
    assert err.line == 2
    assert "unsupported YAML tag" in err.message


def test_tab_indentation_is_refused_with_line() -> None:
    err = _error("a:\n  b: 1\n\tc: 2\n")
    assert err.line == 3
    assert "tab" in err.message


def test_tab_indentation_after_spaces_is_refused() -> None:
    err = _error("a:\n  \tb: 1\n")
    assert err.line == 2
    assert "tab" in err.message


def test_tabs_inside_block_scalars_and_quotes_are_data() -> None:
    data, _ = load_yaml('code: |\n  def f():\n  \treturn 1\nq: "a\tb"\n')
    assert data == {"code": "def f():\n\treturn 1\n", "q": "a\tb"}


def test_duplicate_keys_name_both_lines() -> None:
    err = _error("a: 1\nb: 2\na: 3\n")
    assert err.line == 3
    assert "duplicate key 'a'" in err.message
    assert "first defined on line 1" in err.message


def test_nested_duplicate_keys() -> None:
    err = _error("tests:\n  - vars:\n      x: 1\n      y: 2\n      x: 3\n")
    assert err.line == 5
    assert "line 3" in err.message


def test_keys_that_load_equal_are_duplicates() -> None:
    err = _error("true: a\nTrue: b\n")
    assert err.line == 2
    assert "duplicate key True" in err.message


def test_keys_that_load_different_are_not_duplicates() -> None:
    data, lines = load_yaml("1: int\n'1': str\n")
    assert data == {1: "int", "1": "str"}
    assert lines.line_of((1,)) == 1
    assert lines.line_of(("1",)) == 2


def test_same_key_in_different_mappings_is_fine() -> None:
    data, _ = load_yaml("- a: 1\n- a: 2\n")
    assert data == [{"a": 1}, {"a": 2}]


BILLION_LAUGHS = (
    'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n'
    "b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\n"
    "c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]\n"
    "d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]\n"
    "e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]\n"
    "f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]\n"
    "g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]\n"
    "h: &h [*g,*g,*g,*g,*g,*g,*g,*g,*g]\n"
    "i: &i [*h,*h,*h,*h,*h,*h,*h,*h,*h]\n"
)


def test_billion_laughs_is_refused_quickly() -> None:
    start = time.perf_counter()
    err = _error(BILLION_LAUGHS, "bomb.yaml")
    assert time.perf_counter() - start < 5.0
    assert "alias bomb" in err.message
    assert err.path == "bomb.yaml"
    assert err.line is not None and 2 <= err.line <= 9


def _byte_bomb(levels: int = 4) -> str:
    """A ~20 KB document: one 20,000-character string, then lists of ten aliases of the level
    below. Few values (10**levels), but 20,000 * 10**levels characters once expanded."""
    text = 's: &s "' + "A" * 20_000 + '"\n'
    below = "s"
    for level in range(levels):
        name = f"l{level}"
        text += f"{name}: &{name} [" + ", ".join([f"*{below}"] * 10) + "]\n"
        below = name
    return text


def test_alias_bomb_measured_in_bytes_is_refused() -> None:
    text = _byte_bomb()
    assert len(text) < 21_000
    err = _error(text, "bytes.yaml")
    assert "alias bomb" in err.message and "MB of text" in err.message
    assert err.path == "bytes.yaml" and err.line == 5  # the list that crosses the limit


def test_aliases_to_long_text_within_the_byte_limit_load() -> None:
    data, _ = load_yaml(_byte_bomb(levels=2))
    assert len(data["l1"]) == 10 and data["l1"][9][9] == "A" * 20_000


def test_a_large_document_without_aliases_is_not_a_bomb(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(yamlfile, "MAX_EXPANDED_CHARS", 1000)
    data, _ = load_yaml("a: " + "x" * 5000 + "\nb: [" + ", ".join(["yy"] * 500) + "]\n")
    assert len(data["a"]) == 5000 and len(data["b"]) == 500
    err = _error("a: &a " + "x" * 5000 + "\nb: [*a, *a]\n")
    assert "alias bomb" in err.message and err.line == 2


def test_a_data_file_alias_bomb_is_refused_with_file_and_line(tmp_path: Path) -> None:
    (tmp_path / "bomb.yaml").write_text(
        "- vars: {q: hi}\n- vars:\n    q: &s \"" + "A" * 20_000 + "\"\n"
        + "".join(f"    l{i}: &l{i} [" + ", ".join([f"*{'s' if i == 0 else f'l{i - 1}'}"] * 10)
                  + "]\n" for i in range(4)))
    (tmp_path / "suite.yaml").write_text(
        "prompts: ['{{ q }}']\nproviders: [echo]\ntests: file://bomb.yaml\n")
    suite = load_suite(tmp_path / "suite.yaml")  # tests stream from their files
    with pytest.raises(ConfigError) as info:
        list(suite.tests)
    assert "alias bomb" in info.value.message
    assert info.value.path is not None and info.value.path.endswith("bomb.yaml")
    assert info.value.line == 7


def test_too_many_aliases_are_refused() -> None:
    text = "a: &a 1\nb: [" + ", ".join(["*a"] * (MAX_ALIASES + 1)) + "]\n"
    err = _error(text)
    assert "aliases" in err.message
    assert err.line == 2


def test_recursive_alias_is_refused() -> None:
    err = _error("x: 1\na: &a [1, *a]\n")
    assert "recursive alias" in err.message
    assert err.line == 2


def test_ordinary_anchors_and_merge_keys_load() -> None:
    tests = "".join(f"  - <<: *defaults\n    id: t{i}\n" for i in range(300))
    data, lines = load_yaml("defaults: &defaults\n  model: m\n  n: 1\ntests:\n" + tests)
    assert len(data["tests"]) == 300
    assert data["tests"][299] == {"model": "m", "n": 1, "id": "t299"}
    assert lines.line_of(("tests", 1, "id")) == 8


def test_undefined_alias_has_line() -> None:
    err = _error("a: 1\nb: *nope\n")
    assert err.line == 2
    assert "undefined alias" in err.message


# --- syntax errors ------------------------------------------------------------------------


def test_syntax_error_carries_line() -> None:
    err = _error("a: 1\nb: [1, 2\nc: 3\n", "s.yaml")
    assert err.path == "s.yaml"
    assert err.line == 3
    assert err.message.startswith("invalid YAML: ")
    assert "line 2" in err.message  # where the unclosed list started


def test_bad_indentation_error_line() -> None:
    err = _error("a:\n  b: 1\n c: 2\n")
    assert err.line == 3


def test_unclosed_quote_error() -> None:
    err = _error('a: "open\nb: 2\n')
    assert err.line is not None
    assert "invalid YAML" in err.message


def test_several_documents_are_refused() -> None:
    err = _error("a: 1\n---\nb: 2\n")
    assert err.line == 2
    assert "single document" in err.message


def test_unhashable_key_is_refused() -> None:
    err = _error("? [a, b]\n: 1\n")
    assert err.line == 1


def test_deep_nesting_is_refused_with_its_line() -> None:
    err = _error("a: 1\nb:\n" + "  - [" + "[" * 500 + "]" * 500 + "]\n")
    assert "nested too deeply" in err.message
    assert err.line == 3
    err = _error("x:\n" + "".join("  " * i + f"k{i}:\n" for i in range(1, 150)), "deep.yaml")
    assert "nested too deeply" in err.message and err.path == "deep.yaml"
    assert err.line == MAX_DEPTH  # the key k99, one level too deep


def test_nesting_within_the_limit_loads() -> None:
    data, _ = load_yaml("[" * (MAX_DEPTH - 1) + "1" + "]" * (MAX_DEPTH - 1))
    for _ in range(MAX_DEPTH - 2):
        data = data[0]
    assert data == [1]


def test_no_path_gives_bare_message() -> None:
    err = _error("a: [", None)
    assert err.path is None
    assert not str(err).startswith("None")


# --- did_you_mean -------------------------------------------------------------------------


def test_did_you_mean() -> None:
    assert did_you_mean("promts", ["prompts", "tests"]) == " (did you mean 'prompts'?)"
    assert did_you_mean("xyz", ["prompts", "tests"]) == ""
    assert did_you_mean("anything", []) == ""
    assert did_you_mean("tset", iter(["tests", "test"])) == " (did you mean 'test'?)"
