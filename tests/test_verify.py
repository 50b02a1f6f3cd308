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


@pytest.mark.parametrize("limit", ["0", "-1"])
def test_verify_limit_below_1_is_a_usage_error_naming_the_option(pairs, limit):
    path, _ = tiny_fp32()
    out = runner.invoke(app, ["verify", str(path), "--reference", str(checkpoint("tiny")),
                              "--data", str(pairs), "--limit", limit])
    assert out.exit_code == 2 and "--limit" in out.output and "Traceback" not in out.output


@pytest.mark.parametrize("limit", [0, -1, 1.5])
def test_verify_model_refuses_a_limit_below_1(pairs, limit):
    from edgederain.errors import VerificationError

    path, _ = tiny_fp32()
    with pytest.raises(VerificationError, match="--limit"):
        verify_model(path, reference=checkpoint("tiny"), data=pairs, limit=limit)


def test_verify_limit_uses_exactly_that_many_frames(pairs):
    path, _ = tiny_fp32()
    report = verify_model(path, reference=path, data=pairs, limit=2)
    assert len(report.images) == 2


def test_verify_fail_names_each_failed_gate_with_value_and_threshold(pairs, tmp_path):
    path, _ = tiny_fp32()
    report_path = tmp_path / "r.json"
    out = runner.invoke(app, ["verify", str(path), "--reference", str(checkpoint("tiny")),
                              "--data", str(pairs), "--psnr-threshold", "1000", "--max-gt-drop", "-50",
                              "--json", str(report_path)])
    assert out.exit_code == 1
    report = json.loads(report_path.read_text())
    assert not report["passed"]
    failed = {g["name"]: g for g in report["failed_gates"]}
    assert set(failed) == {"psnr_between_outputs", "ground_truth_drop"}
    psnr = failed["psnr_between_outputs"]
    assert psnr["threshold"] == 1000.0 and psnr["measured"] == min(i["psnr_db"] for i in report["images"])
    assert failed["ground_truth_drop"]["threshold"] == -50.0
    assert failed["ground_truth_drop"]["measured"] == pytest.approx(report["ground_truth"]["drop_db"])
    assert f"gate psnr_between_outputs: FAIL  PSNR between the outputs {psnr['measured']:.2f} dB" in out.output
    assert "threshold >= 1000.0 dB" in out.output and "allowed <= -50.0 dB" in out.output
    assert "FAIL: 2 gate(s) failed" in out.output


def test_verify_report_lists_non_finite_outputs_as_their_own_gate():
    import numpy as np

    from edgederain.export.verify import ImageRecord, VerifyReport
    from edgederain.export.parity import compare_outputs, summarize

    ref = np.full((1, 3, 8, 8), 0.5, np.float32)
    bad = ref.copy()
    bad[0, 0, 0, :3] = np.nan
    records = tuple(ImageRecord(name, compare_outputs(ref, out, threshold_db=40.0, label=name), None, None)
                    for name, out in (("good.png", ref), ("bad.png", bad)))
    report = VerifyReport("m.onnx", "ref", "fp32", 40.0, records, summarize([r.parity for r in records]), None)
    assert not report.passed and not report.summary.passed
    (gate,) = report.failed_gates
    assert gate.name == "finite_outputs" and gate.measured == 3 and gate.threshold == 0
    assert "bad.png" in gate.detail and "3 NaN" in gate.detail


def test_cli_export_gate_failure_exits_1_and_writes_nothing(tmp_path, monkeypatch):
    import functools

    import edgederain.export.config as export_config
    from edgederain.export import Gates

    strict = functools.partial(export_config.ExportConfig, gates=Gates(fp32_vs_torch_db=1000.0))
    monkeypatch.setattr(export_config, "ExportConfig", strict)
    out_model = tmp_path / "m.onnx"
    out = runner.invoke(app, ["export", str(checkpoint("tiny")), "-o", str(out_model), "--no-simplify",
                              "--static", "48x64", "--batch", "1", "--exporter", "torchscript"])
    assert out.exit_code == 1, out.output
    assert "FAIL: gate fp32_vs_pytorch failed: PSNR" in out.output and "< 1000.0 dB" in out.output
    assert not out_model.exists()


