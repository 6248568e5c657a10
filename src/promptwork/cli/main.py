"""Entry point: the command group and error handling.

Exit codes: 0 success, 1 internal error, 2 bad input (file, line and what to do are printed).
"""

from __future__ import annotations

import importlib
import sys
import traceback

import click
from rich.markup import escape

from promptwork.cli.output import console, safe_text
from promptwork.errors import ConfigError, PromptworkError, ProviderError
from promptwork.secrets import redact
from promptwork.version import __version__

#: Sub-commands, imported only when used (keeps `promptwork run` from loading the store).
COMMANDS = {
    "run": "promptwork.cli.run:run_command",
    "models": "promptwork.cli.models:models_command",
    "eval": "promptwork.cli.eval:eval_command",
    "init": "promptwork.cli.init:init_command",
    "runs": "promptwork.cli.runs:runs_group",
    "cache": "promptwork.cli.runs:cache_group",
    "optimize": "promptwork.cli.optimize:optimize_command",
    "ui": "promptwork.cli.ui:ui_command",
    "prompts": "promptwork.cli.prompts:prompts_group",
    "probe": "promptwork.cli.probe:probe_command",
    "serve": "promptwork.cli.serve:serve_command",
    "tokens": "promptwork.cli.tokens:tokens_group",
    "hooks": "promptwork.cli.hooks:hooks_group",
}


class LazyGroup(click.Group):
    """A group whose commands are imported on first use."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        target = COMMANDS.get(cmd_name)
        if target is None:
            return None
        module_name, _, attr = target.partition(":")
        command: click.Command = getattr(importlib.import_module(module_name), attr)
        return command


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="promptwork")
def cli() -> None:
    """promptwork: design, run, evaluate and optimize prompts."""


def main(argv: list[str] | None = None) -> int:
    """Run the CLI and turn errors into clear messages and exit codes."""
    err = console(stderr=True)
    try:
        # Without standalone mode click returns (not raises) Exit codes, e.g. run's Exit(1).
        code = cli.main(args=argv, prog_name="promptwork", standalone_mode=False)
    except click.exceptions.Abort:
        err.print("aborted")
        return 130
    except click.exceptions.Exit as exc:
        return int(exc.exit_code)
    except click.ClickException as exc:
        exc.show()
        return 2
    except ConfigError as exc:
        err.print(f"[bold red]error:[/] {escape(safe_text(redact(str(exc))))}", markup=True)
        return 2
    except ProviderError as exc:
        message = escape(safe_text(redact(str(exc))))
        err.print(f"[bold red]model call failed:[/] {message}", markup=True)
        return 1
    except PromptworkError as exc:
        err.print(f"[bold red]error:[/] {escape(safe_text(redact(str(exc))))}", markup=True)
        return 1
    except KeyboardInterrupt:
        err.print("interrupted")
        return 130
    except Exception:  # an internal error: show it, scrubbed of secrets
        err.print(safe_text(redact(traceback.format_exc())), markup=False)
        err.print("[bold red]internal error[/] (please report it)", markup=True)
        return 1
    return code if isinstance(code, int) else 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
