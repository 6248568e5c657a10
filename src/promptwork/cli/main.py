"""Entry point: the command group and error handling.

Exit codes: 0 success, 1 internal error, 2 bad input (file, line and what to do are printed).
"""

from __future__ import annotations

import sys
import traceback

import click

from promptwork import __version__
from promptwork.cli.models import models_command
from promptwork.cli.output import console, safe_text
from promptwork.cli.run import run_command
from promptwork.errors import ConfigError, PromptworkError, ProviderError
from promptwork.secrets import redact


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="promptwork")
def cli() -> None:
    """promptwork: design, run, evaluate and optimize prompts."""


cli.add_command(run_command)
cli.add_command(models_command)


def main(argv: list[str] | None = None) -> int:
    """Run the CLI and turn errors into clear messages and exit codes."""
    err = console(stderr=True)
    try:
        cli.main(args=argv, prog_name="promptwork", standalone_mode=False)
    except click.exceptions.Abort:
        err.print("aborted")
        return 130
    except click.exceptions.Exit as exc:
        return int(exc.exit_code)
    except click.ClickException as exc:
        exc.show()
        return 2
    except ConfigError as exc:
        err.print(f"[bold red]error:[/] {safe_text(redact(str(exc)))}", markup=True)
        return 2
    except ProviderError as exc:
        err.print(f"[bold red]model call failed:[/] {safe_text(redact(str(exc)))}", markup=True)
        return 1
    except PromptworkError as exc:
        err.print(f"[bold red]error:[/] {safe_text(redact(str(exc)))}", markup=True)
        return 1
    except KeyboardInterrupt:
        err.print("interrupted")
        return 130
    except Exception:  # an internal error: show it, scrubbed of secrets
        err.print(safe_text(redact(traceback.format_exc())), markup=False)
        err.print("[bold red]internal error[/] (please report it)", markup=True)
        return 1
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
