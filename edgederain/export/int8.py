"""INT8 from an FP32 graph: calibrate, quantize, gate against FP32 (no torch).

Used by ``export --int8`` (right after tracing) and by ``quantize FP32.onnx`` (on a file written
by ``export``, whose contract is carried over with precision, calibration settings and the INT8
parity figures).
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import onnx

from edgederain.calibration.quantize import QuantizeConfig, QuantizeResult, quantize_model, quantized_convs
from edgederain.calibration.reader import CalibrationFrames
from edgederain.errors import CalibrationError, ContractError
from edgederain.export.data import EvalFrame, has_targets, load_eval_frames
from edgederain.export.gates import GateReport, Gates, ground_truth_check, run_gate
from edgederain.export.results import ExportResult, enforce, output_path, parity_record
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


def quantize_onnx(
    fp32_path: str | os.PathLike,
    output: str | os.PathLike,
    *,
    calib_data: str | os.PathLike,
    quantize: QuantizeConfig = QuantizeConfig(),
    gates: Gates = Gates(),
    verify_data: str | os.PathLike | None = None,
    verify_frames: int = 4,
    calib_frames: int = 32,
    calib_crop: int | None = 256,
    min_calib_frames: int = 8,
    calib_rain: str | None = None,
):
    """Quantize an FP32 model written by ``export`` to ``output``; returns an ExportResult."""
    from edgederain.export.metadata import attach_contract, read_contract, save_single_file, tool_versions, utc_now
    from edgederain.export.probes import extreme_probe_inputs, fit_frames, probe_inputs

    start = time.perf_counter()
    out = output_path(output)
    fp32 = onnx.load(str(fp32_path))
    contract = read_contract(fp32)
    if contract.precision != "fp32":
        raise ContractError(f"{fp32_path} is a {contract.precision} model; quantize the FP32 export")
    static, batch = contract.fixed_size, contract.fixed_batch
    inputs = probe_inputs(static, batch)
    frames = load_eval_frames(verify_data, limit=verify_frames or None) if verify_data else []
    inputs.update(fit_frames(frames, static, batch))
    calib = load_calibration(calib_data, max_frames=calib_frames, crop=calib_crop,
                             min_frames=min_calib_frames, rain=calib_rain)
    result, gate = int8_from_fp32(fp32, calib, quantize=quantize, gates=gates, inputs=inputs,
                                  extremes=extreme_probe_inputs(static, batch), frames=frames)
    new = contract.replace(precision="int8", calibration=result.settings, versions=tool_versions(),
                           created=utc_now(), parity=parity_record(gate, kept=result.kept_float))
    attach_contract(result.model, new)
    save_single_file(result.model, out)
    return ExportResult(Path(out), new, out.stat().st_size, len(result.model.graph.node), gate,
                        result.kept_float, False, time.perf_counter() - start)
