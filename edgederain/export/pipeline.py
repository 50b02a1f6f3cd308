"""``export_onnx``: checkpoint -> verified ONNX file (FP32, FP16 or INT8) carrying its contract;
``quantize_onnx``: an exported FP32 file -> INT8, through the same write-and-check tail.

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
from pathlib import Path

import numpy as np
import onnx

from edgederain.calibration.quantize import QuantizeConfig
from edgederain.errors import ContractError, ExportError
from edgederain.export.config import ExportConfig
from edgederain.export.data import EvalFrame, load_eval_frames
from edgederain.export.fp16 import fp16_from_fp32
from edgederain.export.gates import GateReport, Gates, run_gate
from edgederain.export.int8 import int8_from_fp32, load_calibration
from edgederain.export.results import ExportResult, enforce, output_path, parity_record
from edgederain.export.metadata import (
    attach_contract, build_contract, read_contract, save_single_file, tool_versions, utc_now,
)
from edgederain.export.probes import extreme_probe_inputs, fit_frames, probe_inputs
from edgederain.export.parity import OnnxRunner


def _fp32_stage(net, config: ExportConfig, inputs, extremes) -> tuple[onnx.ModelProto, tuple[GateReport, ...], bool]:
    from edgederain.export.onnx_export import export_graph
    from edgederain.export.simplify import simplify_if_equal
    from edgederain.export.torch_runner import TorchRunner

    proto = export_graph(net, opset=config.opset, static_size=config.static_size,
                         batch=config.batch, exporter=config.exporter, upsample=config.upsample_graph)
    simplified = False
    if config.simplify:
        result = simplify_if_equal(proto, inputs)
        proto, simplified = result.model, result.applied
    if not config.verify:
        return proto, (), simplified
    gate = run_gate("fp32_vs_pytorch", TorchRunner(net), OnnxRunner(proto.SerializeToString()),
                    inputs, threshold_db=config.gates.fp32_vs_torch_db,
                    reference_label="pytorch", extremes=extremes)
    return proto, (enforce(gate),), simplified


def _reduced_stage(fp32: onnx.ModelProto, config: ExportConfig, inputs, extremes, frames, calib):
    """FP16 (``Fp16Result``) or INT8 (``QuantizeResult``) from the FP32 graph, with its gates."""
    if config.precision == "fp16":
        return fp16_from_fp32(fp32, backend=config.fp16_backend, gates=config.gates, inputs=inputs,
                              extremes=extremes, verify=config.verify)
    return int8_from_fp32(fp32, calib, quantize=config.quantize, gates=config.gates, inputs=inputs,
                          extremes=extremes, frames=frames, verify=config.verify)


def _write_checked(model: onnx.ModelProto, contract, out: Path, probe: np.ndarray, gates, kept,
                   simplified: bool, start: float) -> ExportResult:
    """Every export's tail: attach the contract, write, reload with the runtime (same output or removed)."""
    from edgederain.runtime.session import DerainSession

    attach_contract(model, contract)
    save_single_file(model, out)
    try:
        got, expected = DerainSession(out).run_tensor(probe), OnnxRunner(model.SerializeToString())(probe)
        if got.shape != expected.shape or not np.allclose(got, expected, atol=1e-5, equal_nan=True):
            raise ExportError(f"{out}: the runtime's output differs from the export check's")
    except Exception:
        out.unlink(missing_ok=True)
        raise
    return ExportResult(out, contract, out.stat().st_size, len(model.graph.node), tuple(gates), tuple(kept),
                        simplified, time.perf_counter() - start)


def _gate_inputs(static_size, batch, verify_data, verify_frames) -> tuple[dict[str, np.ndarray], list[EvalFrame]]:
    """Synthetic probes plus the user's verification frames (fitted to a static shape)."""
    inputs = probe_inputs(static_size, batch)
    frames = load_eval_frames(verify_data, limit=verify_frames or None) if verify_data is not None else []
    inputs.update(fit_frames(frames, static_size, batch))
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
    calib = None  # INT8 calibration frames, loaded before the (slow) trace so bad data fails fast
    if config.precision == "int8":
        calib = load_calibration(config.calib_data, max_frames=config.calib_frames, crop=config.calib_crop,
                                 min_frames=config.min_calib_frames, rain=config.calib_rain)
    inputs, frames = _gate_inputs(config.static_size, config.batch, config.verify_data, config.verify_frames)
    extremes = extreme_probe_inputs(config.static_size, config.batch)
    model, gates, simplified = _fp32_stage(net, config, inputs, extremes)
    kept, settings = (), {}
    if config.precision != "fp32":
        result, more = _reduced_stage(model, config, inputs, extremes, frames, calib)
        model, kept, settings, gates = result.model, result.kept_float, result.settings, gates + more
    contract = build_contract(
        precision=config.precision, model_config=ckpt["model_config"],
        checkpoint_sha256=sha256_of(checkpoint), opset=config.opset,
        input_shape=config.input_shape, size_multiple=net.config.size_multiple,
        calibration=settings if config.precision == "int8" else None,
        parity=parity_record(gates, kept=kept, extra={
            "upsample": config.upsample_graph, **(settings if config.precision == "fp16" else {})}),
    )
    return _write_checked(model, contract, out, next(iter(inputs.values())), gates, kept, simplified, start)


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
) -> ExportResult:
    """INT8 from an exported FP32 model; its contract carried over with the INT8 settings and figures."""
    start = time.perf_counter()
    out = output_path(output)
    fp32 = onnx.load(str(fp32_path))
    contract = read_contract(fp32)
    if contract.precision != "fp32":
        raise ContractError(f"{fp32_path} is a {contract.precision} model; quantize the FP32 export")
    static, batch = contract.fixed_size, contract.fixed_batch
    inputs, frames = _gate_inputs(static, batch, verify_data, verify_frames)
    calib = load_calibration(calib_data, max_frames=calib_frames, crop=calib_crop,
                             min_frames=min_calib_frames, rain=calib_rain)
    result, gate = int8_from_fp32(fp32, calib, quantize=quantize, gates=gates, inputs=inputs,
                                  extremes=extreme_probe_inputs(static, batch), frames=frames)
    new = contract.replace(precision="int8", calibration=result.settings, versions=tool_versions(),
                           created=utc_now(), parity=parity_record(gate, kept=result.kept_float))
    probe = next(iter(inputs.values()))
    return _write_checked(result.model, new, out, probe, gate, result.kept_float, False, start)
