"""``export_onnx``: checkpoint -> verified ONNX file (FP32, FP16 or INT8) carrying its contract.

Steps: load the checkpoint; trace the FP32 graph (:mod:`~edgederain.export.onnx_export`);
simplify if outputs stay equal; gate FP32 against PyTorch; convert to FP16 or quantize to INT8
and gate that against the FP32 graph; attach the contract with the measured parity figures;
write one self-contained file; reload it with the runtime's :class:`DerainSession` to check the
runtime accepts what was written. A model that fails its gate is not written
(:class:`~edgederain.errors.ExportError` says which figure failed).
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import onnx

from edgederain.errors import ExportError
from edgederain.export.config import ExportConfig
from edgederain.export.data import EvalFrame, load_eval_frames
from edgederain.export.gates import GateReport, run_gate
from edgederain.export.results import ExportResult, enforce, output_path, parity_record
from edgederain.export.metadata import attach_contract, build_contract, save_single_file
from edgederain.export.probes import extreme_probe_inputs, fit_frames, probe_inputs
from edgederain.export.parity import OnnxRunner


@dataclass(frozen=True)
class _Stage:
    model: onnx.ModelProto
    gates: tuple[GateReport, ...]
    kept: tuple[str, ...] = ()
    calibration: dict | None = None


def _fp32_stage(net, config: ExportConfig, inputs, extremes) -> tuple[_Stage, bool]:
    from edgederain.export.onnx_export import export_graph
    from edgederain.export.simplify import simplify_if_equal
    from edgederain.export.torch_runner import TorchRunner

    proto = export_graph(net, opset=config.opset, static_size=config.static_size,
                         batch=config.batch, exporter=config.exporter, upsample=config.upsample_graph)
    simplified = False
    if config.simplify:
        result = simplify_if_equal(proto, inputs)
        proto, simplified = result.model, result.applied
    gates: tuple[GateReport, ...] = ()
    if config.verify:
        gate = run_gate("fp32_vs_pytorch", TorchRunner(net), OnnxRunner(proto.SerializeToString()),
                        inputs, threshold_db=config.gates.fp32_vs_torch_db,
                        reference_label="pytorch", extremes=extremes)
        gates = (enforce(gate),)
    return _Stage(proto, gates), simplified


def _fp16_stage(fp32: onnx.ModelProto, config: ExportConfig, inputs, extremes) -> _Stage:
    from edgederain.onnxgraph.nodes import nodes_in_groups
    from edgederain.export.fp16 import convert_fp16, overflowing_nodes

    overflow = overflowing_nodes(fp32, {**inputs, **extremes})
    fp16 = convert_fp16(fp32, keep_fp32=overflow, backend=config.fp16_backend)
    kept = tuple(sorted(set(nodes_in_groups(fp32, ["rlcn"])) | set(overflow)))
    gates: tuple[GateReport, ...] = ()
    if config.verify:
        gate = run_gate("fp16_vs_fp32", OnnxRunner(fp32.SerializeToString()),
                        OnnxRunner(fp16.SerializeToString()), inputs,
                        threshold_db=config.gates.fp16_vs_fp32_db, reference_label="onnx-fp32",
                        extremes=extremes)
        gates = (enforce(gate),)
    return _Stage(fp16, gates, kept, {"fp16_backend": config.fp16_backend, "overflow_nodes": overflow})


def _int8_stage(fp32, config: ExportConfig, inputs, extremes, frames: list[EvalFrame], calib) -> _Stage:
    from edgederain.export.int8 import int8_from_fp32

    result, gates = int8_from_fp32(fp32, calib, quantize=config.quantize, gates=config.gates,
                                   inputs=inputs, extremes=extremes, frames=frames,
                                   verify=config.verify)
    return _Stage(result.model, gates, result.kept_float, result.settings)


def _calibration(config: ExportConfig):
    """INT8 calibration frames, loaded before the (slow) trace so bad data fails fast."""
    if config.precision != "int8":
        return None
    from edgederain.export.int8 import load_calibration

    return load_calibration(config.calib_data, max_frames=config.calib_frames, crop=config.calib_crop,
                            min_frames=config.min_calib_frames, rain=config.calib_rain)


def _runtime_check(path: Path, x: np.ndarray, expected: np.ndarray) -> None:
    """Reload the written file with the runtime; it must accept it and give the same output."""
    from edgederain.runtime.session import DerainSession

    got = DerainSession(path).run_tensor(x)
    if got.shape != expected.shape or not np.allclose(got, expected, atol=1e-5, equal_nan=True):
        raise ExportError(f"{path}: the runtime's output differs from the export check's")


def _gate_inputs(config: ExportConfig) -> tuple[dict[str, np.ndarray], list[EvalFrame]]:
    """Synthetic probes plus the user's verification frames (fitted to a static shape)."""
    inputs = probe_inputs(config.static_size, config.batch)
    if config.verify_data is None:
        return inputs, []
    frames = load_eval_frames(config.verify_data, limit=config.verify_frames or None)
    inputs.update(fit_frames(frames, config.static_size, config.batch))
    return inputs, frames


def export_onnx(
    checkpoint: str | os.PathLike,
    output: str | os.PathLike,
    *,
    config: ExportConfig = ExportConfig(),
) -> ExportResult:
    """Export ``checkpoint`` to ``output`` (.onnx) as ``config`` says; see the module docstring."""
    from edgederain.train.checkpoint import load_derain_model, sha256_of

    start = time.perf_counter()
    out = output_path(output)
    net, ckpt = load_derain_model(checkpoint)
    calib = _calibration(config)
    inputs, frames = _gate_inputs(config)
    extremes = extreme_probe_inputs(config.static_size, config.batch)
    fp32, simplified = _fp32_stage(net, config, inputs, extremes)
    stage = fp32
    if config.precision == "fp16":
        stage = _fp16_stage(fp32.model, config, inputs, extremes)
    elif config.precision == "int8":
        stage = _int8_stage(fp32.model, config, inputs, extremes, frames, calib)
    gates = fp32.gates + (stage.gates if stage is not fp32 else ())
    contract = build_contract(
        precision=config.precision, model_config=ckpt["model_config"],
        checkpoint_sha256=sha256_of(checkpoint), opset=config.opset,
        input_shape=config.input_shape, size_multiple=net.config.size_multiple,
        calibration=stage.calibration if config.precision == "int8" else None,
        parity=parity_record(gates, kept=stage.kept, extra={
            "upsample": config.upsample_graph, **(stage.calibration if config.precision == "fp16" else {})}),
    )
    attach_contract(stage.model, contract)
    save_single_file(stage.model, out)
    probe = next(iter(inputs.values()))
    try:
        _runtime_check(out, probe, OnnxRunner(stage.model.SerializeToString())(probe))
    except Exception:
        out.unlink(missing_ok=True)
        raise
    return ExportResult(out, contract, out.stat().st_size, len(stage.model.graph.node), gates,
                        stage.kept, simplified, time.perf_counter() - start)
