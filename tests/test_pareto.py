"""benchmarks/pareto.py --quick on a stand-in model folder: the JSON's structure and sanity.

The stand-in is the ``tiny`` preset with seeded, lively random weights (its rain layer is as
strong as real rain), exported FP32 without gates and quantized to INT8 on eight generated
frames; the evaluation sets are a few small synthetic pairs, so the run takes seconds.
"""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path

import numpy as np
import pytest
from benchmark_module import load_benchmark

pytest.importorskip("torch")


@pytest.fixture(scope="module")
def pareto():
    return load_benchmark("pareto")


def _clean_images(folder: Path, count: int, size=(64, 96)) -> list[Path]:
    from edgederain.io import write_image

    folder.mkdir(parents=True)
    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[: size[0], : size[1]] / max(size)
    paths = []
    for i in range(count):
        base = np.stack([np.sin((c + 1 + i) * 3 * xx + yy * (2 + c)) for c in range(3)], -1) * 0.35 + 0.5
        img = np.clip(base + rng.normal(0, 0.03, base.shape), 0, 1)
        paths.append(write_image(folder / f"{i:02d}.png", (img * 255).astype(np.uint8)))
    return paths


@pytest.fixture(scope="module")
def stand_in(tmp_path_factory, pareto):
    """(model folder, pairs folder) of the tiny stand-in."""
    from typer.testing import CliRunner

    from bench_runtime import lively_checkpoint
    from edgederain.cli import app
    from edgederain.data.synth_folder import write_synthetic_pairs

    root = tmp_path_factory.mktemp("pareto")
    clean = _clean_images(root / "frames", 8)
    write_synthetic_pairs(clean[:3], root / "pairs", rain="heavy", seed=1)
    model = root / "tiny"
    model.mkdir()
    lively_checkpoint(model / "derain.pt", preset="tiny")
    runner = CliRunner()
    for argv in (["export", str(model / "derain.pt"), "-o", str(model / "derain_fp32.onnx"), "--no-verify",
                  "--no-simplify"],
                 ["quantize", str(model / "derain_fp32.onnx"), "-o", str(model / "derain_int8.onnx"),
                  "--calib-data", str(root / "frames"), "--calib-frames", "8", "--calib-crop", "0",
                  "--verify-frames", "0"]):
        result = runner.invoke(app, argv)
        assert result.exit_code == 0, result.output
    return model, root / "pairs"


@pytest.fixture(scope="module")
def quick(stand_in, pareto, tmp_path_factory):
    model, pairs = stand_in
    out = tmp_path_factory.mktemp("pareto-out")
    argv = ["--quick", "--model", f"thesis={model}", "--model", f"lite={model}", "--rain100l", str(pairs),
            "--heavy", str(pairs), "--out", str(out / "pareto.json"), "--plot", str(out / "pareto.png"),
            "--markdown"]
    return pareto.main(argv), out


def test_rows_complexity_and_ratios(quick, stand_in):
    from edgederain.model.summary import conv_macs
    from edgederain.train.checkpoint import load_derain_model

    result, out = quick
    assert [r["name"] for r in result["rows"]] == ["thesis", "lite", "rainy input"]
    net, _ = load_derain_model(stand_in[0] / "derain.pt")
    macs = conv_macs(net, 64, 96)[0]
    for row in result["rows"][:2]:
        assert row["macs"] == macs and row["gmac"] == pytest.approx(macs / 1e9)
        assert row["gmac_ratio_to_reference"] == pytest.approx(1.0)
        assert row["parameters"] == sum(p.numel() for p in net.parameters())
        assert row["file_checks"] == {"fp32": {"precision": "fp32", "checkpoint_matches": True},
                                      "int8": {"precision": "int8", "checkpoint_matches": True}}
    assert result["rows"][0]["latency"]["ort_fp32"]["ratio_to_reference"] == pytest.approx(1.0)
    assert result["rows"][2]["parameters"] == 0 and result["rows"][2]["latency"] == {}
    saved = json.loads((out / "pareto.json").read_text())
    assert saved["settings"]["size_hw"] == [64, 96] and saved["settings"]["iterations"] == 2


