"""Run Python code in a fresh interpreter where some top-level packages cannot be imported."""

from __future__ import annotations

import subprocess
import sys
from typing import Iterable

_PRELUDE = """import sys
class _Block:
    def find_spec(self, name, path=None, target=None):
        if name.split('.')[0] in {blocked!r}:
            raise ImportError(name + ' blocked')
sys.meta_path.insert(0, _Block())
"""


def run_without(packages: Iterable[str], code: str, *, timeout: float = 120) -> subprocess.CompletedProcess:
    """Run ``code`` with ``packages`` (and their submodules) unimportable; returns the process."""
    prelude = _PRELUDE.format(blocked=set(packages))
    return subprocess.run(
        [sys.executable, "-c", prelude + code], capture_output=True, text=True, timeout=timeout
    )
