"""CLI commands: export, quantize, verify, inspect.

Only typer and the standard library are imported at module level; torch, onnx and onnxruntime
are imported inside the commands. Exit codes (:mod:`edgederain.commands.common`): 0 success,
1 a verification gate failed (:class:`~edgederain.errors.GateError`, in export, quantize and
verify alike; the message names the gate, the measured value and the threshold), 2 a user error
(bad file, missing data, bad option...).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

import typer

from edgederain import choices
from edgederain.commands.common import choice_enum, user_errors

Fp16Converter = choice_enum("Fp16Converter", choices.FP16_BACKENDS)
CalibMethod = choice_enum("CalibMethod", choices.CALIB_METHODS)
Int8Scheme = choice_enum("Int8Scheme", choices.INT8_SCHEMES)
Upsample = choice_enum("Upsample", choices.UPSAMPLE_CHOICES)
Exporter = choice_enum("Exporter", choices.EXPORTERS)


def _write_json(path: Optional[Path], data: dict) -> None:
    if path is not None:
        path.write_text(json.dumps(data, indent=2, sort_keys=True))
        typer.echo(f"report written to {path}")


def _echo_result(result) -> None:
    c = result.contract
    typer.echo(f"wrote {result.path} ({result.size_bytes / 1e6:.2f} MB, {c.precision}, opset {c.opset}, "
               f"{result.nodes} nodes, input {list(c.input_shape)}) in {result.seconds:.1f} s")
    for g in result.gates:
        s = g.summary
        typer.echo(f"  gate {g.name}: {'PASS' if g.passed else 'FAIL'}  PSNR {s.psnr_db:.2f} dB "
                   f"(>= {s.threshold_db}), max abs {s.max_abs:.3g}, p99 {s.p99_abs:.3g}, "
                   f"NaN {s.nan_count}, Inf {s.inf_count}")
        if g.ground_truth is not None:
            gt = g.ground_truth
            typer.echo(f"    vs ground truth: {gt.candidate['psnr_rgb']:.2f} dB vs reference "
                       f"{gt.reference['psnr_rgb']:.2f} dB (drop {gt.drop_db:.2f}, max {gt.max_drop_db})")
    if not result.gates:
        typer.echo("  not verified (--no-verify)")


def _result_dict(result) -> dict:
    return {"path": str(result.path), "size_bytes": result.size_bytes, "nodes": result.nodes,
            "seconds": result.seconds, "passed": result.passed,
            "gates": [g.to_dict() for g in result.gates], "contract": result.contract.to_dict()}


KEEP_FLOAT = "rlcn,io,veil"  # QuantizeConfig's default groups, as the CLI spells them


def _groups(text: str) -> tuple[str, ...]:
    """A comma-separated --keep-float value as QuantizeConfig's keep_float."""
    return tuple(g.strip() for g in text.split(",") if g.strip())


def _export_config(*, fp16: bool, int8: bool, static: Optional[str], dynamic: bool, method: str,
                   scheme: str, cache: Optional[Path], keep_float: str = KEEP_FLOAT, **settings):
    """The ExportConfig for the CLI's flags; conflicting flags are errors, not guesses."""
    from edgederain.calibration.quantize import QuantizeConfig
    from edgederain.errors import ExportError
    from edgederain.export.config import ExportConfig, parse_size

    if fp16 and int8:
        raise ExportError("choose one of --fp16 and --int8")
    if static and dynamic:
        raise ExportError("choose one of --static HxW and --dynamic")
    return ExportConfig(
        precision="fp16" if fp16 else "int8" if int8 else "fp32",
        static_size=parse_size(static) if static else None,
        quantize=QuantizeConfig(method=method, scheme=scheme, cache=cache, keep_float=_groups(keep_float)),
        **settings,
    )


