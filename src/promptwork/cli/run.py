"""``promptwork run``: render a prompt and run it on one or more models."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import click
from rich.table import Table
from rich.text import Text

from promptwork.api import PreparedCall, prepare
from promptwork.cli.output import console, safe_text, write_out
from promptwork.errors import ConfigError, ProviderError
from promptwork.prompts import load_prompt
from promptwork.secrets import redact
from promptwork.types import Completion
from promptwork.yamlfile import deepest_line, load_yaml


def parse_assignments(items: tuple[str, ...], what: str, typed: bool) -> dict[str, Any]:
    """``name=value`` pairs; with ``typed`` the value is read as a YAML scalar (0.2, true, [a])."""
    out: dict[str, Any] = {}
    for item in items:
        name, sep, value = item.partition("=")
        if not sep or not name.strip():
            raise ConfigError(f"{what} {item!r} should look like name=value")
        out[name.strip()] = load_yaml(value, f"{what} {name}")[0] if typed and value else value
    return out


def load_vars_file(path: str) -> dict[str, Any]:
    """Variables from a YAML or JSON file (a mapping)."""
    file = Path(path)
    try:
        text = file.read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise ConfigError(f"cannot read vars file: {exc.strerror}", path) from None
    if file.suffix == ".json":
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ConfigError(f"invalid JSON: {exc.msg}", path, exc.lineno) from None
        except RecursionError:
            raise ConfigError("invalid JSON: nested too deeply", path, deepest_line(text)) from None
    else:
        data, _ = load_yaml(text, path)
    if not isinstance(data, dict):
        raise ConfigError("a vars file must hold a mapping of names to values", path)
    return data


def _summary(c: Completion) -> str:
    tokens = f"{c.usage.prompt_tokens or 0}+{c.usage.completion_tokens or 0} tokens"
    cost = "cost n/a" if c.cost is None else f"${c.cost:.6f}"
    return f"{c.provider}: {tokens}, {c.latency_ms:.0f} ms, {cost}, finish: {c.finish_reason}"


async def _run_all(calls: list[PreparedCall]) -> list[Completion | ProviderError]:
    async def one(call: PreparedCall) -> Completion | ProviderError:
        try:
            return await call.provider.complete(call.prompt, call.params)
        except ProviderError as exc:
            return exc
        finally:
            await call.provider.aclose()

    return list(await asyncio.gather(*(one(c) for c in calls)))


@click.command("run")
@click.argument("prompt")
@click.option("-v", "--var", "var_items", multiple=True, metavar="NAME=VALUE",
              help="A template variable (repeatable).")
@click.option("--vars", "vars_file", metavar="FILE", help="Variables from a YAML or JSON file.")
@click.option("-m", "--model", "models", multiple=True, metavar="MODEL",
              help="Model id, e.g. local:smollm2 (repeat for side by side).")
@click.option("-p", "--param", "param_items", multiple=True, metavar="NAME=VALUE",
              help="Generation parameter: temperature, top_p, max_tokens, stop, seed, ...")
@click.option("--json", "as_json", is_flag=True, help="Print the completion record(s) as JSON.")
@click.option("--no-stream", is_flag=True, help="Wait for the whole answer instead of streaming.")
@click.option("--show-prompt", is_flag=True, help="Print the rendered prompt before the answer.")
def run_command(
    prompt: str,
    var_items: tuple[str, ...],
    vars_file: str | None,
    models: tuple[str, ...],
    param_items: tuple[str, ...],
    as_json: bool,
    no_stream: bool,
    show_prompt: bool,
) -> None:
    """Render PROMPT (text, file://..., or a .prompt/.txt/.json file) and run it."""
    values = load_vars_file(vars_file) if vars_file else {}
    values.update(parse_assignments(var_items, "variable", typed=False))
    params = parse_assignments(param_items, "parameter", typed=True)
    template = load_prompt(prompt)
    ids: list[str | None] = list(models) or [None]
    # Prepare every call first: all input errors surface before any model is called.
    calls = [prepare(template, values, m, params=params) for m in ids]
    out, err = console(), console(stderr=True)
    if show_prompt:
        err.print(safe_text(json.dumps(calls[0].prompt.to_list(), indent=2)), markup=False)

    if len(calls) == 1 and not as_json and not no_stream:
        call = calls[0]
        completion = asyncio.run(call.provider.stream_complete(call.prompt, call.params, write_out))
        write_out("\n")
        err.print(_summary(completion), style="dim", markup=False)
        return

    results = asyncio.run(_run_all(calls))
    if as_json:
        records = [
            r.to_dict() if isinstance(r, Completion)
            else {"provider": c.provider.id, "error": redact(str(r))}
            for c, r in zip(calls, results, strict=True)
        ]
        click.echo(json.dumps(records[0] if len(records) == 1 else records, indent=2))
    elif len(calls) == 1:
        _print_one(results[0])
    else:
        table = Table(show_lines=True)
        for call in calls:
            table.add_column(Text(safe_text(call.provider.label)), overflow="fold")
        table.add_row(*(  # Text, not str: model output is never read as Rich markup
            Text(safe_text(r.text) if isinstance(r, Completion)
                 else f"ERROR {safe_text(redact(str(r)))}")
            for r in results
        ))
        table.add_row(*(
            _summary(r) if isinstance(r, Completion) else "" for r in results
        ), style="dim")
        out.print(table)
    if any(isinstance(r, ProviderError) for r in results):
        raise click.exceptions.Exit(1)


def _print_one(result: Completion | ProviderError) -> None:
    if isinstance(result, ProviderError):
        raise result
    write_out(result.text + "\n")
    console(stderr=True).print(_summary(result), style="dim", markup=False)
