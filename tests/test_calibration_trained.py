"""INT8 on a trained network: PSNR vs Rain100L ground truth within 0.3 dB of FP32 (slow).

An untrained network's output is nearly its input, so it says nothing about INT8 accuracy. This
test runs when a trained checkpoint is present (``runs/short/derain_best.pt``, or the path in
``EDGEDERAIN_TRAINED_CHECKPOINT``) and Rain100L is available; it is marked slow (~2 min).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from edgederain.calibration.quantize import QuantizeConfig
from edgederain.export import ExportConfig, export_onnx
from export_fixtures import REPO

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def trained_checkpoint() -> Path:
    path = Path(os.environ.get("EDGEDERAIN_TRAINED_CHECKPOINT", REPO / "runs" / "short" / "derain_best.pt"))
    if not path.is_file():
        pytest.skip(f"no trained checkpoint at {path}")
    return path


def test_int8_within_0_3_db_of_fp32_on_rain100l(trained_checkpoint, rain100l_dir, backgrounds_dir, tmp_path):
    config = ExportConfig(
        precision="int8", verify_data=rain100l_dir, verify_frames=6,
        calib_data=backgrounds_dir / "camvid", calib_rain="light", calib_frames=16,
        quantize=QuantizeConfig(progress=False),
    )
    result = export_onnx(trained_checkpoint, tmp_path / "int8.onnx", config=config)
    gate = next(g for g in result.gates if g.name == "int8_vs_fp32")
    assert gate.ground_truth is not None and gate.ground_truth.frames == 6
    assert gate.ground_truth.drop_db <= 0.3
    assert result.contract.parity["int8_vs_fp32"]["ground_truth"]["passed"]
