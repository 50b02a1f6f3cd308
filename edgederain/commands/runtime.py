"""CLI commands: derain (files, folders, globs, videos) and bench (latency/throughput/memory).

Only typer and the standard library at module level: numpy, onnxruntime, Pillow, PyAV and torch
are imported inside the commands that need them.
"""

from __future__ import annotations

import json
from enum import Enum
from pathlib import Path
from typing import List, Optional

import typer

from edgederain.commands.common import user_errors


class ProviderChoice(str, Enum):
    cpu = "cpu"
    cuda = "cuda"
    tensorrt = "tensorrt"
    openvino = "openvino"


class PrecisionChoice(str, Enum):
    f32 = "f32"
    bf16 = "bf16"


class PolicyChoice(str, Enum):
    convert = "convert"
    refuse = "refuse"


_PROVIDER = typer.Option(ProviderChoice.cpu, "--provider", "-p", help="Execution provider (its conventional chain).")
_THREADS = typer.Option(0, "--threads", help="CPU/OpenVINO threads (0: the provider's default).")
_FALLBACK = typer.Option(False, "--allow-fallback", help="Run on what is available instead of failing when the provider is missing.")
_PRECISION = typer.Option(PrecisionChoice.f32, "--precision", help="OpenVINO inference precision (f32, or bf16 on CPUs with bf16 units).")
_TILE = typer.Option(None, "--tile", help="Tile frames larger than TILE + 2*PAD pixels (core tile size).")
_TILE_PAD = typer.Option(32, "--tile-pad", help="Context pixels around each tile; neighbours overlap by 2*PAD.")


def _session_config(provider, threads, fallback, precision, tile, tile_pad, max_batch=None):
    from edgederain.runtime import SessionConfig

    return SessionConfig.for_provider(
        provider.value, threads=threads, allow_fallback=fallback, tile=tile, tile_pad=tile_pad,
        max_batch=max_batch, openvino_precision=precision.value,
    )


def _resolve_output(out: Path, n_inputs: int) -> bool:
    """True when OUT names a single output file; creates the folder otherwise."""
    from edgederain.derain_files import MEDIA_SUFFIXES
    from edgederain.errors import ImageWriteError

    if out.suffix.lower() in MEDIA_SUFFIXES and not out.is_dir():
        if n_inputs != 1:
            raise ImageWriteError(f"{out} looks like a file but there are {n_inputs} inputs; pass a folder")
        return True
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ImageWriteError(f"{out}: cannot create the output folder ({exc.strerror or exc})") from None
    import os

    if not os.access(out, os.W_OK):
        raise ImageWriteError(f"{out}: output folder is not writable")
    return False


