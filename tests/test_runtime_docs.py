"""The camera-loop example in docs/runtime.md runs as written."""

from __future__ import annotations

import re
from pathlib import Path

from runtime_fixtures import blur_model  # noqa: F401

DOC = Path(__file__).resolve().parents[1] / "docs" / "runtime.md"


def test_camera_loop_example_runs(blur_model):
    blocks = re.findall(r"```python\n(.*?)```", DOC.read_text(encoding="utf-8"), flags=re.S)
    assert len(blocks) == 1
    namespace = {"MODEL_PATH": str(blur_model), "__name__": "docs_example"}
    exec(compile(blocks[0], str(DOC), "exec"), namespace)
    assert namespace["session"].info.active == ("CPUExecutionProvider",)
