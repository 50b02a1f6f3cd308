"""Evaluation: identity reproduces the input scores; checkpoints and ONNX at full size; outputs."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from edgederain.cli import app
from edgederain.errors import CheckpointError
from edgederain.evaluate import evaluate, evaluate_folder, make_predictor
from edgederain.io import read_rgb, write_image
from edgederain.metrics import image_metrics, psnr
from edgederain.data.pairs import find_pairs
from edgederain.data.synth import add_rain


@pytest.fixture(scope="module")
def paired(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("pairs")
    (root / "rainy").mkdir()
    (root / "clean").mkdir()
    rng = np.random.default_rng(0)
    for i, (h, w) in enumerate([(37, 45), (48, 40), (33, 64)]):  # odd sizes: never cropped
        clean = rng.integers(20, 200, (h, w, 3), dtype=np.uint8)
        write_image(root / "clean" / f"{i}.png", clean)
        write_image(root / "rainy" / f"{i}.png", add_rain(clean, config="medium", rng=i))
    return root


def test_identity_reproduces_input_scores(paired: Path, tmp_path: Path) -> None:
    report = evaluate_folder("identity", paired, grid=tmp_path / "grid.png", progress=False)
    assert report.count == 3
    assert report.mean == pytest.approx(report.input_mean)
    assert all(abs(v) < 1e-12 for v in report.gain.values())
    pairs = find_pairs(paired)
    direct = np.mean([psnr(read_rgb(p.rainy), read_rgb(p.clean)) for p in pairs])
    assert report.mean["psnr_rgb"] == pytest.approx(direct)
    grid = read_rgb(tmp_path / "grid.png")
    assert grid.shape[1] == 3 * 64 + 2 * 4  # rainy | output | clean, widest image 64 px
    report.write_csv(tmp_path / "r.csv")
    rows = list(csv.DictReader((tmp_path / "r.csv").open()))
    assert [r["name"] for r in rows] == ["0.png", "1.png", "2.png"]
    assert {"psnr_y", "ssim_rgb", "input_psnr_rgb", "height", "width"} <= set(rows[0])
    summary = json.loads(report.write_json(tmp_path / "r.json").read_text())
    assert summary["count"] == 3 and "per_image" not in summary and set(summary["gain"]) == set(report.mean)


def test_checkpoint_model_runs_at_full_size(paired: Path, tmp_path: Path) -> None:
    import torch

    from edgederain.model import build_model
    from edgederain.train.checkpoint import save_checkpoint

    torch.manual_seed(0)
    ckpt = save_checkpoint(tmp_path / "tiny.pt", build_model("tiny"))
    seen = []
    predict, info = make_predictor(ckpt, threads=1)

    def spy(frame):
        out = predict(frame)
        seen.append((frame.shape, out.shape, out.dtype))
        return out

    report = evaluate(spy, find_pairs(paired), model_info=info, save_images=tmp_path / "out", progress=False)
    assert all(a == b and dt == np.uint8 for a, b, dt in seen)
    assert [s[0][:2] for s in seen] == [(37, 45), (48, 40), (33, 64)]
    assert info["kind"] == "checkpoint" and len(info["sha256"]) == 64
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["0.png", "1.png", "2.png"]
    saved = read_rgb(tmp_path / "out" / "0.png")
    assert image_metrics(saved, read_rgb(paired / "clean" / "0.png"))["psnr_rgb"] == pytest.approx(
        report.per_image[0]["psnr_rgb"])


def test_unknown_model_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(CheckpointError, match="identity"):
        make_predictor(tmp_path / "missing.pt")


def test_onnx_model_matches_its_checkpoint(paired: Path) -> None:
    pytest.importorskip("onnxruntime")
    pytest.importorskip("onnx")
    from export_fixtures import checkpoint, tiny_fp32

    onnx_path, _ = tiny_fp32()
    a = evaluate_folder(onnx_path, paired, progress=False)
    b = evaluate_folder(checkpoint("tiny"), paired, progress=False, threads=1)
    assert a.model["kind"] == "onnx"
    assert a.mean["psnr_rgb"] == pytest.approx(b.mean["psnr_rgb"], abs=0.05)


def test_cli_evaluate_identity_on_rain100l(rain100l_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "id.json"
    result = CliRunner().invoke(
        app, ["evaluate", "identity", "--data", str(rain100l_dir), "--json", str(out), "--limit", "12",
              "--no-progress"],
    )
    assert result.exit_code == 0, result.output
    summary = json.loads(out.read_text())
    pairs = find_pairs(rain100l_dir)[:12]
    direct = np.mean([psnr(read_rgb(p.rainy), read_rgb(p.clean)) for p in pairs])
    assert summary["mean"]["psnr_rgb"] == pytest.approx(direct) and summary["count"] == 12
    assert 20.0 < direct < 32.0  # Rain100L inputs: 25.5 dB RGB over all 100
    assert (tmp_path / "id.csv").is_file() and (tmp_path / "id_grid.png").is_file()


def test_cli_errors_are_clean(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["evaluate", "identity", "--data", str(tmp_path / "none")])
    assert result.exit_code == 2 and "not found" in result.output


def test_json_is_strict_when_psnr_is_infinite(paired: Path, tmp_path: Path) -> None:
    report = evaluate_folder("identity", paired, progress=False)
    report.input_mean["psnr_rgb"] = float("inf")
    text = report.write_json(tmp_path / "r.json").read_text()
    assert "Infinity" not in text and json.loads(text)["input_mean"]["psnr_rgb"] is None