def derain(
    inputs: List[str] = typer.Argument(..., help="Image/video files, folders or glob patterns."),
    output: Path = typer.Option(..., "--output", "-o", help="Output folder (or a file, for one input)."),
    model: Optional[Path] = typer.Option(None, "--model", "-m", help="Exported .onnx model."),
    provider: ProviderChoice = _PROVIDER,
    threads: int = _THREADS,
    allow_fallback: bool = _FALLBACK,
    precision: PrecisionChoice = _PRECISION,
    tile: Optional[int] = _TILE,
    tile_pad: int = _TILE_PAD,
    batch: int = typer.Option(1, "--batch", help="Run up to N same-sized images together."),
    fmt: Optional[str] = typer.Option(None, "--format", help="Output image suffix, e.g. png (default: the input's)."),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace existing outputs (never inputs)."),
    alpha: PolicyChoice = typer.Option(PolicyChoice.convert, "--alpha", help="RGBA/LA inputs: drop alpha, or refuse."),
    high_bit_depth: PolicyChoice = typer.Option(PolicyChoice.convert, "--high-bit-depth", help="16-bit inputs: reduce to 8 bits, or refuse."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bar or per-file notes."),
) -> None:
    """Derain images and videos with an exported model; writes outputs atomically, never over an input."""
    with user_errors():
        summary = _derain(inputs, output, model, _session_config(
            provider, threads, allow_fallback, precision, tile, tile_pad), batch, fmt, overwrite,
            alpha.value, high_bit_depth.value, quiet)
    _print_summary(summary)
    if not summary.ok:
        raise typer.Exit(1)


def _derain(inputs, output, model, config, batch, fmt, overwrite, alpha, high_bit_depth, quiet):
    from tqdm import tqdm

    from edgederain.derain_files import JobOptions, expand_inputs, run_job
    from edgederain.runtime import DerainSession
    from edgederain.runtime.default_model import default_model_path

    model_path = model if model is not None else default_model_path(config)
    files, unmatched = expand_inputs(inputs)
    suffix = None if fmt is None else "." + fmt.lower().lstrip(".")
    out_is_file = _resolve_output(output, len(files) + len(unmatched))
    options = JobOptions(output, out_is_file, suffix, overwrite, batch, alpha, high_bit_depth)
    session = DerainSession(model_path, config)
    for reason in session.fallback_reasons:
        typer.secho(f"warning: {reason}", err=True, fg=typer.colors.YELLOW)
    bar = tqdm(total=len(files), unit="file", disable=quiet, leave=False)

    def on_result(r):
        bar.update(1)
        for note in () if quiet else r.notes:
            bar.write(f"note: {r.source}: {note}; output is 8-bit RGB")
        if r.status == "failed" and not quiet:
            bar.write(f"failed: {r.source}: {r.reason}")

    try:
        summary = run_job(session, files, options, on_result=on_result)
    finally:
        bar.close()
    from edgederain.derain_files import JobSummary

    return JobSummary(tuple(unmatched) + summary.items)


def _print_summary(summary) -> None:
    done, skipped, failed = (summary.count(s) for s in ("done", "skipped", "failed"))
    frames = sum(i.frames for i in summary.items if i.status == "done")
    typer.echo(f"done {done} ({frames} frames), skipped {skipped}, failed {failed}")
    for item in summary.items:
        if item.status != "done":
            typer.echo(f"  {item.status}: {item.source}: {item.reason}")


def _parse_shape(text: str) -> tuple[int, int]:
    from edgederain.errors import ConfigError

    try:
        h, w = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise ConfigError(f"--shape must look like 320x480 (height x width), got {text!r}") from None
    return h, w


def bench(
    model: Path = typer.Argument(..., help="Exported .onnx model."),
    provider: ProviderChoice = _PROVIDER,
    shape: str = typer.Option("320x480", "--shape", help="Frame size HxW."),
    batch: int = typer.Option(1, "--batch", help="Frames per call."),
    warmup: int = typer.Option(3, "--warmup", help="Untimed runs after the first."),
    iterations: Optional[int] = typer.Option(None, "--iterations", "-n", help="Timed runs (default 20)."),
    duration: Optional[float] = typer.Option(None, "--duration", help="Time runs for S seconds instead."),
    threads: int = _THREADS,
    allow_fallback: bool = _FALLBACK,
    precision: PrecisionChoice = _PRECISION,
    tile: Optional[int] = _TILE,
    tile_pad: int = _TILE_PAD,
    compare_torch: Optional[Path] = typer.Option(None, "--compare-torch", help="Checkpoint to time in PyTorch eager on the same frames."),
    json_out: Optional[Path] = typer.Option(None, "--json", help="Write the full result as JSON."),
) -> None:
    """Latency (p50/p90/p95/p99/max), throughput, session-creation and first-run time, peak memory."""
    with user_errors():
        from edgederain.bench import BenchConfig, json_ready, run_benchmark
        from edgederain.errors import ConfigError

        if iterations is not None and duration is not None:
            raise ConfigError("pass --iterations or --duration, not both")
        config = BenchConfig(
            shape=_parse_shape(shape), batch=batch, warmup=warmup,
            iterations=None if duration is not None else (iterations or 20), duration_s=duration,
        )
        session_config = _session_config(provider, threads, allow_fallback, precision, tile, tile_pad)
        result = run_benchmark(model, session_config, config, compare_torch=compare_torch)
        data = json_ready(result.to_dict())
        if json_out is not None:
            json_out.parent.mkdir(parents=True, exist_ok=True)
            json_out.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    _print_bench(data)


def _print_bench(d: dict) -> None:
    o = d["onnxruntime"]
    typer.echo(f"model {d['model']} ({d['precision']}), {d['batch']}x{d['shape'][0]}x{d['shape'][1]}, "
               f"providers {o['details']['active']}")
    for t in (o, d["torch"]):
        if t is None:
            continue
        lat = t["latency"]
        typer.echo(
            f"{t['engine']:<12} setup {t['setup_s']:.3f}s first {t['first_run_s'] * 1e3:.1f}ms "
            f"p50 {lat['p50_ms']:.1f} p90 {lat['p90_ms']:.1f} p95 {lat['p95_ms']:.1f} "
            f"p99 {lat['p99_ms']:.1f} max {lat['max_ms']:.1f} ms, {lat['throughput_fps']:.2f} fps, "
            f"peak RSS {t['peak_rss_mb']:.0f} MiB"
        )
    if d["torch"] is not None:
        typer.echo(f"onnxruntime/torch p50 ratio {d['ratio_onnxruntime_to_torch_p50']:.3f}, "
                   f"PSNR torch vs onnxruntime {d['psnr_torch_vs_onnxruntime']} dB")


def register(app: typer.Typer) -> None:
    """Add this area's commands to ``app``."""
    app.command("derain")(derain)
    app.command("bench")(bench)
