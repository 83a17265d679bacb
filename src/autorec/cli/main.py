"""Entry point of the `autorec` command.

Each concern registers its commands from its own module (``cli/datasets.py``, ``cli/train.py``,
...).  Errors that are the user's to fix (:class:`autorec.errors.AutorecError`, missing files)
become one line on stderr and exit code 1, never a traceback.
"""

from __future__ import annotations

import signal
import sys
import warnings

import typer

from .._version import __version__
from ..errors import AutorecError, Terminated
from . import datasets as datasets_cmd
from . import search as search_cmd
from . import train as train_cmd
from . import report as report_cmd
from . import serve as serve_cmd
from . import use as use_cmd

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
    use_cmd.register(app)
    serve_cmd.register(app)
    report_cmd.register(app)


def _one_line_warning(message, category, filename, lineno, file=None, line=None) -> None:
    text = " ".join(str(message).split())
    typer.echo(f"autorec: warning: {text[:300]}", err=True)


def _exit_interrupted(terminated: bool) -> None:
    typer.echo(f"autorec: {'terminated (SIGTERM)' if terminated else 'interrupted'}", err=True)
    sys.exit(143 if terminated else 130)


def main(argv: list[str] | None = None) -> None:
    _register()
    # SIGTERM (kill, a scheduler's stop) takes the path of Ctrl-C instead of ending the process
    # mid-write; both are raised where it is safe, within a mini-batch (train/interrupts.py)
    from ..train import interrupts

    restore_signals = interrupts.install()
    # a library's warning is one line for the user, not a source path and a code line
    shown_before = warnings.showwarning
    warnings.showwarning = _one_line_warning
    try:
        code = app(args=argv, prog_name="autorec", standalone_mode=False)
        if isinstance(code, int) and code == 130:  # typer turns KeyboardInterrupt into this code
            _exit_interrupted(interrupts.raised == signal.SIGTERM)
        if isinstance(code, int) and code:
            sys.exit(code)
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except typer.Abort as exc:  # click turns KeyboardInterrupt (and so Terminated) into Abort
        _exit_interrupted(isinstance(exc.__cause__, Terminated))
    except (AutorecError, FileNotFoundError, PermissionError, IsADirectoryError) as exc:
        typer.echo(f"autorec: error: {exc}", err=True)
        sys.exit(1)
    except KeyboardInterrupt as exc:
        _exit_interrupted(isinstance(exc, Terminated))
    except Exception as exc:
        # click usage errors; typer may vendor its own click, so match by name, not class
        names = {c.__name__ for c in type(exc).__mro__}
        if "NoArgsIsHelpError" in names:  # the help text was already printed
            sys.exit(0)
        if "ClickException" in names:
            typer.echo(f"autorec: error: {exc.format_message()}", err=True)
            sys.exit(getattr(exc, "exit_code", 2))
        raise
    finally:
        warnings.showwarning = shown_before
        restore_signals()


if __name__ == "__main__":  # pragma: no cover
    main()
