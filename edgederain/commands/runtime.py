"""CLI commands: derain (files, folders, globs, videos) and bench (latency/throughput/memory).

Only typer and the standard library at module level: numpy, onnxruntime, Pillow, PyAV and torch
are imported inside the commands that need them.

``edgederain derain`` exits 0 when every input was derained (or skipped because its output
exists), 1 when some inputs failed (the others are written and every failure is listed), 2 on a
usage or input error before any work (bad option, no input found, model or provider unusable,
output location unwritable) and 130 when interrupted with Ctrl-C (after a summary of what was
done, what failed and how many inputs remain; rerun the same command to resume).
"""

from __future__ import annotations

import json
import sys
from enum import Enum
from pathlib import Path
from typing import List, Optional

import typer

from edgederain import choices
from edgederain.commands.common import EXIT_FAILED, EXIT_INTERRUPTED, MODEL_HELP, choice_enum, user_errors

ProviderChoice = choice_enum("ProviderChoice", (*choices.PROVIDERS, "auto"))
PrecisionChoice = choice_enum("PrecisionChoice", choices.CLI_OPENVINO_PRECISIONS)
PolicyChoice = choice_enum("PolicyChoice", choices.POLICIES)


class MotionChoice(str, Enum):
    flow = "flow"
    mask = "mask"


_PROVIDER = typer.Option(ProviderChoice.cpu, "--provider", "-p", help="Execution provider (its conventional chain); auto: the fastest gated provider and precision on this machine (docs/speed.md).")
_EXCLUDE = typer.Option("", "--exclude-precision", help="With --provider auto: comma-separated precisions it must not pick (fp32, fp16, bf16, int8).")
_THREADS = typer.Option(0, "--threads", min=0, help="CPU/OpenVINO threads (0: the provider's default).")
_FALLBACK = typer.Option(False, "--allow-fallback", help="Run on what is available instead of failing when the provider is missing.")
_PRECISION = typer.Option(PrecisionChoice.f32, "--precision", help="OpenVINO inference precision (f32, or bf16 on CPUs with bf16 units).")
_TILE = typer.Option(None, "--tile", min=8, help="Tile frames larger than TILE + 2*PAD pixels (core tile size, >= 8).")
_TILE_PAD = typer.Option(32, "--tile-pad", min=0, help="Context pixels around each tile; neighbours overlap by 2*PAD.")
_MAX_PIXELS = typer.Option(
    None, "--max-pixels", min=0,
    help="Refuse images with more pixels than this, before decoding (default 100,000,000; "
    "500,000,000 with --tile; 0: no limit).",
)


def _session_config(provider, threads, fallback, precision, tile, tile_pad, max_batch=None, exclude=""):
    from edgederain.runtime import SessionConfig

    return SessionConfig.for_provider(
        provider.value, threads=threads, allow_fallback=fallback, tile=tile, tile_pad=tile_pad,
        max_batch=max_batch, openvino_precision=precision.value,
        exclude_precisions=tuple(p.strip() for p in exclude.split(",") if p.strip()),
    )


def _resolve_output(out: Path, n_inputs: int) -> bool:
    """True when OUT names a single output file. Checks that the folder can be created (the job
    creates it when it writes the first output, so a run that fails leaves no empty folder)."""
    from edgederain.derain_files import MEDIA_SUFFIXES
    from edgederain.errors import ImageWriteError

    is_file = out.suffix.lower() in MEDIA_SUFFIXES and not out.is_dir()
    if is_file and n_inputs != 1:
        raise ImageWriteError(f"{out} looks like a file but there are {n_inputs} inputs; pass a folder")
    if not is_file and out.exists() and not out.is_dir():
        raise ImageWriteError(f"{out}: exists and is not a folder; pass a folder for the outputs")
    _check_creatable(out.parent if is_file else out)
    return is_file


