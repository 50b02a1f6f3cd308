"""Helpers shared by the CLI commands: one exit-code convention and clean error messages.

Every command exits with (README, "Exit codes"):

- 0: success.
- 1: the work was done and reported, but a verification gate or some inputs failed
  (:class:`~edgederain.errors.GateError`, or a command's own partial failure).
- 2: a usage or input error, before or instead of the work (:class:`~edgederain.errors.EdgeDerainError`,
  a missing optional dependency, or a bad option, which typer reports itself).
- 3: an internal error (a bug): one line on stderr naming the file the full traceback was saved to.
- 130: interrupted with Ctrl-C.

Only typer, the standard library and the stdlib-only :mod:`edgederain.weights` are imported here.
"""

from __future__ import annotations

import contextlib
import enum
import os
import shlex
import sys
import tempfile
import time
import traceback
from pathlib import Path
from typing import Iterable, Iterator, Sequence

import typer

from edgederain.weights import DEFAULT_MODEL, MODEL_NAMES

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_INTERNAL = 3
EXIT_INTERRUPTED = 130

# --model of the commands that run an exported model.
MODEL_HELP = "Exported .onnx model, or a packaged one by name: " + " | ".join(
    f"{n} (default)" if n == DEFAULT_MODEL else n for n in MODEL_NAMES) + "."

# Which extra brings a missing top-level module.
_EXTRAS = {"torch": "train", "onnx": "export", "onnxsim": "export", "onnxruntime": "cpu", "av": "video"}


def choice_enum(name: str, values: Iterable[str]) -> type[enum.Enum]:
    """A ``str`` Enum for a typer option, one member per value of a tuple of :mod:`edgederain.choices`."""
    return enum.Enum(name, [(v, v) for v in values], type=str)


@contextlib.contextmanager
def user_errors() -> Iterator[None]:
    """Turn the errors a user can cause into one line on stderr and exit 1 (gate) or 2 (input).

    Anything else propagates to :func:`report_error` in the entry point (exit 3).
    """
    from edgederain.errors import EdgeDerainError

    try:
        yield
    except (EdgeDerainError, ModuleNotFoundError) as exc:
        raise typer.Exit(report_error(exc)) from None


def report_error(exc: BaseException, *, argv: Sequence[str] | None = None) -> int:
    """Print ``exc`` the way the exit-code convention says, and return the exit code.

    ``argv`` (the command's arguments) goes into the crash report of an internal error.
    """
    from edgederain.errors import EdgeDerainError, GateError

    if isinstance(exc, GateError):
        typer.secho(f"FAIL: {exc}", err=True, fg=typer.colors.RED)
        return EXIT_FAILED
    if isinstance(exc, EdgeDerainError):
        typer.secho(f"error: {exc}", err=True, fg=typer.colors.RED)
        return EXIT_USAGE
    if isinstance(exc, ModuleNotFoundError):
        hint = _EXTRAS.get((exc.name or "").split(".")[0])
        fix = f" (pip install 'edgederain[{hint}]')" if hint else ""
        typer.secho(f"error: missing dependency {exc.name}{fix}", err=True, fg=typer.colors.RED)
        return EXIT_USAGE
    path = save_crash_report(exc, argv=argv)
    where = f"full traceback in {path}" if path else "the traceback follows"
    typer.secho(f"internal error: {type(exc).__name__}: {_one_line(exc)} -- a bug in edgederain, not in "
                f"your input; {where} (please attach it to a bug report)", err=True, fg=typer.colors.RED)
    if path is None:
        traceback.print_exception(type(exc), exc, exc.__traceback__, file=sys.stderr)
    return EXIT_INTERNAL


def crash_dir() -> Path:
    """Where crash reports go: ``$XDG_CACHE_HOME/edgederain`` (default ``~/.cache/edgederain``)."""
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "edgederain"


def save_crash_report(exc: BaseException, *, argv: Sequence[str] | None = None) -> Path | None:
    """Write the command line, versions and the full traceback of ``exc`` to a new file.

    Tries :func:`crash_dir`, then the system temporary folder; ``None`` if neither is writable.
    """
    from edgederain import __version__

    stamp = time.strftime("%Y%m%d-%H%M%S")
    text = "".join([
        f"edgederain {__version__} crash report, {time.strftime('%Y-%m-%d %H:%M:%S %z')}\n",
        f"command: edgederain {shlex.join(sys.argv[1:] if argv is None else argv)}\n",
        f"python {sys.version.split()[0]} on {sys.platform}\n\n",
        *traceback.format_exception(type(exc), exc, exc.__traceback__),
    ])
    for folder in (crash_dir(), Path(tempfile.gettempdir())):
        try:
            folder.mkdir(parents=True, exist_ok=True)
            path = folder / f"edgederain-crash-{stamp}-{os.getpid()}.txt"
            path.write_text(text, encoding="utf-8")
            return path
        except OSError:
            continue
    return None


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return text if len(text) <= 200 else text[:197] + "..."
