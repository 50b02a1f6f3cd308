"""Integration with the exporter: a checkpoint exported by ``export_onnx`` runs in DerainSession
and matches PyTorch; ``edgederain bench --compare-torch`` times both on the same frames."""

from __future__ import annotations

import json

import numpy as np
import pytest
from typer.testing import CliRunner

from edgederain.cli import app
from edgederain.metrics import psnr
from edgederain.runtime import DerainSession, SessionConfig

torch = pytest.importorskip("torch")


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    from edgederain.export import export_onnx
    from edgederain.model import build_model
    from edgederain.train.checkpoint import save_checkpoint

    d = tmp_path_factory.mktemp("export")
    torch.manual_seed(0)
    net = build_model("tiny")
    with torch.no_grad():  # make the predicted rain layer non-trivial
        net.head.weight.mul_(50.0)
    ckpt = save_checkpoint(d / "tiny.pt", net)
    result = export_onnx(ckpt, d / "tiny.onnx")
    return ckpt, result.path, net.eval()


def test_exported_model_runs_and_matches_torch(exported):
    _, model, net = exported
    session = DerainSession(model, SessionConfig.for_provider("cpu", threads=1))
    assert session.contract.precision == "fp32"
    frame = np.random.default_rng(0).integers(0, 256, (45, 61, 3), dtype=np.uint8)
    out = session.run(frame.astype(np.float32) / 255.0)
    with torch.inference_mode():
        ref = net.infer(torch.from_numpy(frame).permute(2, 0, 1)[None].float() / 255.0)
    ref = ref[0].permute(1, 2, 0).numpy()
    assert psnr(ref, frame.astype(np.float32) / 255.0) < 60  # the net does change the frame
    assert psnr(out, ref) > 80


def test_bench_compare_torch_side_by_side(exported, tmp_path):
    ckpt, model, _ = exported
    out = tmp_path / "bench.json"
    r = CliRunner().invoke(app, ["bench", str(model), "--shape", "32x48", "-n", "3", "--warmup", "1",
                                 "--threads", "1", "--compare-torch", str(ckpt), "--json", str(out)])
    assert r.exit_code == 0, r.output
    data = json.loads(out.read_text())
    assert data["torch"]["engine"] == "torch-eager" and data["torch"]["latency"]["runs"] == 3
    assert data["ratio_onnxruntime_to_torch_p50"] > 0
    psnr_value = data["psnr_torch_vs_onnxruntime"]
    assert psnr_value == "inf" or psnr_value > 40
