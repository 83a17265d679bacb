"""Entry point of the `autorec` command.

Each concern registers its commands from its own module (``cli/datasets.py``, ``cli/train.py``,
...).  Errors that are the user's to fix (:class:`autorec.errors.AutorecError`, missing files)
become one line on stderr and exit code 1, never a traceback.
"""

from __future__ import annotations

import sys

import typer

from .._version import __version__
from ..errors import AutorecError
from . import datasets as datasets_cmd
from . import search as search_cmd
from . import train as train_cmd

app = typer.Typer(
    name="autorec",
    help="autorec: an automated recommender system.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"autorec {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True,
                                 help="Print the version and exit."),
) -> None:
    """autorec: load and split data, train one model, search models and hyperparameters."""


def _register() -> None:
    app.add_typer(datasets_cmd.app, name="datasets")
    train_cmd.register(app)
    search_cmd.register(app)


def main(argv: list[str] | None = None) -> None:
    _register()
    try:
        app(args=argv, prog_name="autorec", standalone_mode=False)
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except typer.Abort:
        typer.echo("autorec: aborted", err=True)
        sys.exit(130)
    except (AutorecError, FileNotFoundError, PermissionError, IsADirectoryError) as exc:
        typer.echo(f"autorec: error: {exc}", err=True)
        sys.exit(1)
    except KeyboardInterrupt:
        typer.echo("autorec: interrupted", err=True)
        sys.exit(130)
    except Exception as exc:
        # click usage errors; typer may vendor its own click, so match by name, not class
        names = {c.__name__ for c in type(exc).__mro__}
        if "NoArgsIsHelpError" in names:  # the help text was already printed
            sys.exit(0)
        if "ClickException" in names:
            typer.echo(f"autorec: error: {exc.format_message()}", err=True)
            sys.exit(getattr(exc, "exit_code", 2))
        raise


if __name__ == "__main__":  # pragma: no cover
    main()
