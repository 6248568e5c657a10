"""API keys: where they come from, and that they never reach output (reliability item 19)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

import promptwork.cli.run as cli_run
from promptwork.api import PreparedCall
from promptwork.cli.main import main
from promptwork.errors import ConfigError, ProviderError
from promptwork.prompts import load_prompt
from promptwork.providers.scripted import ScriptedProvider
from promptwork.secrets import KEY_VARS, Secrets, config_path, redact
from promptwork.types import Params, RenderedPrompt

# Fake keys shaped like the real ones.
OPENAI_KEY = "sk-proj-Fak3Key0000aaaaBBBBccccDDDD1234"
ANTHROPIC_KEY = "sk-ant-api03-Fak3Key_0000-aaaaBBBBcccc"
GOOGLE_KEY = "AIzaSyFak3Key0000aaaaBBBBccccDDDDeeee12"
BEARER = "Bearer eyFak3Token.0000aaaa-BBBB"
# A key with no recognisable shape: only known-value redaction can catch it.
PLAIN_KEY = "hunter2-correct-horse-battery"

SHAPED = (OPENAI_KEY, ANTHROPIC_KEY, GOOGLE_KEY, BEARER)


@pytest.fixture(autouse=True)
def isolated_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No real keys or user config leak into these tests."""
    for names in KEY_VARS.values():
        for name in names:
            monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("PROMPTWORK_CONFIG", str(tmp_path / "no-such-config.toml"))


def write_config(path: Path, text: str, mode: int = 0o600) -> Path:
    path.write_text(text, encoding="utf-8")
    os.chmod(path, mode)
    return path


# --- where keys come from -----------------------------------------------------------------------


def test_config_path_from_env(tmp_path: Path) -> None:
    assert config_path({"PROMPTWORK_CONFIG": "/x/c.toml"}) == Path("/x/c.toml")
    assert config_path({"XDG_CONFIG_HOME": "/cfg"}) == Path("/cfg/promptwork/config.toml")
    assert config_path({}) == Path.home() / ".config" / "promptwork" / "config.toml"


def test_environment_first_then_config_file(tmp_path: Path) -> None:
    config = write_config(
        tmp_path / "config.toml",
        '[keys]\nOPENAI_API_KEY = "from-file-123"\nANTHROPIC_API_KEY = "file-anthropic"\n',
    )
    secrets = Secrets(env={"OPENAI_API_KEY": "from-env-456"}, path=config)
    assert secrets.get("OPENAI_API_KEY") == "from-env-456"
    assert secrets.get("ANTHROPIC_API_KEY") == "file-anthropic"
    assert secrets.get("GEMINI_API_KEY") is None


def test_every_env_name_is_tried_before_the_file(tmp_path: Path) -> None:
    config = write_config(tmp_path / "config.toml", '[keys]\nGEMINI_API_KEY = "file-gemini"\n')
    secrets = Secrets(env={"GOOGLE_API_KEY": "env-google"}, path=config)
    assert secrets.get("GEMINI_API_KEY", "GOOGLE_API_KEY") == "env-google"
    assert Secrets(env={}, path=config).get("GEMINI_API_KEY", "GOOGLE_API_KEY") == "file-gemini"


def test_empty_env_value_falls_through_to_file(tmp_path: Path) -> None:
    config = write_config(tmp_path / "config.toml", '[keys]\nOPENAI_API_KEY = "from-file-123"\n')
    assert Secrets(env={"OPENAI_API_KEY": ""}, path=config).get("OPENAI_API_KEY") == "from-file-123"


def test_missing_config_file_is_fine(tmp_path: Path) -> None:
    secrets = Secrets(env={}, path=tmp_path / "absent.toml")
    assert secrets.get("OPENAI_API_KEY") is None
    assert not secrets.has("openai")


def test_config_file_from_env_var(tmp_path: Path) -> None:
    config = write_config(tmp_path / "c.toml", '[keys]\nOPENAI_API_KEY = "via-promptwork-config"\n')
    secrets = Secrets(env={"PROMPTWORK_CONFIG": str(config)})
    assert secrets.get("OPENAI_API_KEY") == "via-promptwork-config"
    assert secrets.has("openai")
    assert not secrets.has("anthropic")