def export(
    checkpoint: Path = typer.Argument(..., help="Derain checkpoint (.pt) written by training."),
    output: Path = typer.Option(..., "--output", "-o", help="Output .onnx file."),
    fp16: bool = typer.Option(False, "--fp16", help="FP16 weights/compute (GPU artifact); I/O float32."),
    int8: bool = typer.Option(False, "--int8", help="INT8 QDQ (needs --calib-data)."),
    calib_data: Optional[Path] = typer.Option(None, help="Folder of calibration frames (INT8)."),
    opset: int = typer.Option(18, help="ONNX opset (dynamo: >= 18)."),
    static: Optional[str] = typer.Option(None, "--static", metavar="HxW", help="Fixed input size."),
    dynamic: bool = typer.Option(False, "--dynamic", help="Dynamic N, H, W (the default)."),
    batch: Optional[int] = typer.Option(None, help="Fixed batch size (default: dynamic)."),
    simplify: bool = typer.Option(True, "--simplify/--no-simplify", help="onnxsim if outputs stay equal."),
    verify: bool = typer.Option(True, "--verify/--no-verify", help="Gate the model before writing it."),
    verify_data: Optional[Path] = typer.Option(None, help="Extra frames (or rainy/+clean/) for the gate."),
    verify_frames: int = typer.Option(4, min=0, help="How many frames of --verify-data to use."),
    fp16_converter: Fp16Converter = typer.Option(Fp16Converter.ort, help="FP16 converter."),
    calib_method: CalibMethod = typer.Option(CalibMethod.percentile, help="INT8 range calibration."),
    int8_scheme: Int8Scheme = typer.Option(Int8Scheme.u8s8, help="u8s8 for CPU, s8s8 for TensorRT."),
    calib_frames: int = typer.Option(32, min=1, help="Calibration frames to use."),
    calib_rain: Optional[str] = typer.Option(None, help="Render this synthetic rain preset onto "
                                             "--calib-data (clean frames), e.g. light."),
    calib_cache: Optional[Path] = typer.Option(None, help="Reusable calibration cache (JSON)."),
    keep_float: str = typer.Option(KEEP_FLOAT, help="INT8: comma-separated node groups kept in "
                                   f"float ({', '.join(choices.KEEP_GROUPS)}); e.g. add stem when "
                                   "INT8 loses accuracy against ground truth."),
    exporter: Exporter = typer.Option(Exporter.dynamo, help="dynamo (opset >= 18) or torchscript."),
    upsample: Upsample = typer.Option(Upsample.auto, help="Decoder upsampling graph: subpixel (fewer "
                                      "MACs; auto for FP32/FP16) or resize (auto for INT8)."),
    json_out: Optional[Path] = typer.Option(None, "--json", help="Write the export report as JSON."),
) -> None:
    """Export CHECKPOINT to ONNX (FP32 by default), verified, with its contract inside."""
    with user_errors():
        from edgederain.export.pipeline import export_onnx

        config = _export_config(
            fp16=fp16, int8=int8, static=static, dynamic=dynamic, opset=opset, exporter=exporter.value,
            upsample=upsample.value,
            batch=batch, simplify=simplify, verify=verify, fp16_backend=fp16_converter.value,
            verify_data=verify_data, verify_frames=verify_frames, calib_data=calib_data,
            calib_frames=calib_frames, calib_rain=calib_rain, method=calib_method.value,
            scheme=int8_scheme.value, cache=calib_cache, keep_float=keep_float,
        )
        result = export_onnx(checkpoint, output, config=config)
    _echo_result(result)
    _write_json(json_out, _result_dict(result))


def quantize(
    model: Path = typer.Argument(..., help="FP32 .onnx written by `edgederain export`."),
    output: Path = typer.Option(..., "--output", "-o", help="Output INT8 .onnx file."),
    calib_data: Path = typer.Option(..., help="Folder of calibration frames."),
    method: CalibMethod = typer.Option(CalibMethod.percentile, help="Range calibration method."),
    scheme: Int8Scheme = typer.Option(Int8Scheme.u8s8, help="u8s8 for CPU, s8s8 for TensorRT."),
    per_channel: bool = typer.Option(True, "--per-channel/--per-tensor", help="Weight scales."),
    keep_float: str = typer.Option(KEEP_FLOAT, help="Comma-separated node groups kept in float "
                                   f"({', '.join(choices.KEEP_GROUPS)})."),
    convs_only: bool = typer.Option(False, "--convs-only", help="Quantize only Conv nodes."),
    calib_frames: int = typer.Option(32, min=1, help="Calibration frames to use."),
    calib_crop: int = typer.Option(256, min=0, help="Centre-crop side for calibration frames (0: none)."),
    calib_rain: Optional[str] = typer.Option(None, help="Render this synthetic rain preset onto "
                                             "--calib-data (clean frames), e.g. light."),
    cache: Optional[Path] = typer.Option(None, help="Reusable calibration cache (JSON)."),
    verify_data: Optional[Path] = typer.Option(None, help="Frames (or rainy/+clean/) for the gate."),
    verify_frames: int = typer.Option(4, min=0, help="How many frames of --verify-data to use."),
    json_out: Optional[Path] = typer.Option(None, "--json", help="Write the report as JSON."),
) -> None:
    """Quantize an FP32 export to INT8 (static QDQ), gated against the FP32 model."""
    with user_errors():
        from edgederain.calibration.quantize import QuantizeConfig
        from edgederain.export.pipeline import quantize_onnx

        config = QuantizeConfig(
            method=method.value, scheme=scheme.value, per_channel=per_channel,
            keep_float=_groups(keep_float),
            op_types=("Conv",) if convs_only else None, cache=cache,
        )
        result = quantize_onnx(model, output, calib_data=calib_data, quantize=config,
                               verify_data=verify_data, verify_frames=verify_frames,
                               calib_frames=calib_frames, calib_crop=calib_crop or None,
                               calib_rain=calib_rain)
    _echo_result(result)
    if (result.contract.calibration or {}).get("upsample") == "subpixel":
        typer.echo("  note: this FP32 graph upsamples as subpixel (DepthToSpace); on the CPU provider "
                   "INT8 runs faster from a resize graph: `edgederain export --int8` or "
                   "`export --upsample resize` first", err=True)
    _write_json(json_out, _result_dict(result))


