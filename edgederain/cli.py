"""The ``edgederain`` command line (typer).

Only typer and the standard library are imported here: ``edgederain --help`` works without
torch, onnx or onnxruntime. Each command imports what it needs when it runs. Commands are
defined in :mod:`edgederain.commands` by area and registered on :data:`app`.
"""

from __future__ import annotations

import sys
from typing import Sequence

import typer

from edgederain import __version__
from edgederain.commands import compare, export, model, runtime, train

app = typer.Typer(
    name="edgederain",
    help="Single-image deraining from training to the edge: train, export to ONNX "
    "(FP32/FP16/INT8), verify, and run with ONNX Runtime.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"edgederain {__version__}")
        raise typer.Exit()


@app.callback()
def main(
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Print the version and exit."
    ),
) -> None:
    """edgederain command line."""


for _area in (model, train, export, runtime, compare):
    _area.register(app)


def run(argv: Sequence[str] | None = None) -> None:
    """Console-script entry point; ``argv`` defaults to ``sys.argv[1:]``. Never returns.

    One exit-code convention for every command (README, "Exit codes"; see
    :mod:`edgederain.commands.common`): 0 success, 1 a gate or some inputs failed, 2 a usage or
    input error, 3 an internal error (one line naming the saved traceback), 130 Ctrl-C.
    """
    from edgederain.commands.common import report_error

    args = list(sys.argv[1:] if argv is None else argv)
    try:
        app(args=args, prog_name="edgederain")
    except Exception as exc:  # noqa: BLE001 - every error a command lets through ends here
        sys.exit(report_error(exc, argv=args))
    sys.exit(0)
