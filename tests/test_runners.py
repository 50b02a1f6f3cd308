"""One loader (export/runners.open_model) and one runner shape; the export paths' shared tail."""

from __future__ import annotations

import numpy as np
import pytest

from edgederain.errors import CheckpointError, ExportError
from edgederain.export.runners import open_model
from export_fixtures import checkpoint, tiny_fp32, write_images


def _old_torch_loop(net, frames: np.ndarray) -> np.ndarray:
    """The frame loop evaluate and bench each had before the loader: uint8 in, uint8 out."""
    import torch

    with torch.inference_mode():
        x = torch.from_numpy(frames).permute(0, 3, 1, 2).float().div_(255.0)
        return net.infer(x).permute(0, 2, 3, 1).mul_(255.0).round_().to(torch.uint8).numpy()


def test_a_checkpoint_runs_frames_as_the_torch_loop_did():
    opened = open_model(checkpoint("tiny"), threads=1)
    rng = np.random.default_rng(0)
    frames = rng.integers(0, 256, (2, 37, 45, 3), dtype=np.uint8)
    expected = _old_torch_loop(opened.runner.net, frames)
    np.testing.assert_array_equal(opened.runner.run(frames), expected)
    np.testing.assert_array_equal(opened.runner.run(frames[1]), expected[1])
    x = frames[:1].transpose(0, 3, 1, 2).astype(np.float32) / 255.0
    assert opened.runner.run_tensor(x).shape == (1, 3, 37, 45)
    assert opened.label == f"pytorch:{checkpoint('tiny').name}"
    assert opened.info["kind"] == "checkpoint" and len(opened.info["sha256"]) == 64


def test_an_onnx_file_opens_as_the_runtime_session_with_the_same_shape():
    from edgederain.runtime import DerainSession

    path, _ = tiny_fp32()
    opened = open_model(path)
    assert isinstance(opened.runner, DerainSession) and opened.label == f"onnx:{path.name}"
    frame = np.full((24, 32, 3), 128, np.uint8)
    torch_out = open_model(checkpoint("tiny")).runner.run(frame)
    out = opened.runner.run(frame)
    assert out.shape == frame.shape and out.dtype == np.uint8
    assert np.abs(out.astype(int) - torch_out.astype(int)).max() <= 1
    assert opened.info == {"kind": "onnx", "path": str(path), "session": repr(opened.runner)}


def test_missing_and_unknown_files_name_the_role(tmp_path):
    with pytest.raises(CheckpointError, match="reference not found; pass a checkpoint"):
        open_model(tmp_path / "missing.pt", role="reference")
    (tmp_path / "notes.txt").write_text("x")
    with pytest.raises(CheckpointError, match=r"unknown reference type '\.txt'"):
        open_model(tmp_path / "notes.txt", role="reference")


def test_bench_torch_times_the_checkpoint_runner_on_the_same_frames():
    from edgederain.bench import BenchConfig, bench_torch, make_frames

    config = BenchConfig(shape=(32, 40), batch=2, warmup=0, iterations=2)
    frames = make_frames(config)
    timing, out = bench_torch(checkpoint("tiny"), frames, config, threads=1)
    assert timing.engine == "torch-eager" and timing.latency.runs == 2 and timing.details["threads"] == 1
    np.testing.assert_array_equal(out, open_model(checkpoint("tiny")).runner.run(frames))


def test_quantize_reloads_its_file_with_the_runtime_and_removes_one_that_differs(tmp_path, monkeypatch):
    from edgederain.export.pipeline import quantize_onnx
    from edgederain.runtime.session import DerainSession

    write_images(tmp_path / "calib", 8, size=(48, 64))
    monkeypatch.setattr(DerainSession, "run_tensor", lambda self, x: np.zeros_like(x))
    with pytest.raises(ExportError, match="the runtime's output differs"):
        quantize_onnx(tiny_fp32()[0], tmp_path / "q.onnx", calib_data=tmp_path / "calib", calib_crop=None)
    assert not (tmp_path / "q.onnx").exists()