def _check_creatable(folder: Path) -> None:
    """Raise unless ``folder`` exists and is writable, or could be created."""
    import os

    from edgederain.errors import ImageWriteError

    base = folder.absolute()
    while not base.exists():
        base = base.parent
    if not base.is_dir():
        raise ImageWriteError(f"{folder}: cannot create the output folder ({base} is a file)")
    if not os.access(base, os.W_OK | os.X_OK):
        what = "output folder is not writable" if base == folder.absolute() else f"cannot create the output folder ({base} is not writable)"
        raise ImageWriteError(f"{folder}: {what}")


def _refuse_checkpoint(model: Path) -> None:
    """A wrong model file (a PyTorch checkpoint, a folder, an empty file): the runtime's message,
    before any other work starts."""
    from edgederain.runtime.modelfile import check_model_file

    check_model_file(model)


def _max_pixels(value: int | None, tile: int | None) -> int | None:
    from edgederain.io import DEFAULT_MAX_PIXELS, TILED_MAX_PIXELS

    if value is None:
        return TILED_MAX_PIXELS if tile is not None else DEFAULT_MAX_PIXELS
    return value or None


def _temporal(enabled: bool, motion: MotionChoice):
    """The video stabiliser's config for --temporal (OpenCV checked now, before any work)."""
    if not enabled:
        return None
    from edgederain.runtime.temporal import TemporalConfig, import_cv2

    if motion is MotionChoice.flow:
        import_cv2()
    return TemporalConfig(motion=motion.value)


