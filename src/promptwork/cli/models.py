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
from promptwork.providers.local import default_threads, default_workers
from promptwork.providers.local_models import BUILTIN_MODELS, DEFAULT_MODEL, POOL
from promptwork.providers.registry import EXAMPLES, known_prefixes
from promptwork.secrets import KEY_VARS, Secrets

_SDKS = {"openai": "openai", "anthropic": "anthropic", "google": "google.genai",
         "ollama": "openai", "vllm": "openai", "llamacpp": "openai"}


@click.command("models")
@click.option("--json", "as_json", is_flag=True, help="Print as JSON.")
def models_command(as_json: bool) -> None:
    """List the built-in local models and which providers are configured."""
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
            "eval_decoding": {"mode": "batched", "batch_width": 16,
                              "workers": default_workers()},
        })
    secrets = Secrets()
    providers = []
    for prefix in known_prefixes():
        sdk = _SDKS.get(prefix)
        installed = sdk is None or importlib.util.find_spec(sdk.split(".")[0]) is not None
        if prefix in KEY_VARS:
            key = "key set" if secrets.has(prefix) else f"set {' or '.join(KEY_VARS[prefix])}"
        else:
            key = "no key needed"
        group = prefix if prefix in ("google", "anthropic") else "openai"
        extra = "" if installed else f"pip install 'promptwork[{group}]'"
        providers.append({"prefix": prefix, "example": EXAMPLES.get(prefix, ""),
                          "sdk": "installed" if installed else extra, "key": key})
    if as_json:
        click.echo(json.dumps({"local": local, "providers": providers}, indent=2))
        return
    out = console()
    table = Table(title="Embedded models (run in-process, offline)")
    for col in ("id", "mode", "description", "status"):
        table.add_column(col)
    for m in local:
        table.add_row(*map(Text, (m["id"] + (" (default)" if m["default"] else ""), m["mode"],
                                  m["description"], m["status"])))
    out.print(table)
    ptable = Table(title="Providers")
    for col in ("provider", "ids", "SDK", "API key"):
        ptable.add_column(col)
    for p in providers:
        # Text, not markup: "pip install 'promptwork[openai]'" must keep its brackets.
        ptable.add_row(*map(Text, (p["prefix"], p["example"], p["sdk"], p["key"])))
    out.print(ptable)
    workers = default_workers()
    out.print(
        f"embedded decoding: promptwork eval batches cells of one template (width 16) in "
        f"{workers} worker process(es) x {1 if workers > 1 else default_threads()} thread(s); "
        "promptwork run and --sequential decode one call at a time",
        style="dim", markup=False)
