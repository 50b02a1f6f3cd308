"""Frames too large for memory: estimated before the run (tiled automatically or refused), ORT's
own out-of-memory error turned into ours, batches split to fit, and tile progress."""

from __future__ import annotations

import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest
from runtime_fixtures import blur_model  # noqa: F401

from edgederain.errors import AutoTilingWarning, FrameMemoryError
from edgederain.runtime import DerainSession, SessionConfig, TileConfig
from edgederain.runtime import memory

REPO = Path(__file__).resolve().parents[1]
MiB = 1 << 20


def _frame(h, w, seed=0):
    return np.random.default_rng(seed).integers(0, 256, (h, w, 3), dtype=np.uint8)


def test_estimate_covers_what_onnx_runtime_asked_for_at_10000x10000():
    """ORT failed on one 6.4 GB buffer (16 float32 channels) for a 10000x10000 frame."""
    need = memory.estimate_bytes(10000, 10000, precision="fp32")
    assert need > 6_400_000_000
    assert memory.estimate_bytes(200, 200, batch=3) - memory.FIXED_BYTES == 3 * (
        memory.estimate_bytes(200, 200) - memory.FIXED_BYTES)
    assert memory.estimate_bytes(100, 100, precision="int8") < memory.estimate_bytes(100, 100)


