"""``promptwork run``: output through click's runner, exit codes through ``main()``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

import promptwork.cli.run as cli_run
from fakeserver import FakeServer, Fault
from promptwork.api import prepare as api_prepare
from promptwork.cli.main import cli, main
from promptwork.cli.run import parse_assignments
from promptwork.errors import ConfigError
from promptwork.secrets import KEY_VARS

ESC = "\x1b"


@pytest.fixture(autouse=True)
def isolated(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for names in KEY_VARS.values():
        for name in names:
            monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("PROMPTWORK_CONFIG", str(tmp_path / "absent.toml"))
    monkeypatch.chdir(tmp_path)


def invoke(*args: str) -> Result:
    result = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    return result


def run_main(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def seen_params(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    """The ``params`` the command hands to ``prepare`` (the real prepare still runs)."""
    seen: list[dict[str, Any]] = []
    real = api_prepare

    def spy(template: Any, values: Any, model: Any, params: Any = None) -> Any:
        seen.append(params)
        return real(template, values, model, params=params)

    monkeypatch.setattr(cli_run, "prepare", spy)
    return seen


# --- success ---------------------------------------------------------------------------------


def test_run_echo_with_variable() -> None:
    result = invoke("run", "Hello {{ name }}", "-m", "echo", "-v", "name=Ada")
    assert result.exit_code == 0
    assert result.stdout == "Hello Ada\n"
    assert "echo: 0+0 tokens" in result.stderr
    assert "finish: stop" in result.stderr


def test_exit_code_zero_on_success(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run_main(capsys, "run", "Hello {{ name }}", "-m", "echo", "-v", "name=Ada")
    assert (code, out) == (0, "Hello Ada\n")


def test_variable_values_keep_equals_signs_and_are_literal() -> None:
    result = invoke("run", "[{{ x }}]", "-m", "echo", "-v", "x=a=b {{ 7*7 }}")
    assert result.stdout == "[a=b {{ 7*7 }}]\n"


def test_no_stream_gives_same_text() -> None:
    result = invoke("run", "Hi {{ n }}", "-m", "echo", "-v", "n=1", "--no-stream")
    assert result.exit_code == 0
    assert result.stdout == "Hi 1\n"


def test_show_prompt_goes_to_stderr() -> None:
    result = invoke("run", "Hi {{ n }}", "-m", "echo", "-v", "n=1", "--show-prompt")
    assert json.loads(result.stderr.split("\necho:")[0]) == [{"role": "user", "content": "Hi 1"}]
    assert result.stdout == "Hi 1\n"


def test_vars_from_yaml_file(tmp_path: Path) -> None:
    (tmp_path / "vars.yaml").write_text("name: Ada\nproduct: the Nimbus kettle\n")
    result = invoke("run", "{{ name }} bought {{ product }}", "-m", "echo", "--vars", "vars.yaml")
    assert result.stdout == "Ada bought the Nimbus kettle\n"


def test_vars_from_json_file_and_v_overrides(tmp_path: Path) -> None:
    (tmp_path / "vars.json").write_text(json.dumps({"name": "Ada", "n": 3}))
    result = invoke(
        "run", "{{ name }} x{{ n }}", "-m", "echo", "--vars", "vars.json", "-v", "name=Bob"
    )
    assert result.stdout == "Bob x3\n"


def test_prompt_file_with_front_matter(tmp_path: Path) -> None:
    (tmp_path / "greet.prompt").write_text(
        "---\nname: greet\ninputs:\n  tone: {default: warm}\n---\n"
        "system:\nBe {{ tone }}.\n\nuser:\nHi {{ who }}\n"
    )
    result = invoke("run", "greet.prompt", "-m", "echo", "-v", "who=Ada", "--no-stream")
    assert json.loads(result.stdout) == [
        {"role": "system", "content": "Be warm."},
        {"role": "user", "content": "Hi Ada"},
    ]


def test_typed_params(seen_params: list[dict[str, Any]]) -> None:
    result = invoke(
        "run", "Hi", "-m", "echo", "-p", "max_tokens=3", "-p", "stop=END", "-p",
        "temperature=0.2", "-p", "seed=7",
    )
    assert result.exit_code == 0
    (params,) = seen_params
    assert params == {"max_tokens": 3, "stop": "END", "temperature": 0.2, "seed": 7}
    assert type(params["max_tokens"]) is int
    assert type(params["temperature"]) is float


def test_param_list_value(seen_params: list[dict[str, Any]]) -> None:
    invoke("run", "Hi", "-m", "echo", "-p", "stop=[a, '###']")
    assert seen_params == [{"stop": ["a", "###"]}]


def test_parse_assignments() -> None:
    assert parse_assignments(("a=1", "b= x ", "c="), "variable", typed=False) == {
        "a": "1", "b": " x ", "c": "",
    }
    assert parse_assignments(("a=1", "b=true", "c=1.5"), "parameter", typed=True) == {
        "a": 1, "b": True, "c": 1.5,
    }
    with pytest.raises(ConfigError, match="should look like name=value"):
        parse_assignments(("novalue",), "variable", typed=False)
    with pytest.raises(ConfigError, match="should look like name=value"):
        parse_assignments(("=1",), "parameter", typed=True)


def test_side_by_side() -> None:
    result = invoke("run", "Hello {{ who }}", "-m", "echo", "-m", "echo", "-v", "who=Ada")
    assert result.exit_code == 0
    assert result.stdout.count("Hello Ada") == 2
    assert result.stdout.count("echo: 0+0 tokens") == 2


def test_json_output_single() -> None:
    result = invoke("run", "Hello {{ who }}", "-m", "echo", "-v", "who=Ada", "--json")
    assert result.exit_code == 0
    record = json.loads(result.stdout)
    assert record["text"] == "Hello Ada"
    assert record["provider"] == "echo"
    assert isinstance(record["latency_ms"], float | int) and record["latency_ms"] >= 0
    assert record["prompt_tokens"] == 0
    assert record["finish_reason"] == "stop"
    assert record["cached"] is False


def test_json_output_several_models() -> None:
    result = invoke("run", "Hi", "-m", "echo", "-m", "scripted", "--json")
    records = json.loads(result.stdout)
    assert [(r["provider"], r["text"]) for r in records] == [("echo", "Hi"), ("scripted", "ok")]
    assert all({"text", "provider", "latency_ms", "prompt_tokens"} <= set(r) for r in records)


def test_help_and_version_exit_zero(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run_main(capsys, "run", "--help")
    assert code == 0 and "--vars" in out
    code, out, _ = run_main(capsys, "--version")
    assert code == 0 and "promptwork, version" in out


# --- bad input: exit code 2 and a clear message, nothing called -------------------------------


def test_missing_variable(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run_main(capsys, "run", "Hello {{ name }} {{ x }}", "-m", "echo", "-v", "x=1")
    assert code == 2
    assert out == ""
    assert "error: missing variable: name" in err
    assert "-v name=value" in err


def test_unknown_parameter(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run_main(capsys, "run", "Hi", "-m", "echo", "-p", "temprature=1")
    assert code == 2
    assert "unknown parameter" in err and "temprature" in err
    assert "temperature" in err


def test_bad_parameter_value(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run_main(capsys, "run", "Hi", "-m", "echo", "-p", "max_tokens=0")
    assert code == 2
    assert "max_tokens" in err


def test_unknown_provider(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run_main(capsys, "run", "Hi", "-m", "ech")
    assert code == 2
    assert out == ""
    assert "unknown provider 'ech' (did you mean 'echo'?)" in err
    assert "known providers:" in err


def test_errors_come_before_any_call(capsys: pytest.CaptureFixture[str]) -> None:
    # The first model is fine, the second is not: nothing runs, nothing is printed to stdout.
    code, out, err = run_main(capsys, "run", "Hi", "-m", "echo", "-m", "nope:x")
    assert code == 2
    assert out == ""
    assert "unknown provider 'nope'" in err


@pytest.mark.parametrize(
    ("front", "where", "what"),
    [
        ("---\nname: x\nmodle: echo\n---\nHi\n", ":3: ", "unknown front matter key 'modle'"),
        ("---\nname: x\nparams: {temprature: 1}\n---\nHi\n", ":3: ", "temprature"),
        ("---\nname: x\n\tmodel: echo\n---\nHi\n", ":3: ", "tab"),
        ("---\nname: [x\n---\nHi\n", ":", "invalid YAML"),
        ("---\nname: x\nHi\n", ":1: ", "never closed"),
    ],
)
def test_malformed_front_matter(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, front: str, where: str, what: str
) -> None:
    (tmp_path / "bad.prompt").write_text(front)
    code, out, err = run_main(capsys, "run", "bad.prompt", "-m", "echo")
    assert code == 2
    assert out == ""
    assert f"error: {tmp_path / 'bad.prompt'}{where}" in err
    assert what in err


def test_template_syntax_error_has_line(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    (tmp_path / "t.prompt").write_text("---\nname: t\n---\nline one\nHi {{ x \n")
    code, _, err = run_main(capsys, "run", "t.prompt", "-m", "echo", "-v", "x=1")
    assert code == 2
    assert f"{tmp_path / 't.prompt'}:5: " in err


def test_missing_vars_file(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run_main(capsys, "run", "Hi", "-m", "echo", "--vars", "nope.yaml")
    assert code == 2
    assert "nope.yaml: cannot read vars file" in err


def test_vars_file_must_be_a_mapping(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    (tmp_path / "v.yaml").write_text("- a\n- b\n")
    code, _, err = run_main(capsys, "run", "Hi", "-m", "echo", "--vars", "v.yaml")
    assert code == 2
    assert "mapping" in err


def test_invalid_json_vars_file(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    (tmp_path / "v.json").write_text('{\n  "a": 1,\n}\n')
    code, _, err = run_main(capsys, "run", "Hi", "-m", "echo", "--vars", "v.json")
    assert code == 2
    assert "v.json:3: invalid JSON" in err


def test_click_usage_error_is_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run_main(capsys, "run")
    assert code == 2
    assert "Missing argument" in err


def test_error_text_is_not_read_as_markup(capsys: pytest.CaptureFixture[str]) -> None:
    # Messages are printed literally: Rich markup or emoji codes in them stay as they are.
    code, _, err = run_main(capsys, "run", "Hi", "-m", "echo", "--vars", "[/]:x:[bold].yaml")
    assert code == 2
    assert "[/]:x:[bold].yaml" in err


# --- terminal safety (reliability item 22) -----------------------------------------------------


@pytest.mark.parametrize("flags", [[], ["--no-stream"], ["-m", "echo"]])
def test_ansi_escapes_in_output_are_neutralised(flags: list[str]) -> None:
    result = invoke("run", "Hi {{ x }}", "-m", "echo", "-v", f"x={ESC}[31mred{ESC}[0m\x07", *flags)
    assert result.exit_code == 0
    assert ESC not in result.stdout and "\x07" not in result.stdout
    assert "\\x1b[31mred\\x1b[0m\\x07" in result.stdout
    assert ESC not in result.stderr


def test_ansi_escapes_in_json_output_are_escaped() -> None:
    result = invoke("run", "Hi {{ x }}", "-m", "echo", "-v", f"x={ESC}[2J", "--json")
    assert ESC not in result.stdout
    assert json.loads(result.stdout)["text"] == f"Hi {ESC}[2J"


def test_markup_in_model_output_is_shown_literally() -> None:
    value = "[/] :x: [red]r[/red]"
    result = invoke("run", "Hi {{ x }}", "-m", "echo", "-m", "echo", "-v", f"x={value}")
    assert result.exit_code == 0
    assert result.stdout.count(f"Hi {value}") == 2


def test_ansi_escapes_in_error_messages_are_neutralised(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, _, err = run_main(capsys, "run", "Hi", "-m", "echo", "--vars", f"{ESC}[2J.yaml")
    assert code == 2
    assert ESC not in err
    assert "\\x1b[2J.yaml" in err


#: C1 controls (DCS, CSI, ST, OSC, NEL) and bidi overrides / isolates (reliability, issue 17).
UNSAFE = "\x90\x9b31m\x9c\x9d0;t\x85\u202eevil\u202c\u2066x\u2069\u200f"


_ACTIVE = {chr(c) for c in (*range(0x80, 0xA0), 0x61C, 0x200E, 0x200F, *range(0x202A, 0x202F),
                            *range(0x2066, 0x206A))}


def _no_unsafe(text: str) -> None:
    assert not set(text) & _ACTIVE, ascii(text)


@pytest.mark.parametrize("flags", [[], ["--no-stream"], ["-m", "echo"]])
def test_c1_controls_and_bidi_overrides_in_output_are_neutralised(flags: list[str]) -> None:
    result = invoke("run", "Hi {{ x }}", "-m", "echo", "-v", f"x={UNSAFE}", *flags)
    assert result.exit_code == 0
    _no_unsafe(result.stdout)
    _no_unsafe(result.stderr)
    assert "\\x90\\x9b31m\\x9c\\x9d0;t\\x85\\u202eevil\\u202c" in result.stdout


def test_c1_and_bidi_in_a_server_error_body_are_neutralised(
    capsys: pytest.CaptureFixture[str], fake_server: FakeServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-fake-0123456789")
    monkeypatch.setenv("OPENAI_BASE_URL", fake_server.base_url)
    for flags in ([], ["--no-stream"], ["-m", "openai:chat:m"]):
        fake_server.push(Fault(status=400, body={"error": {"message": f"bad {UNSAFE} request"}}))
        code, out, err = run_main(capsys, "run", "Hi", "-m", "openai:chat:m", *flags)
        assert code == 1, err
        _no_unsafe(out + err)
        assert "\\u202eevil" in out + err


def test_deeply_nested_prompt_is_a_template_error_with_line(
    capsys: pytest.CaptureFixture[str], tmp_path: Path,
) -> None:
    sources = {
        "for": "".join(f"{{% for x{i} in [1] %}}" for i in range(21)) + "{% endfor %}" * 21,
        "if": "{% if true %}" * 99 + "x" + "{% endif %}" * 99,
        "parens": "{{ " + "(" * 300 + "1" + ")" * 300 + " }}",
    }
    for name, source in sources.items():
        (tmp_path / f"{name}.prompt").write_text(f"line one\n{source}\n")
        code, _, err = run_main(capsys, "run", f"{name}.prompt", "-m", "echo")
        assert code == 2, err
        assert f"{name}.prompt:2:" in err and "nested too deeply" in err
        assert "Traceback" not in err


# --- model failures: exit code 1, the other models' answers still shown ------------------------


@pytest.fixture
def failing_model(monkeypatch: pytest.MonkeyPatch) -> None:
    """``-m fail`` is a model whose call fails with a server error."""
    from promptwork.errors import ProviderError
    from promptwork.providers.scripted import ScriptedProvider

    real = api_prepare

    def prepare(template: Any, values: Any, model: Any, params: Any = None) -> Any:
        if model == "fail":
            model = ScriptedProvider([ProviderError("upstream broke", kind="server", status=503)],
                                     id="fail")
        return real(template, values, model, params=params)

    monkeypatch.setattr(cli_run, "prepare", prepare)


@pytest.mark.usefixtures("failing_model")
@pytest.mark.parametrize("flags", [[], ["--no-stream"]])
def test_failed_call_exit_1(capsys: pytest.CaptureFixture[str], flags: list[str]) -> None:
    code, _, err = run_main(capsys, "run", "Hi", "-m", "fail", *flags)
    assert code == 1
    assert "model call failed: server (HTTP 503): upstream broke" in err


@pytest.mark.usefixtures("failing_model")
def test_failed_call_in_json_exit_1(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run_main(capsys, "run", "Hi", "-m", "echo", "-m", "fail", "--json")
    assert code == 1
    ok, failed = json.loads(out)
    assert ok["text"] == "Hi"
    assert failed == {"provider": "fail", "error": "server (HTTP 503): upstream broke"}


@pytest.mark.usefixtures("failing_model")
def test_failed_call_side_by_side_exit_1(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "250")  # no wrapping inside cells
    code, out, _ = run_main(capsys, "run", "Hi", "-m", "echo", "-m", "fail")
    assert code == 1
    assert "Hi" in out
    assert "ERROR server (HTTP 503): upstream broke" in out
