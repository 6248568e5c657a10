"""Sandboxed templates: strict variables, literal values, sandbox escapes, bombs, line numbers."""

from __future__ import annotations

import threading
import time
from types import MappingProxyType
from typing import Any

import pytest

from promptwork.errors import ConfigError, MissingVariableError, TemplateError
from promptwork.templates import RenderLimits, Template, TemplateEngine


@pytest.fixture(scope="module")
def engine() -> TemplateEngine:
    return TemplateEngine()


@pytest.fixture(scope="module")
def fast() -> TemplateEngine:
    """An engine with a short time limit, for the bomb tests."""
    return TemplateEngine(RenderLimits(seconds=0.2))


def render(engine: TemplateEngine, source: str, values: dict[str, Any] | None = None) -> str:
    return engine.compile(source, "t.prompt").render(values or {})


def render_error(
    engine: TemplateEngine, source: str, values: dict[str, Any] | None = None, first_line: int = 1
) -> TemplateError:
    template = engine.compile(source, "t.prompt", first_line)
    with pytest.raises(TemplateError) as info:
        template.render(values or {})
    return info.value


# --- ordinary rendering -------------------------------------------------------------------


def test_renders_variables(engine: TemplateEngine) -> None:
    assert render(engine, "Hello {{ name }}!", {"name": "Ada"}) == "Hello Ada!"


def test_constant_template_renders_without_values(engine: TemplateEngine) -> None:
    template = engine.compile("Just text.\nNo variables.\n")
    assert template.variables == frozenset()
    assert template.render({}) == "Just text.\nNo variables.\n"
    assert engine.compile("{# note #}{% raw %}{{ x }}{% endraw %}").render({}) == "{{ x }}"
    assert engine.compile("").render({}) == ""


def test_trailing_newline_and_no_autoescape(engine: TemplateEngine) -> None:
    assert render(engine, "{{ x }}\n", {"x": "<b>&</b>"}) == "<b>&</b>\n"


def test_values_may_be_any_mapping(engine: TemplateEngine) -> None:
    template = engine.compile("{{ a }}-{{ b }}")
    assert template.render(MappingProxyType({"a": 1, "b": 2})) == "1-2"


def test_common_features_still_work(engine: TemplateEngine) -> None:
    source = (
        "{% for item in items %}{{ loop.index }}/{{ loop.length }}:{{ item|upper }}"
        "{% if not loop.last %}, {% endif %}{% endfor %}|"
        "{{ 'a' ~ 'b' ~ 3 }}|{{ 2 + 3 }}|{{ 'ab' + 'cd' }}|{{ 'x' * 3 }}|{{ 2 ** 10 }}|"
        "{{ range(3)|list }}|{{ range(4)|length }}|{{ words|join(', ') }}|"
        "{{ 'a-b'|replace('-', '+') }}|{{ 'ab'|center(6) }}|{{ '%05.1f'|format(2.5) }}|"
        "{{ '%s=%d' % ('n', 4) }}|{{ '{}:{:>4}'.format('k', 7) }}|{{ ' x '.strip().upper() }}|"
        "{{ data|tojson }}|{{ 'a\nb'|indent(2) }}|{{ 7 % 3 }}|"
        "{% set ns = namespace(total=0) %}{% for n in [1, 2, 3] %}"
        "{% set ns.total = ns.total + n %}{% endfor %}{{ ns.total }}|"
        "{% macro greet(who) %}hi {{ who }}{% endmacro %}{{ greet('you') }}|"
        "{{ [1, 2, 3]|batch(2)|list }}|{{ 'long text here'|wordwrap(5) }}"
    )
    values = {"items": ["a", "b"], "words": ["x", "y"], "data": {"k": [1, 2]}}
    assert render(engine, source, values) == (
        "1/2:A, 2/2:B|ab3|5|abcd|xxx|1024|[0, 1, 2]|4|x, y|a+b|  ab  |002.5|n=4|k:   7|X|"
        '{"k": [1, 2]}|a\n  b|1|6|hi you|[[1, 2], [3]]|long\ntext\nhere'
    )