def test_default_budget_is_half_the_physical_memory(blur_model):
    total = memory.physical_memory()
    s = DerainSession(blur_model)
    assert s.memory_budget == (total // 2 if total else memory.FALLBACK_BUDGET)
    assert s.info.memory_budget == s.memory_budget
    assert DerainSession(blur_model, SessionConfig(memory_budget=None)).memory_budget is None


def test_a_huge_frame_is_tiled_by_default(blur_model):
    s = DerainSession(blur_model)
    plan = s.tile_plan(40000, 40000)  # far above half of any machine's memory
    assert plan is not None and plan.count > 1
    assert s.memory_estimate(plan.win_h, plan.win_w) <= s.memory_budget
    assert s.tile_plan(64, 64) is None


def test_frame_above_the_budget_runs_in_tiles_with_a_warning(blur_model):
    frame = _frame(300, 300)
    whole = DerainSession(blur_model, SessionConfig(memory_budget=None)).run(frame)
    s = DerainSession(blur_model, SessionConfig(memory_budget=100 * MiB))
    plan = s.tile_plan(300, 300)
    assert plan is not None and plan.count > 1
    assert s.memory_estimate(300, 300) > 100 * MiB >= s.memory_estimate(plan.win_h, plan.win_w)
    with pytest.warns(AutoTilingWarning, match=r"300x300 frame needs about .* tiles of \d+ pixels.*--tile"):
        out = s.run(frame)
    assert np.abs(out.astype(int) - whole).max() <= 1  # the blur model is local: tiles are exact


def test_refuse_policy_raises_before_running(blur_model):
    s = DerainSession(blur_model, SessionConfig(memory_budget=100 * MiB, large_frames="refuse"))
    with pytest.raises(FrameMemoryError, match=r"300x300 frame needs about.*tile=\d+ \(--tile \d+\)"):
        s.run(_frame(300, 300))
    tiny = DerainSession(blur_model, SessionConfig(memory_budget=memory.FIXED_BYTES + 1000))
    with pytest.raises(FrameMemoryError, match="raise memory_budget"):
        tiny.run(_frame(300, 300))


def test_explicit_tiles_above_the_budget_are_refused(blur_model):
    cfg = SessionConfig(tiling=TileConfig(tile=1024), memory_budget=100 * MiB)
    with pytest.raises(FrameMemoryError, match=r"lower tile \(--tile\)"):
        DerainSession(blur_model, cfg).run(_frame(300, 400))


def test_batches_are_split_to_fit_the_budget(blur_model):
    batch = np.stack([_frame(100, 100, seed=i) for i in range(5)])
    per_frame = memory.estimate_bytes(100, 100) - memory.FIXED_BYTES
    s = DerainSession(blur_model, SessionConfig(memory_budget=memory.FIXED_BYTES + 2 * per_frame))
    shapes = []
    real = s._infer_raw
    s._infer_raw = lambda x: shapes.append(x.shape[0]) or real(x)
    with warnings.catch_warnings():
        warnings.simplefilter("error", AutoTilingWarning)
        out = s.run(batch)
    assert shapes == [2, 2, 1]
    np.testing.assert_array_equal(out, DerainSession(blur_model, SessionConfig(memory_budget=None)).run(batch))


def test_onnx_runtime_allocation_failure_becomes_ours(blur_model):
    from onnxruntime.capi.onnxruntime_pybind11_state import RuntimeException

    s = DerainSession(blur_model, SessionConfig(memory_budget=None))

    class _Failing:
        def run(self, *args, **kwargs):
            raise RuntimeException(
                "[ONNXRuntimeError] : 6 : RUNTIME_EXCEPTION : Non-zero status code returned while "
                "running Conv node. Failed to allocate memory for requested buffer of size 6400000000"
            )

    s._session = _Failing()
    with pytest.raises(FrameMemoryError, match=r"size 6400000000.*tile=512 \(--tile 512\)"):
        s.run(_frame(32, 32))


def test_other_onnx_runtime_errors_pass_through(blur_model):
    s = DerainSession(blur_model)

    class _Failing:
        def run(self, *args, **kwargs):
            raise RuntimeError("some other failure")

    s._session = _Failing()
    with pytest.raises(RuntimeError, match="some other failure"):
        s.run(_frame(32, 32))


OOM_SCRIPT = """
import resource, numpy as np
from edgederain.errors import FrameMemoryError
from edgederain.runtime import DerainSession, SessionConfig
s = DerainSession({model!r}, SessionConfig(memory_budget=None))
s.run_tensor(np.zeros((1, 3, 16, 16), np.float32))
x = np.zeros((1, 3, 4000, 4000), np.float32)
vm = next(int(l.split()[1]) * 1024 for l in open("/proc/self/status") if l.startswith("VmSize:"))
resource.setrlimit(resource.RLIMIT_AS, (vm + 100 * 2**20, resource.RLIM_INFINITY))
try:
    s.run_tensor(x)
except FrameMemoryError as exc:
    print("FrameMemoryError:", exc)
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="uses RLIMIT_AS and /proc")
def test_real_allocation_failure_under_a_memory_limit(blur_model):
    """A process limited to 100 MiB more address space than it has: ORT's arena cannot get the
    192 MB the 4000x4000 run needs and raises its own Fail, which the session turns into ours."""
    code = OOM_SCRIPT.format(model=str(blur_model))
    proc = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "FrameMemoryError: ONNX Runtime ran out of memory on a 1x3x4000x4000 input" in proc.stdout
    assert "--tile" in proc.stdout


def test_progress_counts_tiles_over_a_batch(blur_model):
    s = DerainSession(blur_model, SessionConfig.for_provider("cpu", tile=40, tile_pad=8))
    frames = np.stack([_frame(150, 230, seed=i) for i in range(2)])
    n = s.tile_plan(150, 230).count
    calls = []
    out = s.run(frames, progress=lambda done, total: calls.append((done, total)))
    assert calls == [(i, 2 * n) for i in range(1, 2 * n + 1)]
    np.testing.assert_array_equal(out[1], s.run(frames[1]))


def test_progress_with_batched_tiles_and_stopping(blur_model):
    s = DerainSession(blur_model, SessionConfig(tiling=TileConfig(tile=40, pad=8, batch=3)))
    n = s.tile_plan(150, 230).count
    calls = []
    s.run(_frame(150, 230), progress=lambda done, total: calls.append((done, total)))
    assert calls[-1] == (n, n) and all(b - a <= 3 for (a, _), (b, _) in zip(calls, calls[1:]))

    class Stop(Exception):
        pass

    def stop(done, total):
        raise Stop

    with pytest.raises(Stop):
        s.run(_frame(150, 230), progress=stop)


def test_untiled_runs_do_not_report_progress(blur_model):
    calls = []
    DerainSession(blur_model).run(_frame(40, 40), progress=lambda *a: calls.append(a))
    assert calls == []