@pytest.mark.parametrize("mode", [0o640, 0o604, 0o644, 0o660])
def test_config_readable_by_others_is_refused(tmp_path: Path, mode: int) -> None:
    config = write_config(tmp_path / "config.toml", f'[keys]\nOPENAI_API_KEY = "{OPENAI_KEY}"\n',
                          mode)
    with pytest.raises(ConfigError) as info:
        Secrets(env={}, path=config).get("OPENAI_API_KEY")
    message = str(info.value)
    assert f"chmod 600 {config}" in message
    assert OPENAI_KEY not in message
    # has() never raises: it only reports whether a key is usable.
    assert Secrets(env={}, path=config).has("openai") is False


def test_private_config_modes_are_accepted(tmp_path: Path) -> None:
    config = write_config(tmp_path / "config.toml", '[keys]\nOPENAI_API_KEY = "k-123456"\n', 0o400)
    assert Secrets(env={}, path=config).get("OPENAI_API_KEY") == "k-123456"


@pytest.mark.parametrize(
    "text",
    [
        f'[keys]\nOPENAI_API_KEY = "{OPENAI_KEY}\n',  # unterminated string
        f"[keys]\nOPENAI_API_KEY = {OPENAI_KEY}\n",  # unquoted
        f'[keys]\nOPENAI_API_KEY = "{PLAIN_KEY}" trailing\n',
    ],
)
def test_invalid_toml_message_hides_the_value(tmp_path: Path, text: str) -> None:
    config = write_config(tmp_path / "config.toml", text)
    with pytest.raises(ConfigError) as info:
        Secrets(env={}, path=config).get("OPENAI_API_KEY")
    message = str(info.value)
    assert message.startswith(f"{config}: invalid TOML (at line 2, column ")
    assert OPENAI_KEY not in message and PLAIN_KEY not in message
    # Raised 'from None': a traceback never shows the parser's error (which may quote the line).
    assert info.value.__suppress_context__ is True


def test_keys_table_must_be_a_table(tmp_path: Path) -> None:
    config = write_config(tmp_path / "config.toml", 'keys = "oops"\n')
    assert Secrets(env={}, path=config).get("OPENAI_API_KEY") is None


# --- redaction ---------------------------------------------------------------------------------


@pytest.mark.parametrize("key", SHAPED)
def test_redact_removes_key_shaped_strings(key: str) -> None:
    text = f"request failed: header was {key}, body echoed '{key}'"
    cleaned = redact(text, Secrets(env={}))
    assert key not in cleaned
    assert cleaned.count("[REDACTED]") == 2
    assert cleaned.startswith("request failed: header was ")


def test_redact_lowercase_bearer_and_authorization_header() -> None:
    cleaned = redact("authorization: bearer abcdefghijklmnop1234", Secrets(env={}))
    assert "abcdefghijklmnop1234" not in cleaned


def test_redact_known_values_from_env() -> None:
    secrets = Secrets(env={"OPENAI_API_KEY": PLAIN_KEY, "GEMINI_API_KEY": "gem-plain-value"})
    cleaned = redact(f"key={PLAIN_KEY}; other=gem-plain-value", secrets)
    assert cleaned == "key=[REDACTED]; other=[REDACTED]"


def test_redact_default_reads_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ANTHROPIC_API_KEY", PLAIN_KEY)
    assert redact(f"x {PLAIN_KEY} y") == "x [REDACTED] y"


def test_redact_known_values_from_config_file_after_lookup(tmp_path: Path) -> None:
    config = write_config(tmp_path / "config.toml", f'[keys]\nOPENAI_API_KEY = "{PLAIN_KEY}"\n')
    secrets = Secrets(env={}, path=config)
    secrets.get("OPENAI_API_KEY")
    assert redact(f"got {PLAIN_KEY}", secrets) == "got [REDACTED]"