def test_for_else_and_recursive_loops(engine: TemplateEngine) -> None:
    source = (
        "{% for x in [] %}x{% else %}empty{% endfor %}|"
        "{% for node in tree recursive %}{{ node.name }}"
        "{% if node.children %}({{ loop(node.children) }}){% endif %}{% endfor %}"
    )
    tree = [{"name": "a", "children": [{"name": "b", "children": []}]}]
    assert render(engine, source, {"tree": tree}) == "empty|a(b)"


def test_lipsum_within_bounds(engine: TemplateEngine) -> None:
    assert len(render(engine, "{{ lipsum(1, false, 5, 10) }}")) > 10


# --- values are data, never templates -----------------------------------------------------


@pytest.mark.parametrize(
    "value",
    [
        "{{7*7}}",
        "{% for %}",
        "{{ ''.__class__.__mro__ }}",
        "{# comment #}",
        "{% raw %}",
        "{{ x }}{% if %}",
    ],
)
def test_values_are_inserted_literally(engine: TemplateEngine, value: str) -> None:
    assert render(engine, "[{{ v }}]", {"v": value}) == f"[{value}]"
    assert render(engine, "{% for x in xs %}{{ x }}{% endfor %}", {"xs": [value]}) == value
    assert render(engine, "{{ d.k }}", {"d": {"k": value}}) == value


# --- missing variables --------------------------------------------------------------------


def test_missing_variables_are_named(engine: TemplateEngine) -> None:
    template = engine.compile("{{ greeting }}, {{ name }}!\n{{ extra }}", "p.prompt", 5)
    assert template.variables == {"greeting", "name", "extra"}
    with pytest.raises(MissingVariableError) as info:
        template.render({"name": "Ada"})
    err = info.value
    assert err.names == ["extra", "greeting"]
    assert "missing variables: extra, greeting" in str(err)
    assert err.path == "p.prompt"
    assert err.line == 5
    with pytest.raises(MissingVariableError) as info:
        template.render({"name": "Ada", "greeting": "Hi"})
    assert info.value.names == ["extra"]
    assert info.value.line == 6
    assert "missing variable: extra" in str(info.value)


def test_missing_variable_is_a_template_and_config_error(engine: TemplateEngine) -> None:
    err = render_error(engine, "{{ x }}")
    assert isinstance(err, MissingVariableError)
    assert isinstance(err, ConfigError)


def test_loop_and_set_variables_are_not_inputs(engine: TemplateEngine) -> None:
    template = engine.compile(
        "{% set y = 1 %}{% for i in items %}{{ i }}{{ y }}{% endfor %}{{ range(1)|list }}"
    )
    assert template.variables == {"items"}


def test_guarded_variables_are_optional(engine: TemplateEngine) -> None:
    template = engine.compile(
        "{% if context is defined %}Context: {{ context }}\n{% endif %}"
        "{{ tone|default('warm') }} {{ question }}"
    )
    assert template.variables == {"context", "tone", "question"}
    assert template.required == {"question"}
    assert template.render({"question": "Why?"}) == "warm Why?"
    assert template.render({"question": "Q", "context": "C", "tone": "dry"}) == (
        "Context: C\ndry Q"
    )


def test_optional_variable_used_unguarded_fails_when_missing(engine: TemplateEngine) -> None:
    template = engine.compile("{% if x is defined %}{% endif %}\n{{ x }}", "o.prompt", 3)
    with pytest.raises(MissingVariableError) as info:
        template.render({})
    assert info.value.names == ["x"]
    assert info.value.line == 4


def test_undefined_attribute_is_a_clear_error(engine: TemplateEngine) -> None:
    err = render_error(engine, "\n{{ row.nope }}", {"row": {"a": 1}})
    assert not isinstance(err, MissingVariableError)
    assert "undefined value" in err.message
    assert "nope" in err.message
    assert err.line == 2


