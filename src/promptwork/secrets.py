"""API keys: read from the environment or a private user config file, and scrubbed from text.

Keys are never written anywhere by promptwork. :func:`redact` removes known key values and
key-shaped strings from any text before it reaches an error message, a log, a store or a report.
"""

from __future__ import annotations

import os
import re
import stat
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from promptwork.errors import ConfigError

#: Environment variables that hold secrets, by provider.
KEY_VARS: dict[str, tuple[str, ...]] = {
    "openai": ("OPENAI_API_KEY",),
    "anthropic": ("ANTHROPIC_API_KEY",),
    "google": ("GEMINI_API_KEY", "GOOGLE_API_KEY"),
    "azure": ("AZURE_API_KEY", "AZURE_OPENAI_API_KEY"),
    "vertex": ("VERTEX_API_KEY",),
    "bedrock": ("AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"),
    # OpenAI-compatible vendors (endpoints in promptwork.providers.openai_vendors)
    "mistral": ("MISTRAL_API_KEY",), "groq": ("GROQ_API_KEY",),
    "togetherai": ("TOGETHER_API_KEY",), "together": ("TOGETHER_API_KEY",),
    "deepseek": ("DEEPSEEK_API_KEY",), "perplexity": ("PERPLEXITY_API_KEY",),
    "xai": ("XAI_API_KEY",), "openrouter": ("OPENROUTER_API_KEY",),
    "fireworks": ("FIREWORKS_API_KEY",), "hyperbolic": ("HYPERBOLIC_API_KEY",),
    "cerebras": ("CEREBRAS_API_KEY",), "github": ("GITHUB_TOKEN",),
    "lambdalabs": ("LAMBDA_API_KEY",), "moonshot": ("MOONSHOT_API_KEY",),
    "nvidia": ("NVIDIA_API_KEY",), "alibaba": ("DASHSCOPE_API_KEY",),
    "aimlapi": ("AIML_API_KEY",),
}

_KEY_PATTERN = re.compile(
    r"(sk-ant-[A-Za-z0-9_\-]{8,}|sk-[A-Za-z0-9_\-]{16,}|AIza[0-9A-Za-z_\-]{20,}"
    r"|(?i:bearer)\s+[A-Za-z0-9._\-]{12,})"
)


def config_path(env: Mapping[str, str] | None = None) -> Path:
    env = os.environ if env is None else env
    if "PROMPTWORK_CONFIG" in env:
        return Path(env["PROMPTWORK_CONFIG"])
    base = env.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "promptwork" / "config.toml"


def _read_config(path: Path) -> dict[str, str]:
    keys = _parse_config(path).get("keys", {})
    return {str(k): str(v) for k, v in keys.items()} if isinstance(keys, dict) else {}


def config_table(name: str, env: Mapping[str, str] | None = None) -> dict[str, Any]:
    """A table of the config file other than ``[keys]`` (``[ui]``...); empty when absent.

    Raises:
        ConfigError: The file is readable by others or is not valid TOML.
    """
    if name == "keys":
        raise ValueError("the [keys] table is read only through Secrets")
    table = _parse_config(config_path(env)).get(name, {})
    return dict(table) if isinstance(table, dict) else {}


def _parse_config(path: Path) -> dict[str, Any]:
    if not path.is_file():
        return {}
    mode = path.stat().st_mode
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise ConfigError(
            f"{path} holds API keys but other users can read it; run: chmod 600 {path}", path
        )
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        # The message may quote the line, which may hold a key: keep only the position.
        raise ConfigError(f"invalid TOML ({str(exc).split('(')[-1].rstrip(')')})", path) from None
    return data


class Secrets:
    """Looks up API keys: environment first, then the ``[keys]`` table of the config file.

    Example config (``~/.config/promptwork/config.toml``, mode 0600)::

        [keys]
        OPENAI_API_KEY = "sk-..."
    """

    def __init__(self, env: Mapping[str, str] | None = None, path: Path | None = None):
        self._env = dict(os.environ if env is None else env)
        self._path = path or config_path(self._env)
        self._file: dict[str, str] | None = None

    def get(self, *names: str) -> str | None:
        for name in names:
            if self._env.get(name):
                return self._env[name]
        if self._file is None:
            self._file = _read_config(self._path)
        for name in names:
            if self._file.get(name):
                return self._file[name]
        return None

    def has(self, provider: str) -> bool:
        try:
            return self.get(*KEY_VARS.get(provider, ())) is not None
        except ConfigError:
            return False

    def known_values(self) -> list[str]:
        """Every secret value we know of, for redaction."""
        values = [self._env.get(n, "") for names in KEY_VARS.values() for n in names]
        if self._file is None:
            try:
                self._file = _read_config(self._path)
            except ConfigError:
                self._file = {}
        values += list(self._file.values())
        return [v for v in values if len(v) >= 6]


def redact(text: str, secrets: Secrets | None = None) -> str:
    """Remove key values and key-shaped strings (``sk-...``, ``AIza...``, bearer tokens)."""
    for value in (secrets or Secrets()).known_values():
        text = text.replace(value, "[REDACTED]")
    return _KEY_PATTERN.sub("[REDACTED]", text)
