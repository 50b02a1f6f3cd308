"""INT8 from an FP32 graph: calibrate, quantize, gate against FP32 (no torch).

Used by ``export --int8`` (right after tracing) and by ``quantize FP32.onnx`` (on a file written
by ``export``), both in :mod:`~edgederain.export.pipeline`.
"""

from __future__ import annotations

import onnx

from edgederain.calibration.quantize import QuantizeConfig, QuantizeResult, quantize_model, quantized_convs
from edgederain.calibration.reader import CalibrationFrames
from edgederain.errors import CalibrationError
from edgederain.export.data import EvalFrame, has_targets
from edgederain.export.gates import GateReport, Gates, ground_truth_check, run_gate
from edgederain.export.results import enforce
from edgederain.export.parity import OnnxRunner


def load_calibration(
    folder, *, max_frames: int, crop: int | None, min_frames: int, rain: str | None = None
) -> CalibrationFrames:
    """Calibration frames from ``folder`` (with synthetic ``rain`` rendered onto clean frames if
    given); :class:`CalibrationError` if missing, too few or unreadable."""
    if folder is None:
        raise CalibrationError("INT8 needs calibration frames: pass --calib-data DIR")
    if rain is not None:
        return CalibrationFrames.from_synthetic(folder, rain=rain, max_frames=max_frames, crop=crop,
                                                min_frames=min_frames)
    return CalibrationFrames.from_folder(folder, max_frames=max_frames, crop=crop, min_frames=min_frames)


def int8_from_fp32(
    fp32: onnx.ModelProto,
    calib: CalibrationFrames,
    *,
    quantize: QuantizeConfig,
    gates: Gates,
    inputs: dict,
    extremes: dict,
    frames: list[EvalFrame],
    verify: bool = True,
) -> tuple[QuantizeResult, tuple[GateReport, ...]]:
    """Quantize and (if ``verify``) gate; raises :class:`ExportError` when the gate fails."""

    result = quantize_model(fp32, calib, config=quantize)
    done, total = quantized_convs(result.model)
    if done == 0:
        raise CalibrationError(f"quantization left all {total} convs in float; check op_types/keep_float")
    if not verify:
        return result, ()
    ref, cand = OnnxRunner(fp32.SerializeToString()), OnnxRunner(result.model.SerializeToString())
    gate = run_gate("int8_vs_fp32", ref, cand, inputs, threshold_db=gates.int8_vs_fp32_db,
                    reference_label="onnx-fp32", extremes=extremes)
    if has_targets(frames):
        gt = ground_truth_check(ref, cand, frames, max_drop_db=gates.int8_gt_drop_db)
        gate = GateReport(gate.name, gate.reference, gate.summary, gate.results, gate.extreme, gt)
    return result, (enforce(gate),)