def test_every_runtime_timed_or_unavailable_with_a_reason(quick, pareto):
    result, _ = quick
    try:
        import openvino  # noqa: F401
        have_openvino = True
    except ImportError:
        have_openvino = False
    for row in result["rows"][:2]:
        assert set(row["latency"]) == {*pareto.RUNTIMES, "torch_eager"}
        for runtime, st in row["latency"].items():
            if runtime.startswith("openvino") and not have_openvino:
                assert "openvino" in st["unavailable"]
                continue
            assert st["runs"] == 2 and 0 < st["min_ms"] <= st["median_ms"] <= st["p90_ms"] <= st["max_ms"]
            assert st["ratio_to_torch"] > 0
            if runtime != "ort_fp32":
                assert math.isfinite(st["psnr_vs_fp32"]["mean_db"]) and st["psnr_vs_fp32"]["mean_db"] > 20
        assert row["latency"]["ort_int8"]["engine"] == "onnxruntime"


def test_quality_finite_and_input_row(quick):
    result, _ = quick
    inp = result["rows"][2]["quality"]
    for dataset in ("rain100l", "heavy"):
        assert inp[dataset]["input"]["count"] == 3 and math.isfinite(inp[dataset]["input"]["psnr_y"])
        for row in result["rows"][:2]:
            scores = row["quality"][dataset]
            assert {"ort_fp32", "ort_int8"} <= set(scores)
            for metrics in scores.values():
                assert metrics["count"] == 3
                assert all(math.isfinite(metrics[k]) for k in ("psnr_y", "ssim_y", "psnr_rgb", "ssim_rgb"))
                assert 0 < metrics["ssim_y"] <= 1


def test_machine_plot_and_markdown(quick, pareto, capsys):
    result, out = quick
    assert "summary" in result["machine"]["isa"] and "onnxruntime" in result["versions"]
    assert len(result["load_before"]) == 3 and result["cpu_kind"] in ("xeon_amx", "xeon_avx512", "xeon", "epyc", "cpu")
    error = result["plot"]["error"]
    assert (out / "pareto.png").is_file() if error is None else "matplotlib" in error
    table = pareto.markdown(result).splitlines()
    assert table[0].startswith("| model | params | GMAC 96x64 | ORT FP32 ms")
    assert [line.split(" | ")[0] for line in table[2:5]] == ["| thesis", "| lite", "| rainy input"]


def test_openvino_missing_is_reported(stand_in, pareto, monkeypatch):
    monkeypatch.setitem(sys.modules, "openvino", None)
    model = pareto.ModelFiles.parse(f"m={stand_in[0]}")
    sessions, _, missing = pareto.open_all([model], threads=1)
    assert set(sessions) == {"m/ort_fp32", "m/ort_int8"}
    assert set(missing) == {"m/openvino_bf16", "m/openvino_int8"}
    assert all("pip install openvino" in v["unavailable"] for v in missing.values())


def test_bad_arguments_say_what_is_wrong(pareto, stand_in, tmp_path, capsys):
    model = stand_in[0]
    for argv, message in ((["--model", "nofolder"], "expected NAME=FOLDER"),
                          (["--model", f"x={tmp_path}"], "missing"),
                          (["--model", f"x={model}", "--size", "big"], "--size must be HxW"),
                          (["--model", f"x={model}"], "--reference 'thesis' is not one of the models"),
                          (["--model", f"x={model}", "--model", f"x={model}", "--reference", "x"], "must differ")):
        with pytest.raises(SystemExit) as exc:
            pareto.parse_args(argv)
        assert exc.value.code == 2 and message in capsys.readouterr().err


@pytest.mark.parametrize("isa, kind", [
    ({"vendor": "GenuineIntel", "amx": True, "avx512": True}, "xeon_amx"),
    ({"vendor": "GenuineIntel", "amx": False, "avx512": True}, "xeon_avx512"),
    ({"vendor": "GenuineIntel", "amx": False, "avx512": False}, "xeon"),
    ({"vendor": "AuthenticAMD", "amx": False, "avx512": True}, "epyc"),
    ({}, "cpu"),
])
def test_result_file_names_the_kind_of_cpu(pareto, isa: dict, kind: str) -> None:
    assert pareto.cpu_kind(isa) == kind
