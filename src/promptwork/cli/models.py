"""``promptwork models``: the built-in local models and which providers are configured."""

from __future__ import annotations

import importlib.util
import json
from typing import Any

import click
from rich.table import Table
from rich.text import Text

from promptwork.cli.output import console
from promptwork.errors import ConfigError
from promptwork.providers.local import BATCH_WIDTH, default_threads
from promptwork.providers.local_layout import LayoutChoice, default_choice
from promptwork.providers.local_models import BUILTIN_MODELS, DEFAULT_MODEL, POOL
from promptwork.providers.registry import BUILTIN, EXAMPLES, known_prefixes
from promptwork.secrets import KEY_VARS, Secrets

#: The SDK each provider prefix needs (module to look for) and the extra that installs it.
#: Prefixes not listed need none; the OpenAI-compatible vendors use the OpenAI SDK.
_SDKS: dict[str, tuple[str, str]] = {
    "openai": ("openai", "openai"), "ollama": ("openai", "openai"),
    "vllm": ("openai", "openai"), "llamacpp": ("openai", "openai"),
    "azure": ("openai", "openai"), "anthropic": ("anthropic", "anthropic"),
    "google": ("google.genai", "google"), "vertex": ("google.genai", "vertex"),
    "bedrock": ("boto3", "bedrock"),
}


def _sdk_of(prefix: str) -> tuple[str, str] | None:
    """``(module, extra)`` of the SDK a provider prefix needs, or None."""
    if prefix in _SDKS:
        return _SDKS[prefix]
    if BUILTIN.get(prefix) == BUILTIN["mistral"]:  # an OpenAI-compatible vendor preset
        return "openai", "openai"
    return None


def _installed(module: str) -> bool:
    """Whether ``module`` (dotted names too) can be imported, without importing it."""
    try:
        return importlib.util.find_spec(module) is not None
    except ModuleNotFoundError:  # its parent package is missing
        return False


@click.command("models")
@click.option("--json", "as_json", is_flag=True, help="Print as JSON.")
@click.option("--calibrate", "calibrate", is_flag=False, flag_value=DEFAULT_MODEL, default=None,
              metavar="[MODEL]",
              help="Time the decoding layouts (one process with all threads, or worker processes "
                   "with one thread each) of MODEL (default: the default model) on this machine "
                   "and keep the fastest for promptwork eval.")
def models_command(as_json: bool, calibrate: str | None) -> None:
    """List the built-in local models and which providers are configured."""
    calibrated = _calibrate(calibrate, as_json) if calibrate is not None else None
    local: list[dict[str, Any]] = []
    for name, spec in BUILTIN_MODELS.items():
        try:
            path, _ = POOL.resolve(name)
            status = "ok (sha256 verified)"
            where = str(path)
        except ConfigError as exc:
            status, where = f"unavailable: {exc.message}", ""
        local.append({
            "id": f"local:{name}", "default": f"local:{name}" == DEFAULT_MODEL,
            "mode": "chat" if spec.chat else "completion", "description": spec.description,
            "status": status, "path": where, "threads": default_threads(),
            "eval_decoding": _decoding(default_choice(spec.sha256)),
        })
    secrets = Secrets()
    providers = []
    for prefix in known_prefixes():
        sdk = _sdk_of(prefix)
        installed = sdk is None or _installed(sdk[0])
        if prefix in KEY_VARS:
            key = "key set" if secrets.has(prefix) else f"set {' or '.join(KEY_VARS[prefix])}"
        else:
            key = "no key needed"
        extra = "" if sdk is None or installed else f"pip install 'promptwork[{sdk[1]}]'"
        providers.append({"prefix": prefix, "example": EXAMPLES.get(prefix, ""),
                          "sdk": "installed" if installed else extra, "key": key})
    if as_json:
        data: dict[str, Any] = {"local": local, "providers": providers}
        if calibrated is not None:
            data["calibrated"] = calibrated
        click.echo(json.dumps(data, indent=2))
        return
    out = console()
    table = Table(title="Embedded models (run in-process, offline)")
    for col in ("id", "mode", "description", "status"):
        table.add_column(col)
    for m in local:
        table.add_row(*map(Text, (m["id"] + (" (default)" if m["default"] else ""), m["mode"],
                                  m["description"], m["status"])))
    out.print(table)
    for m in local:
        d = m["eval_decoding"]
        out.print(f"{m['id']} in promptwork eval: {d['layout']} ({d['why']})", markup=False)
    ptable = Table(title="Providers")
    for col in ("provider", "ids", "SDK", "API key"):
        ptable.add_column(col)
    for p in providers:
        # Text, not markup: "pip install 'promptwork[openai]'" must keep its brackets.
        ptable.add_row(*map(Text, (p["prefix"], p["example"], p["sdk"], p["key"])))
    out.print(ptable)
    out.print(
        f"embedded decoding: promptwork eval batches cells of one template (width {BATCH_WIDTH}); "
        "groups of "
        "8+ cells use the layout above (worker processes or this process), smaller ones this "
        "process with all threads; promptwork run and --sequential decode one call at a time; "
        "promptwork models --calibrate [MODEL] times the layouts on this machine",
        style="dim", markup=False)


def _decoding(choice: LayoutChoice) -> dict[str, Any]:
    layout = choice.layout
    return {"mode": "batched", "batch_width": BATCH_WIDTH, "workers": layout.workers,
            "threads": layout.threads, "layout": layout.describe(), "source": choice.source,
            "why": choice.why}


def _calibrate(model: str, quiet: bool) -> dict[str, Any]:
    """Calibrate one embedded model (``local:NAME``, ``NAME`` or a GGUF path)."""
    from promptwork.providers.local import LocalProvider

    name = model.removeprefix("local:") or "gemma3-270m"
    err = console(stderr=True)
    if not quiet:
        err.print(f"calibrating local:{name}: timing each decoding layout on a fixed batch "
                  "(a few seconds)...", style="dim", markup=False)
    provider = LocalProvider(f"local:{name}", name)
    choice = provider.calibrate()
    if not quiet:
        console().print(f"local:{name}: {choice.text()}", markup=False)
    return {"id": f"local:{name}", **_decoding(choice)}