# --- the sandbox --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "source",
    [
        "{{ ''.__class__ }}",
        "{{ ''.__class__.__mro__[1].__subclasses__() }}",
        "{{ cycler.__init__.__globals__ }}",
        "{{ joiner.__init__.__globals__.os }}",
        "{{ namespace.__init__.__globals__ }}",
        "{{ lipsum.__globals__ }}",
        "{{ range.__self__ }}",
        "{{ self.__init__.__globals__ }}",
        "{{ 'a'|attr('__class__') }}",
        "{{ ('{0.__class__}'|attr('format'))('') }}",
        "{{ '{0.__class__.__base__}'.format('') }}",
        "{{ '{x.__class__}'.format_map({'x': 1}) }}",
        "{% set f = '{0.__class__}'.format %}{{ f('') }}",
        "{{ [1]|map('attr', '__class__')|first }}",
    ],
)
def test_sandbox_escapes_raise_a_clear_error(engine: TemplateEngine, source: str) -> None:
    err = render_error(engine, "line one\n" + source, first_line=10)
    assert "sandbox violation" in err.message
    assert "unsafe" in err.message
    assert err.path == "t.prompt"
    assert err.line == 11


def test_printing_a_function_is_an_error(engine: TemplateEngine) -> None:
    # Jinja 3.1.6 returns a sandboxed str.format for |attr('format'); printing it is refused
    # rather than leaking a repr, and calling it to reach internals is a sandbox violation.
    err = render_error(engine, "{{ 'a'|attr('format') }}")
    assert "cannot insert the function" in err.message
    err = render_error(engine, "{{ name.upper }}", {"name": "ada"})
    assert "str.upper" in err.message
    err = render_error(engine, "{{ cycler }}")
    assert "cannot insert" in err.message


def test_immutable_sandbox_blocks_mutation(engine: TemplateEngine) -> None:
    items = [1, 2]
    err = render_error(engine, "{{ items.append(3) }}", {"items": items})
    assert "sandbox violation" in err.message
    assert items == [1, 2]


# --- time and size limits -----------------------------------------------------------------


def _timed_error(engine: TemplateEngine, source: str, **values: Any) -> tuple[TemplateError, float]:
    template = engine.compile(source, "bomb.prompt")
    start = time.perf_counter()
    with pytest.raises(TemplateError) as info:
        template.render(values)
    return info.value, time.perf_counter() - start


def test_nested_loop_bomb_stops_at_the_time_limit(fast: TemplateEngine) -> None:
    err, elapsed = _timed_error(
        fast,
        "{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}",
    )
    assert "time limit" in err.message
    assert err.path == "bomb.prompt"
    assert 0.15 < elapsed < 5.0  # stopped by the limit, not run to the end


def test_loops_over_values_are_timed_too(fast: TemplateEngine) -> None:
    err, elapsed = _timed_error(
        fast, "{% for a in s %}{% for b in s %}{% endfor %}{% endfor %}", s="x" * 100_000
    )
    assert "time limit" in err.message
    assert elapsed < 5.0


def test_exponential_macro_stops_at_the_time_limit(fast: TemplateEngine) -> None:
    err, elapsed = _timed_error(
        fast,
        "{% macro f(n) %}{% if n %}{{ f(n - 1) }}{{ f(n - 1) }}{% else %}x{% endif %}"
        "{% endmacro %}{{ f(60) }}",
    )
    assert "time limit" in err.message
    assert elapsed < 5.0


def test_time_limit_does_not_leak_into_the_next_render(fast: TemplateEngine) -> None:
    _timed_error(fast, "{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}"
                       "{% endfor %}")
    assert fast.compile("{% for i in range(1000) %}{% endfor %}ok").render({}) == "ok"


def test_infinite_recursion_is_an_error(engine: TemplateEngine) -> None:
    err = render_error(engine, "{% macro f() %}{{ f() }}{% endmacro %}{{ f() }}")
    assert "recursion" in err.message


def test_output_size_limit() -> None:
    small = TemplateEngine(RenderLimits(max_chars=1000))
    err = render_error(small, "{% for i in range(200) %}0123456789{% endfor %}")
    assert "size limit" in err.message
    assert render(small, "{% for i in range(100) %}0123456789{% endfor %}") == "0123456789" * 100
    err = render_error(small, "{{ doc }}", {"doc": "x" * 1001})
    assert "size limit" in err.message


def test_range_limit(engine: TemplateEngine) -> None:
    err = render_error(engine, "{% for i in range(100001) %}{% endfor %}")
    assert "range() of 100,001 items" in err.message


