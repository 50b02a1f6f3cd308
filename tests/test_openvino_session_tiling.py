"""OpenVINOSession tiles like DerainSession: same plans, same blending, same memory-budget rules.

Skipped where the ``openvino`` package is absent. The blur graph (3x3 receptive field) must come
out of tiles as it does whole; the tiny DerainNet (channel attention pools over the whole input)
only approximately, and its tiled output must match ONNX Runtime's tiled output.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from runtime_fixtures import blur_model, tiny_net_model, write_blur_model  # noqa: F401

from edgederain.contract import IOContract
from edgederain.errors import AutoTilingWarning, FrameMemoryError, InputError
from edgederain.metrics import psnr
from edgederain.runtime import DerainSession, SessionConfig, TileConfig
from edgederain.runtime import memory

pytest.importorskip("openvino", reason="OpenVINO's own runtime is not installed (edgederain[openvino])")

from edgederain.runtime.openvino_session import OpenVINOSession  # noqa: E402

MiB = 1 << 20


def _config(tile: int | None = None, pad: int = 8, **kw) -> SessionConfig:
    base = SessionConfig.for_provider("openvino", threads=1, tile=tile, tile_pad=pad)
    return SessionConfig(providers=base.providers, tiling=base.tiling, **kw)


def _frame(h: int, w: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (h, w, 3), dtype=np.uint8)


def test_tiled_blur_equals_untiled_and_plans_match_derain_session(blur_model):
    frame = _frame(150, 230)
    whole = OpenVINOSession(blur_model, _config(memory_budget=None))
    tiled = OpenVINOSession(blur_model, _config(tile=48, pad=8))
    ort = DerainSession(blur_model, SessionConfig.for_provider("cpu", threads=1, tile=48, tile_pad=8))
    plan = tiled.tile_plan(150, 230)
    assert plan is not None and plan.count > 4 and plan == ort.tile_plan(150, 230)
    assert whole.tile_plan(150, 230) is None
    out = tiled.run(frame)
    assert out.shape == frame.shape and out.dtype == np.uint8
    assert np.abs(out.astype(int) - whole.run(frame).astype(int)).max() <= 1
    assert np.abs(out.astype(int) - ort.run(frame).astype(int)).max() <= 1


def test_tiled_float_batch_and_progress(blur_model):
    frames = np.random.default_rng(1).random((2, 100, 120, 3), dtype=np.float32)
    tiled = OpenVINOSession(blur_model, _config(tile=40, pad=8))
    seen = []
    out = tiled.run(frames, progress=lambda done, total: seen.append((done, total)))
    count = tiled.tile_plan(100, 120).count
    assert out.shape == frames.shape and out.dtype == np.float32
    assert seen[-1] == (2 * count, 2 * count) and len(seen) == 2 * count
    whole = OpenVINOSession(blur_model, _config(memory_budget=None)).run(frames)
    assert np.abs(out - whole).max() < 1e-5


def test_tiled_tiny_net_close_to_untiled_and_to_onnxruntime(tiny_net_model):
    frame = _frame(200, 264, seed=2)
    whole = OpenVINOSession(tiny_net_model, _config(memory_budget=None))
    tiled = OpenVINOSession(tiny_net_model, _config(tile=96, pad=TileConfig().pad))
    ort = DerainSession(tiny_net_model, SessionConfig.for_provider("cpu", threads=1, tile=96, tile_pad=32))
    assert tiled.tile_plan(200, 264).count >= 2
    ref = whole.run(frame)
    assert psnr(ref, frame) < 35  # the model really changes the frame
    out = tiled.run(frame)
    assert psnr(out, ref) >= 40.0
    assert psnr(out, ort.run(frame)) >= 50.0


def test_frames_over_the_budget_are_tiled_or_refused(blur_model):
    frame = _frame(300, 300, seed=3)
    whole = OpenVINOSession(blur_model, _config(memory_budget=None)).run(frame)
    auto = OpenVINOSession(blur_model, _config(memory_budget=100 * MiB))
    assert auto.tile_plan(300, 300) is not None
    with pytest.warns(AutoTilingWarning, match=r"300x300 frame needs about .* tiles of \d+ pixels"):
        out = auto.run(frame)
    assert np.abs(out.astype(int) - whole.astype(int)).max() <= 1
    refuse = OpenVINOSession(blur_model, _config(memory_budget=100 * MiB, large_frames="refuse"))
    with pytest.raises(FrameMemoryError, match=r"--tile \d+"):
        refuse.run(frame)
    small = OpenVINOSession(blur_model, _config(memory_budget=memory.FIXED_BYTES + 1000))
    with pytest.raises(FrameMemoryError, match="raise memory_budget"):
        small.run(frame)


def test_configured_tiles_that_exceed_the_budget_are_refused(blur_model):
    s = OpenVINOSession(blur_model, _config(tile=1024, memory_budget=100 * MiB))
    with pytest.raises(FrameMemoryError, match="lower tile"):
        s.run(_frame(1200, 1200))


def test_fixed_size_model_runs_other_sizes_through_tiles(tmp_path):
    shape = (1, 3, 64, 64)
    path = write_blur_model(tmp_path / "fixed.onnx", contract=IOContract(input_shape=shape), shape=shape)
    frame = _frame(100, 150, seed=4)
    with pytest.raises(InputError, match="accepts only 64x64"):
        OpenVINOSession(path, _config()).run(frame)
    tiled = OpenVINOSession(path, _config(tile=40, pad=8))
    with warnings.catch_warnings():
        warnings.simplefilter("error", AutoTilingWarning)
        out = tiled.run(frame)
    assert tiled.tile_plan(100, 150).win_h == 64
    ort = DerainSession(path, SessionConfig.for_provider("cpu", threads=1, tile=40, tile_pad=8))
    assert np.abs(out.astype(int) - ort.run(frame).astype(int)).max() <= 1
    assert tiled.info["tiling"] == {"tile": 40, "pad": 8, "batch": 1}


def test_fixed_batch_model_runs_any_batch(tmp_path):
    shape = (2, 3, "height", "width")
    path = write_blur_model(tmp_path / "b2.onnx", contract=IOContract(input_shape=shape), shape=shape)
    s = OpenVINOSession(path, _config())
    batch = np.stack([_frame(40, 48, seed=i) for i in range(3)])
    out = s.run(batch)
    assert out.shape == batch.shape
    np.testing.assert_array_equal(out[2], s.run(np.stack([batch[2], batch[2]]))[0])


@pytest.mark.parametrize("flags, warns", [("avx512f avx512_vnni", True), ("avx512f avx512_bf16", False)])
def test_bf16_on_a_cpu_without_bf16_units_warns(blur_model, monkeypatch, flags: str, warns: bool):
    from edgederain.runtime import machine

    cpu = machine.CPUFeatures.from_cpuinfo(f"vendor_id\t: GenuineIntel\nmodel name\t: Xeon\nflags\t\t: {flags}\n")
    monkeypatch.setattr(machine.CPUFeatures, "detect", classmethod(lambda cls, *a, **k: cpu))
    base = SessionConfig.for_provider("openvino", threads=1, openvino_precision="bf16")
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        session = OpenVINOSession(blur_model, base)
    emulated = [w for w in seen if "without bf16 units" in str(w.message)]
    assert len(emulated) == int(warns)
    assert session.run(_frame(40, 48)).shape == (40, 48, 3)  # a warning, not a refusal


@pytest.mark.parametrize("flags, scheme, warns", [
    ("avx512f avx512_vnni", "s8s8", True),
    ("avx512f avx512_vnni avx512_bf16 amx_tile amx_int8 amx_bf16", "s8s8", False),
    ("avx512f avx512_vnni", "u8s8", False),
])
def test_s8s8_file_on_a_cpu_without_amx_warns(tmp_path, monkeypatch, flags: str, scheme: str, warns: bool):
    from edgederain.runtime import machine

    cpu = machine.CPUFeatures.from_cpuinfo(f"vendor_id\t: GenuineIntel\nmodel name\t: Xeon\nflags\t\t: {flags}\n")
    monkeypatch.setattr(machine.CPUFeatures, "detect", classmethod(lambda cls, *a, **k: cpu))
    path = write_blur_model(tmp_path / f"{scheme}.onnx",
                            contract=IOContract(precision="int8", calibration={"scheme": scheme}))
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        session = OpenVINOSession(path, _config())
    s8s8 = [w for w in seen if "S8S8" in str(w.message)]
    assert len(s8s8) == int(warns)
    if warns:
        assert "U8S8" in str(s8s8[0].message) and "no amx" in str(s8s8[0].message)
    assert session.run(_frame(40, 48)).shape == (40, 48, 3)  # a warning, not a refusal
