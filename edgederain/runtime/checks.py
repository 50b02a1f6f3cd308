"""Validating option values with messages that name what the user passes (stdlib only).

An option is named by its Python keyword and, where the command line has one, its flag:
``tile (--tile) must be an int >= 8, got 4``.
"""

from __future__ import annotations

from typing import Any, Iterable

from edgederain.errors import ConfigError

# Python keyword -> command-line flag, for the options the CLI exposes.
FLAGS: dict[str, str] = {
    "provider": "--provider",
    "threads": "--threads",
    "intra_op_threads": "--threads",
    "num_threads": "--threads",
    "allow_fallback": "--allow-fallback",
    "openvino_precision": "--precision",
    "precision": "--precision",
    "tile": "--tile",
    "tile_pad": "--tile-pad",
    "pad": "--tile-pad",
}


def option(name: str) -> str:
    """``"tile (--tile)"``, or just ``"max_batch"`` for an option without a flag."""
    flag = FLAGS.get(name)
    return f"{name} ({flag})" if flag else name


def check_int(name: str, value: Any, *, minimum: int, optional: bool = False) -> None:
    """``value`` must be an int (not a bool) >= ``minimum`` (or None when ``optional``)."""
    if optional and value is None:
        return
    if not isinstance(value, int) or isinstance(value, bool) or value < minimum:
        none = " or None" if optional else ""
        raise ConfigError(f"{option(name)} must be an int >= {minimum}{none}, got {value!r}")


def check_choice(name: str, value: Any, choices: Iterable[str]) -> None:
    choices = tuple(choices)
    if value not in choices:
        raise ConfigError(f"{option(name)} must be one of {', '.join(choices)}; got {value!r}")