@pytest.mark.parametrize(
    "source",
    [
        "{{ 'x' * 100000000 }}",
        "{{ 100000000 * 'x' }}",
        "{{ [0] * 100000000 }}",
        "{{ ('x' * 1000) * 100000 }}",
        "{% set ns = namespace(s='x') %}{% for i in range(64) %}"
        "{% set ns.s = ns.s ~ ns.s %}{% endfor %}",
        "{% set ns = namespace(s='x') %}{% for i in range(64) %}"
        "{% set ns.s = ns.s + ns.s %}{% endfor %}",
        "{% set ns = namespace(s=[0]) %}{% for i in range(64) %}"
        "{% set ns.s = ns.s + ns.s %}{% endfor %}",
        "{{ 'x'|center(10000000000) }}",
        "{{ 'x'.center(10000000000) }}",
        "{{ 'x'.ljust(10000000000) }}",
        "{{ '1'.zfill(10000000000) }}",
        "{{ ('\t' * 1000).expandtabs(100000) }}",
        "{{ ('x' * 1000)|replace('x', 'y' * 100000) }}",
        "{{ ('x' * 1000).replace('x', 'y' * 100000) }}",
        "{{ range(100000)|join('x' * 1000) }}",
        "{{ ('x' * 1000).join(range(100000)|map('string')) }}",
        "{{ ('x' * 1000).translate({120: 'y' * 10000}) }}",
        "{{ ('x\n' * 1000)|indent(100000) }}",
        "{{ ('x ' * 1000)|wordwrap(1, wrapstring='y' * 100000) }}",
        "{{ '{:>10000000000}'.format('x') }}",
        "{{ '{:.10000000000f}'.format(1.5) }}",
        "{{ '{:{w}}'.format('x', w=10000000000) }}",
        "{{ '%10000000000s' % 'x' }}",
        "{{ '%*s' % (10000000000, 'x') }}",
        "{{ '%10000000000s'|format('x') }}",
        "{{ [1]|batch(1000000000, 0)|list|length }}",
        "{{ [1]|slice(1000000000)|list|length }}",
        "{{ {'a': 1}|tojson(indent=100000000) }}",
        "{{ lipsum(100000000) }}",
    ],
)
def test_size_bombs_are_refused_before_building(engine: TemplateEngine, source: str) -> None:
    start = time.perf_counter()
    err = render_error(engine, source)
    assert time.perf_counter() - start < 5.0
    assert "limit" in err.message or "not allowed" in err.message
    assert err.path == "t.prompt"


@pytest.mark.parametrize(
    "source",
    ["{{ 2 ** 10000000 }}", "{{ (10 ** 1000) ** 1000 }}", "{{ 10 ** 100000 * 10 ** 100000 }}"],
)
def test_power_bombs_are_refused(engine: TemplateEngine, source: str) -> None:
    start = time.perf_counter()
    err = render_error(engine, source)
    assert time.perf_counter() - start < 5.0
    assert "bit" in err.message


def test_moderate_arithmetic_is_allowed(engine: TemplateEngine) -> None:
    assert render(engine, "{{ 2 ** 100 }}") == str(2**100)
    assert render(engine, "{{ (2 ** 0.5)|round(3) }}") == "1.414"


# --- errors and line numbers --------------------------------------------------------------


def test_syntax_error_carries_path_and_line(engine: TemplateEngine) -> None:
    with pytest.raises(TemplateError) as info:
        engine.compile("line 1\nline 2\n{% for x in %}\n", "s.prompt")
    err = info.value
    assert err.path == "s.prompt"
    assert err.line == 3
    assert err.message.startswith("template syntax error")
    assert str(err).startswith("s.prompt:3: ")


def test_syntax_error_line_is_offset_by_first_line(engine: TemplateEngine) -> None:
    with pytest.raises(TemplateError) as info:
        engine.compile("ok\n{{ x }\n", "s.prompt", first_line=8)
    assert info.value.line == 9


def test_unclosed_block_error(engine: TemplateEngine) -> None:
    with pytest.raises(TemplateError) as info:
        engine.compile("a\n{% if x %}\nb\n", "s.prompt", first_line=4)
    assert info.value.line is not None and info.value.line >= 5
    assert "endif" in info.value.message


def test_unknown_filter_is_a_compile_error(engine: TemplateEngine) -> None:
    with pytest.raises(TemplateError) as info:
        engine.compile("a\n{{ x|nosuchfilter }}", "s.prompt", first_line=3)
    assert info.value.line == 4
    assert "nosuchfilter" in info.value.message


