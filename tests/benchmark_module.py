"""Import a script of ``benchmarks/`` or ``scripts/`` (not packages) by name, for the tests of its functions."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

REPO = Path(__file__).resolve().parents[1]
BENCHMARKS = REPO / "benchmarks"


def load_benchmark(name: str, folder: Path = BENCHMARKS) -> ModuleType:
    """``<folder>/<name>.py`` (default ``benchmarks/``) as module ``name`` (registered in ``sys.modules``)."""
    spec = importlib.util.spec_from_file_location(name, folder / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def load_script(name: str) -> ModuleType:
    """``scripts/<name>.py`` as module ``name``."""
    return load_benchmark(name, REPO / "scripts")