def test_cli_quantize_gate_failure_exits_1(tmp_path, monkeypatch):
    from edgederain.export import Gates
    from edgederain.export.pipeline import quantize_onnx
    from export_fixtures import write_images

    monkeypatch.setitem(quantize_onnx.__kwdefaults__, "gates", Gates(int8_vs_fp32_db=1000.0))
    write_images(tmp_path / "calib", 8, size=(48, 64))
    out = runner.invoke(app, ["quantize", str(tiny_fp32()[0]), "-o", str(tmp_path / "q.onnx"),
                              "--calib-data", str(tmp_path / "calib"), "--calib-crop", "0"])
    assert out.exit_code == 1, out.output
    assert "FAIL: gate int8_vs_fp32 failed: PSNR" in out.output and "< 1000.0 dB" in out.output
    assert not (tmp_path / "q.onnx").exists()


def _prenet_pairs(root, count):
    """PReNet layout: rain-N.png and norain-N.png in one folder."""
    paired = write_pairs(root / "src", count, size=(48, 60))
    root.mkdir(exist_ok=True)
    for i, p in enumerate(sorted((paired / "rainy").iterdir()), start=1):
        p.rename(root / f"rain-{i}.png")
        (paired / "clean" / p.name).rename(root / f"norain-{i}.png")
    return root


def test_verify_on_a_prenet_folder_checks_ground_truth(tmp_path):
    path, _ = tiny_fp32()
    data = _prenet_pairs(tmp_path / "prenet", 2)
    out = runner.invoke(app, ["verify", str(path), "--reference", str(checkpoint("tiny")), "--data", str(data)])
    assert out.exit_code == 0, out.output
    assert "on 2 frames" in out.output and "vs ground truth" in out.output


def test_verify_with_a_missing_clean_partner_exits_2_naming_it(tmp_path):
    path, _ = tiny_fp32()
    data = _prenet_pairs(tmp_path / "prenet", 2)
    (data / "norain-2.png").unlink()
    out = runner.invoke(app, ["verify", str(path), "--reference", str(checkpoint("tiny")), "--data", str(data)])
    assert out.exit_code == 2, out.output
    assert "rain-2.png: no clean partner" in out.output and "norain-2.png" in out.output


def test_cli_int8_export_keeps_the_named_groups_in_float(tmp_path):
    """--keep-float: the stem's convolutions stay float (no QDQ around them), the rest is INT8."""
    import onnx
    from export_fixtures import write_images

    from edgederain.onnxgraph.nodes import nodes_in_groups

    write_images(tmp_path / "calib", 8)
    paths = {}
    for name, groups in (("plain", "rlcn,io,veil"), ("stem", "rlcn,io,veil,stem")):
        paths[name] = tmp_path / f"{name}.onnx"
        out = runner.invoke(app, ["export", str(checkpoint("tiny")), "-o", str(paths[name]), "--int8",
                                  "--calib-data", str(tmp_path / "calib"), "--calib-frames", "8",
                                  "--keep-float", groups, "--no-simplify"])
        assert out.exit_code == 0, out.output

    def float_convs(path):
        model = onnx.load(path)
        dequantized = {o for n in model.graph.node if n.op_type == "DequantizeLinear" for o in n.output}
        return {n.name for n in model.graph.node if n.op_type == "Conv" and n.input[0] not in dequantized}

    plain, stem = float_convs(paths["plain"]), float_convs(paths["stem"])
    assert stem > plain  # more convs left in float, and those are the stem's
    stem_nodes = set(nodes_in_groups(onnx.load(paths["stem"]), ["stem"]))
    assert stem - plain and (stem - plain) <= stem_nodes
    bad = runner.invoke(app, ["export", str(checkpoint("tiny")), "-o", str(tmp_path / "x.onnx"), "--int8",
                              "--calib-data", str(tmp_path / "calib"), "--keep-float", "rlcn,nose"])
    assert bad.exit_code == 2 and "nose" in bad.output and not (tmp_path / "x.onnx").exists()
