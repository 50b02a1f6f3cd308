"""One rule for every config dataclass read from a dict: unknown keys are errors (stdlib only)."""

from __future__ import annotations

import dataclasses
from typing import Any, Mapping

from edgederain.errors import ConfigError


def check_known_keys(cls: type, data: Mapping[str, Any], *, what: str) -> None:
    """Raise :class:`ConfigError` naming the keys of ``data`` that are not fields of ``cls``."""
    known = {f.name for f in dataclasses.fields(cls)}
    unknown = set(data) - known
    if unknown:
        raise ConfigError(f"unknown {what} keys {sorted(unknown)}; known: {sorted(known)}")
