"""Parity results, extreme inputs, synthetic frames and Polygraphy interchange files."""

from __future__ import annotations

import math
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from edgederain.export.parity import (
    compare_outputs, extreme_inputs, psnr_between, summarize, synthetic_frames, write_polygraphy_io,
)


def test_identical_outputs_pass_with_infinite_psnr():
    x = synthetic_frames(1, 16, 16)
    r = compare_outputs(x, x.copy(), threshold_db=60.0)
    assert r.passed and r.max_abs == 0.0 and math.isinf(r.psnr_db)
    assert r.to_dict()["psnr_db"] == "inf"


def test_errors_and_psnr_are_measured():
    ref = np.zeros((1, 3, 10, 10), np.float32)
    cand = ref.copy()
    cand[0, 0, 0, :] = 0.1  # 10 of 300 values off by 0.1
    r = compare_outputs(ref, cand, threshold_db=30.0, label="x")
    assert r.max_abs == pytest.approx(0.1) and r.mean_abs == pytest.approx(0.1 * 10 / 300, rel=1e-5)
    assert r.psnr_db == pytest.approx(10 * math.log10(1.0 / (0.01 * 10 / 300)), rel=1e-5)
    assert r.passed  # 34.8 dB >= 30
    assert not compare_outputs(ref, cand, threshold_db=40.0).passed


def test_nan_and_inf_always_fail():
    ref = np.zeros((1, 3, 4, 4), np.float32)
    cand = ref.copy()
    cand[0, 0, 0, 0], cand[0, 1, 0, 0] = np.nan, np.inf
    r = compare_outputs(ref, cand, threshold_db=-math.inf)
    assert not r.passed and r.nan_count == 1 and r.inf_count == 1
    assert r.max_abs == 0.0  # errors over the finite values


def test_summary_is_the_worst_case():
    a = compare_outputs(np.zeros((1, 3, 4, 4)), np.full((1, 3, 4, 4), 0.01), threshold_db=30, label="a")
    b = compare_outputs(np.zeros((1, 3, 4, 4)), np.full((1, 3, 4, 4), 0.1), threshold_db=30, label="b")
    s = summarize([a, b])
    assert s.psnr_db == b.psnr_db and s.max_abs == b.max_abs and not s.passed and a.passed


def test_extreme_inputs_cover_the_named_cases():
    inputs = extreme_inputs(24, 40)
    assert set(inputs) == {"all_black", "all_white", "saturated_highlights", "high_contrast_streaks", "noise"}
    for name, x in inputs.items():
        assert x.shape == (1, 3, 24, 40) and x.dtype == np.float32, name
        assert 0.0 <= x.min() and x.max() <= 1.0, name
    assert inputs["all_black"].max() == 0.0 and inputs["all_white"].min() == 1.0
    assert (inputs["saturated_highlights"] == 1.0).any()
    assert set(np.unique(inputs["high_contrast_streaks"])) == {0.0, 1.0}


def test_synthetic_frames_are_seeded_and_in_range():
    a, b = synthetic_frames(2, 33, 47, seed=1), synthetic_frames(2, 33, 47, seed=1)
    assert a.shape == (2, 3, 33, 47) and np.array_equal(a, b)
    assert 0.0 <= a.min() and a.max() <= 1.0 and a.std() > 0.05
    assert psnr_between(a, synthetic_frames(2, 33, 47, seed=2)) < 30


def _identity_model(path: Path) -> Path:
    import onnx
    from onnx import TensorProto, helper

    x = helper.make_tensor_value_info("image", TensorProto.FLOAT, ["batch", 3, "height", "width"])
    y = helper.make_tensor_value_info("derained", TensorProto.FLOAT, ["batch", 3, "height", "width"])
    graph = helper.make_graph([helper.make_node("Identity", ["image"], ["derained"])], "g", [x], [y])
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)]), str(path))
    return path


def _polygraphy() -> list[str]:
    exe = Path(sys.executable).with_name("polygraphy")
    if not exe.exists() and shutil.which("polygraphy") is None:
        pytest.skip("polygraphy is not installed")
    return [str(exe) if exe.exists() else "polygraphy"]


def test_polygraphy_rechecks_saved_outputs(tmp_path):
    model = _identity_model(tmp_path / "id.onnx")
    x = synthetic_frames(1, 16, 24)
    good = write_polygraphy_io([{"image": x}], [{"derained": x}], tmp_path / "good")
    bad = write_polygraphy_io([{"image": x}], [{"derained": x + 0.5}], tmp_path / "bad")
    cmd = good.command(model).split()
    run = subprocess.run(_polygraphy() + cmd[1:], capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stdout + run.stderr
    cmd = bad.command(model).split()
    run = subprocess.run(_polygraphy() + cmd[1:], capture_output=True, text=True, timeout=120)
    assert run.returncode != 0