def test_redact_default_knows_config_file_keys(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = write_config(tmp_path / "config.toml", f'[keys]\nOPENAI_API_KEY = "{PLAIN_KEY}"\n')
    monkeypatch.setenv("PROMPTWORK_CONFIG", str(config))
    assert PLAIN_KEY not in redact(f"got {PLAIN_KEY}")


def test_redact_leaves_ordinary_text_alone() -> None:
    text = "The task-list has sk-1 and a short Bearer x; AIza is a prefix only."
    assert redact(text, Secrets(env={})) == text


def test_short_values_are_not_treated_as_secrets() -> None:
    # Redacting a 2-letter "key" everywhere would shred the output.
    assert redact("ab cd", Secrets(env={"OPENAI_API_KEY": "ab"})) == "ab cd"


# --- the CLI never prints a key ----------------------------------------------------------------


def _fake_prepare(provider: ScriptedProvider):  # type: ignore[no-untyped-def]
    def prepare(template, values, model, params=None):  # type: ignore[no-untyped-def]
        return PreparedCall(provider, load_prompt("hi"), RenderedPrompt.from_text("hi"), Params())

    return prepare


def _leaky_error() -> ProviderError:
    message = (
        f"401 from server: Authorization: {BEARER} / key {OPENAI_KEY} / {ANTHROPIC_KEY} / "
        f"{GOOGLE_KEY} / {PLAIN_KEY}"
    )
    error = ProviderError(message, kind="auth", status=401)
    assert all(k in str(error) for k in (*SHAPED, PLAIN_KEY))  # the raw message does leak
    return error


def _assert_clean(*outputs: str) -> None:
    for output in outputs:
        for key in (*SHAPED, PLAIN_KEY):
            assert key not in output
            assert key[10:] not in output  # not even partly


@pytest.mark.parametrize(
    ("flags", "stream"),
    [([], "err"), (["--no-stream"], "err"), (["--json"], "out"), (["-m", "b"], "out")],
)
def test_cli_provider_error_is_redacted(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], flags: list[str],
    stream: str,
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", PLAIN_KEY)
    provider = ScriptedProvider([_leaky_error()], id="leaky")
    monkeypatch.setattr(cli_run, "prepare", _fake_prepare(provider))
    code = main(["run", "hi", "-m", "a", *flags])
    out, err = capsys.readouterr()
    assert code == 1
    assert provider.calls  # the model was called and failed
    _assert_clean(out, err)
    shown = err if stream == "err" else out
    assert "[REDACTED]" in shown
    assert "401" in shown


def test_cli_internal_error_traceback_is_redacted(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("ANTHROPIC_API_KEY", PLAIN_KEY)

    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError(f"boom with {OPENAI_KEY} and {PLAIN_KEY}")

    monkeypatch.setattr(cli_run, "prepare", broken)
    code = main(["run", "hi", "-m", "echo"])
    out, err = capsys.readouterr()
    assert code == 1
    assert "Traceback" in err and "RuntimeError: boom with [REDACTED]" in err
    assert "internal error" in err
    _assert_clean(out, err)


def test_cli_config_error_is_redacted(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    # A ConfigError that quotes a path holding key-shaped and known secret text.
    monkeypatch.setenv("OPENAI_API_KEY", PLAIN_KEY)
    missing = tmp_path / OPENAI_KEY / f"{PLAIN_KEY}.yaml"
    code = main(["run", "hi", "-m", "echo", "--vars", str(missing)])
    out, err = capsys.readouterr()
    assert code == 2
    assert "cannot read vars file" in err
    _assert_clean(out, err)


def test_cli_world_readable_config_is_refused_without_showing_the_key(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    pytest.importorskip("openai")
    config = write_config(tmp_path / "config.toml",
                          f'[keys]\nOPENAI_API_KEY = "{OPENAI_KEY}"\n', 0o644)
    monkeypatch.setenv("PROMPTWORK_CONFIG", str(config))
    code = main(["run", "hi", "-m", "openai:gpt-4o-mini"])
    out, err = capsys.readouterr()
    assert code == 2
    assert "chmod 600" in err
    _assert_clean(out, err)
