"""The runtime imports and runs with torch, onnx, typer, onnxsim and polygraphy absent."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from runtime_fixtures import blur_model  # noqa: F401

REPO = Path(__file__).resolve().parents[1]
BLOCKED = ("torch", "onnx", "typer", "onnxsim", "polygraphy", "onnxscript", "PIL", "av")

SCRIPT = """
import sys
for name in {blocked!r}:
    sys.modules[name] = None  # makes `import name` raise ImportError
import numpy as np
import edgederain.runtime as rt
import edgederain.bench
assert "onnxruntime" not in sys.modules, "importing the runtime must not import onnxruntime yet"
s = rt.DerainSession({model!r}, rt.SessionConfig.for_provider("cpu", threads=1, tile=16, tile_pad=4))
out = s.run(np.zeros((40, 50, 3), np.uint8))
assert out.shape == (40, 50, 3) and out.dtype == np.uint8
print("ok", sorted(n for n in {blocked!r} if sys.modules.get(n) is not None))
"""


def test_runtime_needs_only_numpy_and_onnxruntime(blur_model):
    code = SCRIPT.format(blocked=BLOCKED, model=str(blur_model))
    proc = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "ok []"
