"""``edgederain verify`` and the CLI export: reports, exit codes a CI job can gate on."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from edgederain.cli import app
from edgederain.export.verify import verify_model
from export_fixtures import checkpoint, tiny_fp32, write_pairs

runner = CliRunner()


@pytest.fixture(scope="module")
def pairs(tmp_path_factory):
    return write_pairs(tmp_path_factory.mktemp("pairs"), 3, size=(48, 60))


def test_verify_against_checkpoint_passes_with_report(pairs, tmp_path):
    path, _ = tiny_fp32()
    report_path = tmp_path / "report.json"
    out = runner.invoke(app, ["verify", str(path), "--reference", str(checkpoint("tiny")),
                              "--data", str(pairs), "--json", str(report_path),
                              "--polygraphy-dir", str(tmp_path / "pg")])
    assert out.exit_code == 0, out.output
    assert "PASS" in out.output and "vs ground truth" in out.output
    report = json.loads(report_path.read_text())
    assert report["passed"] and report["threshold_db"] == 60.0 and len(report["images"]) == 3
    assert {"max_abs", "mean_abs", "p99_abs", "psnr_db", "nan_count"} <= set(report["images"][0])
    assert set(report["ground_truth"]["model"]) == {"psnr_rgb", "ssim_rgb", "psnr_y", "ssim_y"}
    assert (tmp_path / "pg" / "inputs.json").is_file() and "polygraphy run" in report["polygraphy"]["command"]


def test_verify_fails_with_exit_1_above_threshold(pairs):
    path, _ = tiny_fp32()
    out = runner.invoke(app, ["verify", str(path), "--reference", str(checkpoint("tiny")),
                              "--data", str(pairs), "--psnr-threshold", "1000"])
    assert out.exit_code == 1 and "FAIL" in out.output


def test_verify_against_another_onnx_model(pairs):
    path, _ = tiny_fp32()
    report = verify_model(path, reference=path, data=pairs)
    assert report.passed and report.reference.startswith("onnx:") and report.summary.max_abs == 0.0


@pytest.mark.parametrize("reference", ["missing.pt", "notes.txt"])
def test_bad_reference_exits_2(pairs, tmp_path, reference):
    (tmp_path / "notes.txt").write_text("x")
    path, _ = tiny_fp32()
    out = runner.invoke(app, ["verify", str(path), "--reference", str(tmp_path / reference),
                              "--data", str(pairs)])
    assert out.exit_code == 2 and "reference" in out.output


def test_cli_export_static_with_json(tmp_path):
    out_model, report = tmp_path / "s.onnx", tmp_path / "export.json"
    out = runner.invoke(app, ["export", str(checkpoint("tiny")), "-o", str(out_model),
                              "--static", "48x64", "--batch", "1", "--no-simplify", "--json", str(report)])
    assert out.exit_code == 0, out.output
    assert "gate fp32_vs_pytorch: PASS" in out.output
    data = json.loads(report.read_text())
    assert data["contract"]["input_shape"] == [1, 3, 48, 64] and data["passed"]


@pytest.mark.parametrize("args, message", [
    (["--fp16", "--int8"], "choose one of --fp16 and --int8"),
    (["--int8"], "--calib-data"),
    (["--static", "64by64"], "HEIGHTxWIDTH"),
])
def test_cli_export_argument_errors(tmp_path, args, message):
    out = runner.invoke(app, ["export", str(checkpoint("tiny")), "-o", str(tmp_path / "m.onnx"), *args])
    assert out.exit_code == 2 and message in out.output


def test_cli_export_missing_checkpoint(tmp_path):
    out = runner.invoke(app, ["export", str(tmp_path / "none.pt"), "-o", str(tmp_path / "m.onnx")])
    assert out.exit_code == 2 and "checkpoint not found" in out.output


def test_verify_on_rain100l(rain100l_dir):
    path, _ = tiny_fp32()
    report = verify_model(path, reference=checkpoint("tiny"), data=rain100l_dir, limit=2)
    assert report.passed and report.summary.psnr_db >= 60.0
    assert report.ground_truth["frames"] == 2


def test_cli_int8_export_with_too_few_calibration_frames(tmp_path):
    from export_fixtures import write_images

    write_images(tmp_path / "calib", 3)
    out = runner.invoke(app, ["export", str(checkpoint("tiny")), "-o", str(tmp_path / "m.onnx"),
                              "--int8", "--calib-data", str(tmp_path / "calib")])
    assert out.exit_code == 2 and "3 calibration frame(s), need at least 8" in out.output
    assert not (tmp_path / "m.onnx").exists()


def test_cli_int8_export_with_unreadable_calibration_image(tmp_path):
    from export_fixtures import write_images

    write_images(tmp_path / "calib", 8)
    (tmp_path / "calib" / "2.png").write_bytes(b"")
    out = runner.invoke(app, ["export", str(checkpoint("tiny")), "-o", str(tmp_path / "m.onnx"),
                              "--int8", "--calib-data", str(tmp_path / "calib")])
    assert out.exit_code == 2 and "unreadable calibration image" in out.output and "2.png" in out.output