def test_one_line_sources_report_their_line(engine: TemplateEngine) -> None:
    with pytest.raises(TemplateError) as info:
        engine.compile("a\nb\n{{ x }", "c.json", first_line=7, one_line=True)
    assert info.value.line == 7
    assert "line 3 of the text" in info.value.message
    template = engine.compile("a\n{{ 1 // x }}", "c.json", first_line=7, one_line=True)
    with pytest.raises(TemplateError) as err:
        template.render({"x": 0})
    assert err.value.line == 7


def test_runtime_error_line_numbers(engine: TemplateEngine) -> None:
    source = "first\nsecond {{ a }}\n{% for i in items %}\n  {{ 10 // i }}\n{% endfor %}\n"
    err = render_error(engine, source, {"a": 1, "items": [1, 0]}, first_line=20)
    assert err.line == 23
    assert "ZeroDivisionError" in err.message
    err = render_error(engine, source, {"a": 1, "items": [1, 0]})
    assert err.line == 4


def test_runtime_error_inside_a_macro(engine: TemplateEngine) -> None:
    source = "{% macro m(v) %}\n{{ v.missing }}\n{% endmacro %}\n\n{{ m(row) }}"
    err = render_error(engine, source, {"row": {}}, first_line=1)
    assert err.line == 2


def test_other_runtime_errors_are_template_errors(engine: TemplateEngine) -> None:
    err = render_error(engine, "{{ '{}'.format() }}")
    assert "IndexError" in err.message
    err = render_error(engine, "{% if x %}{{ y|nosuch }}{% endif %}", {"x": 1, "y": 2})
    assert "nosuch" in err.message
    err = render_error(engine, "{{ [1]|map('nosuch')|list }}")
    assert "nosuch" in err.message


def test_templates_are_reusable_and_thread_safe(engine: TemplateEngine) -> None:
    template: Template = engine.compile("{% for i in range(n) %}{{ i }}{% endfor %}")
    results: list[str] = []

    def work(n: int) -> None:
        for _ in range(50):
            results.append(template.render({"n": n}))

    threads = [threading.Thread(target=work, args=(n,)) for n in (3, 5)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(set(results)) == ["012", "01234"]
    assert len(results) == 100


# --- nesting too deep for Jinja's parser or Python's compiler -----------------------------------

DEEP_TEMPLATES = {
    # Python allows 20 statically nested loops: Jinja compiles each for to one.
    "for": "intro\n" + "".join(f"{{% for x{i} in [1] %}}" for i in range(21)) + "\nx"
           + "{% endfor %}" * 21,
    # Each if indents the generated code: Python allows 100 levels of indentation.
    "if": "intro\n" + "{% if true %}" * 99 + "\nx" + "{% endif %}" * 99,
    # Jinja's expression parser recurses a dozen frames per parenthesis.
    "parentheses": "intro\n{{ " + "(" * 300 + "1" + ")" * 300 + " }}",
}


@pytest.mark.parametrize("kind", sorted(DEEP_TEMPLATES))
def test_deeply_nested_templates_are_template_errors_with_line(
        engine: TemplateEngine, kind: str) -> None:
    with pytest.raises(TemplateError) as info:
        engine.compile(DEEP_TEMPLATES[kind], "deep.prompt", first_line=10)
    err = info.value
    assert "nested too deeply" in err.message
    assert err.path == "deep.prompt"
    assert err.line == 11  # the nesting is on the template's second line, the file's 11th


def test_deep_nesting_in_a_one_line_template_points_at_that_line(engine: TemplateEngine) -> None:
    with pytest.raises(TemplateError) as info:
        engine.compile(DEEP_TEMPLATES["parentheses"], "s.json", first_line=4, one_line=True)
    assert info.value.line == 4 and "line 2 of the text" in info.value.message


def test_nesting_within_the_limits_compiles(engine: TemplateEngine) -> None:
    source = "{% for a in [1] %}" * 15 + "{{ " + "(" * 30 + "7" + ")" * 30 + " }}" \
        + "{% endfor %}" * 15
    assert engine.compile(source, "ok.prompt").render({}) == "7"