def verify(
    model: Path = typer.Argument(..., help="ONNX model to check."),
    reference: Path = typer.Option(..., help="Reference: checkpoint (.pt) or .onnx model."),
    data: Path = typer.Option(..., help="Folder of frames, or rainy/ + clean/ pairs."),
    psnr_threshold: Optional[float] = typer.Option(None, help="dB; default by precision (60/45/30)."),
    max_gt_drop: Optional[float] = typer.Option(None, help="Max PSNR-vs-GT drop (dB); INT8 default 0.3."),
    limit: Optional[int] = typer.Option(None, min=1, help="Use only the first N frames (N >= 1)."),
    polygraphy_dir: Optional[Path] = typer.Option(None, help="Write Polygraphy inputs/outputs here."),
    json_out: Optional[Path] = typer.Option(None, "--json", help="Write the full report as JSON."),
) -> None:
    """Compare MODEL with a reference on frames; exit 1 if it fails the threshold (CI gate)."""
    with user_errors():
        from edgederain.export.verify import verify_model

        report = verify_model(model, reference=reference, data=data, threshold_db=psnr_threshold,
                              max_gt_drop_db=max_gt_drop, limit=limit, polygraphy_dir=polygraphy_dir)
    s = report.summary
    typer.echo(f"{report.model} vs {report.reference} on {len(report.images)} frames:")
    typer.echo(f"  PSNR between outputs min {s.psnr_db:.2f} dB (threshold {report.threshold_db}), "
               f"max abs {s.max_abs:.3g}, mean abs {s.mean_abs:.3g}, p99 {s.p99_abs:.3g}, "
               f"NaN {s.nan_count}, Inf {s.inf_count}")
    gt = report.ground_truth
    if gt is not None:
        m, r = gt["model"], gt["reference"]
        typer.echo(f"  vs ground truth: model {m['psnr_rgb']:.2f} dB / SSIM {m['ssim_rgb']:.4f} (Y "
                   f"{m['psnr_y']:.2f} / {m['ssim_y']:.4f}); reference {r['psnr_rgb']:.2f} / "
                   f"{r['ssim_rgb']:.4f} (Y {r['psnr_y']:.2f} / {r['ssim_y']:.4f})")
    if report.polygraphy is not None:
        typer.echo(f"  re-check with: {report.polygraphy.command(report.model)}")
    _write_json(json_out, report.to_dict())
    if report.passed:
        typer.echo("PASS")
        return
    failed = report.failed_gates
    for g in failed:
        typer.echo(f"  gate {g.name}: FAIL  {g.detail}")
    with user_errors():
        from edgederain.errors import GateError

        raise GateError(f"{len(failed)} gate(s) failed: " + "; ".join(
            f"{g.name} ({g.measured:.4g} against threshold {g.threshold:g})" for g in failed), gates=failed)


def inspect(
    model: Path = typer.Argument(..., help="ONNX model."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Print a model's contract, inputs/outputs, opset, IR version and op counts."""
    with user_errors():
        from edgederain.export.inspect_model import inspect_model

        summary = inspect_model(model)
    if as_json:
        typer.echo(json.dumps(summary.to_dict(), indent=2, sort_keys=True))
        return
    typer.echo(f"{summary.path}: {summary.size_bytes / 1e6:.2f} MB, IR {summary.ir_version}, "
               f"opsets {summary.opsets}, producer {summary.producer}")
    for kind, tensors in (("input", summary.inputs), ("output", summary.outputs)):
        for t in tensors:
            typer.echo(f"  {kind} {t.name}: {t.dtype} {list(t.shape)}")
    typer.echo(f"  {summary.nodes} nodes: " + ", ".join(f"{k} {v}" for k, v in summary.op_counts.items()))
    if summary.contract is None:
        typer.echo(f"  contract: none ({summary.contract_error})")
    else:
        typer.echo("  contract: " + summary.contract.to_json(indent=2).replace("\n", "\n  "))


def register(app: typer.Typer) -> None:
    """Add this area's commands to ``app``."""
    app.command("export")(export)
    app.command("quantize")(quantize)
    app.command("verify")(verify)
    app.command("inspect")(inspect)
