"""Shared plumbing of the atheris fuzz targets (not a test module; pytest does not collect it).

A target calls :func:`run` with a one-input function. An exception that is one of the
``expected`` project types is a correct rejection. Any other exception is a finding: by default it
propagates, so libFuzzer stops and writes the crashing input as an artifact. With
``EDGEDERAIN_FUZZ_COLLECT=findings.jsonl`` set, each distinct finding (exception type and the
line that raised it) is appended to that file once, its input saved beside it, and fuzzing goes on,
so one run can report several distinct problems.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
import traceback
from pathlib import Path
from typing import Callable

_seen: set[tuple[str, str]] = set()


def _signature(exc: BaseException) -> tuple[str, str]:
    frames = traceback.extract_tb(exc.__traceback__)
    where = f"{frames[-1].filename}:{frames[-1].lineno}" if frames else "?"
    return f"{type(exc).__module__}.{type(exc).__qualname__}", where


def _record(path: Path, exc: BaseException, data: bytes) -> None:
    kind, where = _signature(exc)
    if (kind, where) in _seen:
        return
    _seen.add((kind, where))
    sample = path.with_name(f"{path.stem}-{hashlib.sha1(data).hexdigest()[:12]}.bin")
    sample.write_bytes(data)
    entry = {"type": kind, "where": where, "message": str(exc)[:500], "input": str(sample),
             "traceback": traceback.format_exception(exc)[-6:]}
    with path.open("a") as f:
        f.write(json.dumps(entry) + "\n")
    print(f"\n== finding: {kind} at {where}: {str(exc)[:200]}", file=sys.stderr, flush=True)


def guarded(target: Callable[[bytes], None], expected: tuple[type[BaseException], ...]) -> Callable[[bytes], None]:
    """``target`` with expected exceptions swallowed and the others raised or collected."""
    collect = os.environ.get("EDGEDERAIN_FUZZ_COLLECT")
    findings = Path(collect) if collect else None

    def one_input(data: bytes) -> None:
        try:
            target(data)
        except expected:
            pass
        except Exception as exc:  # noqa: BLE001 - that is the point of a fuzz target
            if findings is None:
                raise
            _record(findings, exc, data)

    return one_input


def run(target: Callable[[bytes], None], expected: tuple[type[BaseException], ...]) -> None:
    import atheris

    atheris.Setup(sys.argv, guarded(target, expected))
    atheris.Fuzz()
