"""The ``edgederain`` command line (typer).

Only typer and the standard library are imported here: ``edgederain --help`` works without
torch, onnx or onnxruntime. Each command imports what it needs when it runs. Commands are
defined in :mod:`edgederain.commands` by area and registered on :data:`app`.
"""

from __future__ import annotations

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


def run() -> None:
    """Console-script entry point."""
    app()