def derain(
    inputs: List[str] = typer.Argument(..., help="Image/video files, folders or glob patterns."),
    output: Path = typer.Option(..., "--output", "-o", help="Output folder (or a file, for one input)."),
    model: Optional[Path] = typer.Option(
        None, "--model", "-m", help=MODEL_HELP
    ),
    provider: ProviderChoice = _PROVIDER,
    threads: int = _THREADS,
    allow_fallback: bool = _FALLBACK,
    precision: PrecisionChoice = _PRECISION,
    exclude_precision: str = _EXCLUDE,
    tile: Optional[int] = _TILE,
    tile_pad: int = _TILE_PAD,
    max_pixels: Optional[int] = _MAX_PIXELS,
    batch: int = typer.Option(1, "--batch", min=1, help="Run up to N same-sized images (or consecutive video frames) together."),
    fmt: Optional[str] = typer.Option(None, "--format", help="Output image suffix, e.g. png (default: the input's)."),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace existing outputs (never inputs)."),
    alpha: PolicyChoice = typer.Option(PolicyChoice.convert, "--alpha", help="RGBA/LA inputs: drop alpha, or refuse."),
    high_bit_depth: PolicyChoice = typer.Option(PolicyChoice.convert, "--high-bit-depth", help="16-bit inputs: reduce to 8 bits, or refuse."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bars or per-file notes."),
    temporal: bool = typer.Option(False, "--temporal", help="Videos: blend each frame with the previous output where the scene did not move (less flicker; docs/video.md)."),
    temporal_motion: MotionChoice = typer.Option(MotionChoice.flow, "--temporal-motion", help="With --temporal: follow camera motion with optical flow (OpenCV), or blend only still areas (mask, numpy only)."),
    keep_audio: bool = typer.Option(False, "--keep-audio", help="Videos: copy the input's first audio stream into the output."),
    preview: bool = typer.Option(False, "--preview", help="Videos: also write NAME.preview.SUFFIX, input | output side by side."),
    ray_address: Optional[str] = typer.Option(None, "--ray", help="Derain on Ray actors (edgederain[ray]): a cluster address, 'auto' (this machine's cluster) or 'local' (start one here); docs/scale-out.md."),
    ray_actors: int = typer.Option(2, "--ray-actors", min=1, help="With --ray: actors, each holding one model session."),
    ray_gpus: float = typer.Option(0.0, "--ray-gpus-per-actor", min=0.0, help="With --ray: GPUs reserved per actor (with --provider cuda)."),
) -> None:
    """Derain images and videos with an exported model; writes outputs atomically, never over an input.

    Existing outputs are skipped (rerun the same command to resume an interrupted job) unless
    --overwrite. Exit status: 0 all done, 1 some inputs failed, 2 usage or input error, 130 Ctrl-C.
    """
    try:
        with user_errors():
            job = _DerainJob(output, model, batch, fmt, overwrite, alpha.value, high_bit_depth.value,
                             _max_pixels(max_pixels, tile), quiet)
            job.settings.update(temporal=_temporal(temporal, temporal_motion), keep_audio=keep_audio,
                                preview=preview)
            config = _session_config(provider, threads or (1 if ray_address else 0), allow_fallback, precision,
                                     tile, tile_pad, exclude=exclude_precision)
            if ray_address:
                from edgederain.fleet import RayOptions, derain_on_ray

                summary = derain_on_ray(inputs, output, model=model, session_config=config, suffix=job.suffix,
                                        ray_options=RayOptions(ray_address, ray_actors, gpus_per_actor=ray_gpus,
                                                               progress=not quiet), **job.settings)
            else:
                summary = job.run(inputs, config, provider.value)
    except KeyboardInterrupt:
        typer.secho("interrupted before any input was processed", err=True, fg=typer.colors.YELLOW)
        raise typer.Exit(EXIT_INTERRUPTED) from None
    _print_summary(summary)
    if summary.interrupted:
        raise typer.Exit(EXIT_INTERRUPTED)
    if not summary.ok:
        raise typer.Exit(EXIT_FAILED)


class _DerainJob:
    """The derain command's work: inputs, session, progress bars and the job itself."""

    def __init__(self, output, model, batch, fmt, overwrite, alpha, high_bit_depth, max_pixels, quiet):
        self.output, self.model, self.quiet = output, model, quiet
        self.suffix = None if fmt is None else "." + fmt.lower().lstrip(".")
        self.settings = dict(overwrite=overwrite, batch=batch, alpha=alpha, high_bit_depth=high_bit_depth,
                             max_pixels=max_pixels)

    def run(self, inputs, config, provider: str):
        from edgederain.derain_files import JobOptions, JobSummary, expand_inputs, run_job
        from edgederain.errors import InputError

        files, unmatched = expand_inputs(inputs)
        if not files:
            reasons = "; ".join(f"{u.source}: {u.reason}" for u in unmatched)
            raise InputError(f"no input found ({reasons}); pass image/video files, folders or globs")
        out_is_file = _resolve_output(self.output, len(files) + len(unmatched))
        options = JobOptions(self.output, out_is_file, self.suffix, **self.settings)
        session = self._session(config, provider)
        bars = _Bars(len(files), self.quiet)
        try:
            summary = run_job(session, files, options, on_result=bars.result, on_progress=bars.progress)
        finally:
            bars.close()
        return JobSummary(tuple(unmatched) + summary.items, summary.interrupted, summary.remaining)

    def _session(self, config, provider: str):
        from edgederain.runtime import DerainSession
        from edgederain.runtime.default_model import resolve_model

        from edgederain.derain_files import warnings_as_notes

        if config.is_auto:
            from edgederain.runtime.auto import auto_session

            session, choice = auto_session(self.model, config)
            typer.secho(choice.explain(), err=True)
            return session
        path = resolve_model(self.model, config)
        said: list[str] = []
        with warnings_as_notes(said):
            session = DerainSession(path, config)
        _warn_fallback(session, provider, said, chosen_by_default=self.model is None)
        return session


def _warn_fallback(session, provider: str, said: list[str], *, chosen_by_default: bool) -> None:
    """Say loudly what runs when the requested provider did not become active (``said``: the
    warnings the session emitted while it was created)."""
    from edgederain.runtime import Provider

    wanted = Provider(provider).ort_name
    active = session.active_providers[0] if session.active_providers else "no provider"
    reported = " ".join(said)
    for line in said + [r for r in session.fallback_reasons if r not in reported]:
        typer.secho(f"warning: {line}", err=True, fg=typer.colors.YELLOW)
    if wanted in session.active_providers:
        return
    precision = session.contract.precision
    line = (f"warning: --provider {provider} is not active: running {session.model_path} "
            f"({precision.upper()}) on {active}")
    if chosen_by_default and precision == "fp16" and active == "CPUExecutionProvider":
        line += "; FP16 runs slower than FP32 on CPU: pass --provider cpu to run the packaged FP32 file"
    typer.secho(line, err=True, fg=typer.colors.YELLOW, bold=True)


class _Bars:
    """tqdm on stderr: one bar for the files, one for the frames of a video or tiles of an image."""

    def __init__(self, total: int, quiet: bool) -> None:
        from tqdm import tqdm

        self._tqdm, self.quiet = tqdm, quiet
        self.files = tqdm(total=total, unit="file", disable=quiet, leave=False, file=sys.stderr)
        self.inner = None
        self.inner_source: str | None = None

    def progress(self, source: str, done: int, total: int | None) -> None:
        if self.quiet:
            return
        if self.inner is None or self.inner_source != source:
            self._close_inner()
            from edgederain.video import is_video

            self.inner = self._tqdm(total=total, unit="frame" if is_video(source) else "tile",
                                    desc=Path(source).name, position=1, leave=False, file=sys.stderr)
            self.inner_source = source
        self.inner.update(done - self.inner.n)

    def result(self, r) -> None:
        self._close_inner()
        self.files.update(1)
        for note in () if self.quiet else r.notes:
            self.files.write(f"note: {r.source}: {note}", file=sys.stderr)
        if r.status == "failed" and not self.quiet:
            self.files.write(f"failed: {r.source}: {r.reason}", file=sys.stderr)

    def _close_inner(self) -> None:
        if self.inner is not None:
            self.inner.close()
            self.inner, self.inner_source = None, None

    def close(self) -> None:
        self._close_inner()
        self.files.close()


def _print_summary(summary) -> None:
    done, skipped, failed = (summary.count(s) for s in ("done", "skipped", "failed"))
    frames = sum(i.frames for i in summary.items if i.status == "done")
    line = f"done {done} ({frames} frames), skipped {skipped}, failed {failed}"
    if summary.interrupted:
        line = f"interrupted: {line}, remaining {summary.remaining} (rerun the same command to resume)"
    typer.echo(line)
    if skipped:
        typer.echo(f"  skipped {skipped} inputs whose output exists (pass --overwrite to replace them)")
    for item in summary.items:
        if item.status == "failed":
            typer.echo(f"  failed: {item.source}: {item.reason}")


def _parse_shape(text: str) -> tuple[int, int]:
    from edgederain.errors import ConfigError

    try:
        h, w = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise ConfigError(f"--shape must look like 320x480 (height x width), got {text!r}") from None
    if h < 1 or w < 1:
        raise ConfigError(f"--shape must be positive (height x width), got {text!r}")
    return h, w


def bench(
    model: Path = typer.Argument(..., help="Exported .onnx model."),
    provider: ProviderChoice = _PROVIDER,
    shape: str = typer.Option("320x480", "--shape", help="Frame size HxW."),
    batch: int = typer.Option(1, "--batch", min=1, help="Frames per call."),
    warmup: int = typer.Option(3, "--warmup", min=0, help="Untimed runs after the first."),
    iterations: Optional[int] = typer.Option(None, "--iterations", "-n", min=1, help="Timed runs (default 20)."),
    duration: Optional[float] = typer.Option(None, "--duration", help="Time runs for S seconds instead."),
    threads: int = _THREADS,
    allow_fallback: bool = _FALLBACK,
    precision: PrecisionChoice = _PRECISION,
    exclude_precision: str = _EXCLUDE,
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
        if duration is not None and duration <= 0:
            raise ConfigError(f"--duration must be > 0 seconds, got {duration}")
        config = BenchConfig(
            shape=_parse_shape(shape), batch=batch, warmup=warmup,
            iterations=None if duration is not None else (iterations or 20), duration_s=duration,
        )
        session_config = _session_config(provider, threads, allow_fallback, precision, tile, tile_pad,
                                         exclude=exclude_precision)
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
    auto = o["details"].get("auto")
    if auto:
        typer.echo(f"--provider auto picked {auto['provider']} {auto['precision']} ({auto['why']}; {auto['cpu']}"
                   + (f"; skipped {len(auto['skipped'])}" if auto["skipped"] else "") + ")")
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
