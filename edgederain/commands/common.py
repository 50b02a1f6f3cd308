"""Helpers shared by the CLI commands: turning our errors into clean exits."""

from __future__ import annotations

import contextlib
from typing import Iterator

import typer


@contextlib.contextmanager
def user_errors() -> Iterator[None]:
    """Print an :class:`EdgeDerainError` (or a missing optional dependency) as one line, exit 2."""
    from edgederain.errors import EdgeDerainError

    try:
        yield
    except EdgeDerainError as exc:
        typer.secho(f"error: {exc}", err=True, fg=typer.colors.RED)
        raise typer.Exit(2) from None
    except ModuleNotFoundError as exc:
        extra = {"torch": "train", "onnx": "export", "onnxsim": "export", "onnxruntime": "cpu"}
        hint = extra.get((exc.name or "").split(".")[0])
        fix = f" (pip install 'edgederain[{hint}]')" if hint else ""
        typer.secho(f"error: missing dependency {exc.name}{fix}", err=True, fg=typer.colors.RED)
        raise typer.Exit(2) from None
