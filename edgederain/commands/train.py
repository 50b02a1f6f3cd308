"""CLI commands: train (two-stage), synth (write a synthetic paired set), evaluate (dataset metrics).

Only typer and the standard library at import time; torch and friends load inside the commands.
"""

from __future__ import annotations

import contextlib
import os
import threading
from pathlib import Path
from typing import Iterator, List, Optional

import typer

from edgederain.commands.common import user_errors


def _train(
    config: Optional[Path] = typer.Option(None, "--config", "-c", help="TOML or JSON training config."),
    out: Optional[str] = typer.Option(None, "--out", "-o", help="Run folder (checkpoints, logs, config.json)."),
    stage: Optional[str] = typer.Option(None, help="both | ae | derain."),
    model: Optional[str] = typer.Option(None, help="Model preset (thesis, thesis-lstm, tiny, ...)."),
    data: Optional[List[str]] = typer.Option(None, help="Paired folder(s) to train on (repeatable)."),
    val_data: Optional[str] = typer.Option(None, help="Paired folder for validation."),
    backgrounds: Optional[List[str]] = typer.Option(None, help="Clean photos for synthetic rain (repeatable)."),
    rain: Optional[str] = typer.Option(
        None, help="Synthetic rain preset or mixture: light | medium | heavy | storm | camera | fine | all-weather."
    ),
    layout: Optional[str] = typer.Option(None, help="Paired layout: auto | folders | prenet | side-by-side."),
    clean_side: Optional[str] = typer.Option(None, help="side-by-side: which half is clean (left | right)."),
    ae_epochs: Optional[int] = typer.Option(None, help="Stage 1 length in epochs."),
    ae_iterations: Optional[int] = typer.Option(None, help="Stage 1 length in iterations."),
    derain_epochs: Optional[int] = typer.Option(None, help="Stage 2 length in epochs."),
    derain_iterations: Optional[int] = typer.Option(None, help="Stage 2 length in iterations."),
    batch_size: Optional[int] = typer.Option(None, help="Batch size (thesis: 4)."),
    crop: Optional[int] = typer.Option(None, help="Training crop side (thesis: 96)."),
    lr: Optional[float] = typer.Option(None, help="Adam learning rate (thesis: 1e-3)."),
    time_limit: Optional[float] = typer.Option(
        None, help="Minutes of training per stage: it ends then or at its iterations, whichever comes "
                   "first, and the learning-rate decays fall at fractions of the further along."),
    amp: Optional[str] = typer.Option(None, help="off | bf16 (autocast for the forward pass)."),
    channels_last: Optional[bool] = typer.Option(None, "--channels-last/--no-channels-last"),
    device: Optional[str] = typer.Option(None, help="auto | cpu | cuda."),
    threads: Optional[int] = typer.Option(None, help="torch threads (0 = default)."),
    workers: Optional[int] = typer.Option(
        None, min=0, help="Processes rendering the next batches (0 = none); same batches either way."),
    seed: Optional[int] = typer.Option(None),
    ae_checkpoint: Optional[str] = typer.Option(None, help="Trained AE for --stage derain."),
    init: Optional[str] = typer.Option(
        None, help="Fine-tune: start stage 2 from 'default' (the packaged model) or a derain checkpoint; "
        "without --config, the fine-tune defaults apply (stage derain, lr 2e-4, 2000 iterations) and, "
        "without --model, the checkpoint's own network.",
    ),
    val_rain: Optional[List[str]] = typer.Option(None, help="Validate on each of these rain presets (repeatable)."),
    lr_scaling: Optional[str] = typer.Option(
        None, help="none | linear | sqrt: lr x f(batch_size / lr_batch) (for a larger multi-GPU batch)."
    ),
    lr_batch: Optional[int] = typer.Option(None, help="The batch size lr was tuned for (default 4)."),
    sync_bn: Optional[bool] = typer.Option(
        None, "--sync-bn/--no-sync-bn", help="Distributed: BatchNorm statistics over all processes (default on)."
    ),
    distributed: Optional[bool] = typer.Option(
        None, "--distributed/--single-process",
        help="DDP over the processes torchrun started (default: on when launched by torchrun).",
    ),
    dist_backend: str = typer.Option("auto", help="Distributed backend: auto (nccl on CUDA, else gloo) | gloo | nccl."),
    resume: bool = typer.Option(False, "--resume", help="Continue the run in --out where it stopped."),
    progress: bool = typer.Option(True, "--progress/--no-progress"),
) -> None:
    """Train the rain autoencoder (stage 1) and/or the derain network (stage 2).

    Several processes or GPUs: torchrun --nproc-per-node N -m edgederain train --config ...
    (batch_size is the batch of one optimizer step, split over the N processes).
    """
    with user_errors():
        from edgederain.train.config import FINETUNE_DEFAULTS, TrainConfig, read_train_config
        from edgederain.train.distributed import launched_by_torchrun
        from edgederain.train.loop import train

        written = read_train_config(config) if config else {}
        base = TrainConfig.from_dict(written) if config else TrainConfig(**(FINETUNE_DEFAULTS if init else {}))
        flags = dict(
            out_dir=out, stage=stage, model=model, data=data or None, val_data=val_data,
            backgrounds=backgrounds or None, rain=rain, layout=layout, clean_side=clean_side,
            ae_epochs=ae_epochs, ae_iterations=ae_iterations, derain_epochs=derain_epochs,
            derain_iterations=derain_iterations, batch_size=batch_size, crop=crop, lr=lr, amp=amp,
            time_limit=time_limit,
            channels_last=channels_last, device=device, threads=threads, workers=workers, seed=seed,
            ae_checkpoint=ae_checkpoint, init=init, val_rain=val_rain or None,
            lr_scaling=lr_scaling, lr_batch=lr_batch, sync_bn=sync_bn,
        )
        start = init or written.get("init")
        if start and model is None and "model" not in written:
            # fine-tuning without a named network (no --model, none in the config): the network
            # is the init checkpoint's, whatever its preset
            from edgederain.train.loop import init_model_config

            flags["model"] = init_model_config(start)
        cfg = _apply_flags(base, flags)
        use_dist = launched_by_torchrun() if distributed is None else distributed
        if not use_dist and launched_by_torchrun() and int(os.environ["WORLD_SIZE"]) > 1:
            from edgederain.errors import ConfigError

            raise ConfigError(
                f"--single-process under torchrun would run {os.environ['WORLD_SIZE']} copies of the "
                "run into one folder; drop --single-process, or launch without torchrun"
            )
        ctx = _join(cfg, dist_backend) if use_dist else None
        main = ctx is None or ctx.is_main
        stopped = threading.Event()  # set when SIGTERM was what stopped the run
        try:
            tidy = _tidy_if_nothing_trained(Path(cfg.out_dir)) if main else contextlib.nullcontext()
            with tidy, _sigterm_stops(stopped):
                result = train(cfg, resume=resume, progress=progress and main, **({"dist": ctx} if ctx else {}))
        except KeyboardInterrupt:
            if main:
                how = "stopped by SIGTERM" if stopped.is_set() else "interrupted"
                typer.echo(f"\n{how}; continue with the same command plus --resume (run folder {cfg.out_dir})")
            raise typer.Exit(143 if stopped.is_set() else 130) from None
        finally:
            if ctx is not None:
                _leave(ctx)
        if not main:
            return
        for s in result.stages:
            state = "done" if s.completed else "stopped"
            metrics = ", ".join(f"{k} {v:.4g}" for k, v in s.last_metrics.items() if not k.startswith("neg_"))
            typer.echo(f"{s.stage}: {state} at step {s.steps}/{s.total}; {metrics}")
        typer.echo(f"run folder: {result.out_dir}")


@contextlib.contextmanager
def _sigterm_stops(stopped: threading.Event):
    """SIGTERM (kill, a job scheduler's stop, a container's shutdown) stops the run like Ctrl-C: the
    loop saves its last checkpoint. Also what stops a run started in the background, where the
    shell leaves SIGINT ignored. Sets ``stopped`` when SIGTERM was the cause."""
    import signal

    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def stop(signum, frame):
        stopped.set()
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, stop)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _join(cfg, backend: str):
    """This process's place in the torchrun job (refuses --distributed outside torchrun)."""
    from edgederain.train.distributed import init_distributed

    return init_distributed(cfg.device, backend)


def _leave(ctx) -> None:
    import sys

    from edgederain.train.distributed import shutdown

    if sys.exc_info()[0] is None:  # a rank that failed does not wait for the others at a barrier
        shutdown(ctx)


@contextlib.contextmanager
def _tidy_if_nothing_trained(out: Path) -> Iterator[None]:
    """If training fails before it wrote anything but ``config.json`` (a bad data path, a missing
    autoencoder...), remove what this run created: the ``config.json`` it wrote, and the run
    folder and its parents if this run created them. A folder that existed before is kept, and
    so is anything else in it (checkpoints, logs)."""
    created = [d for d in (out, *out.parents) if not d.exists()]
    before = set(os.listdir(out)) if out.is_dir() else set()
    try:
        yield
    except BaseException:
        if out.is_dir() and set(os.listdir(out)) - before <= {"config.json"}:
            if "config.json" not in before:
                (out / "config.json").unlink(missing_ok=True)
            for folder in created:  # deepest first; only folders left empty
                with contextlib.suppress(OSError):
                    folder.rmdir()
        raise


def _apply_flags(base, flags: dict):
    """Flags given on the command line override the config file; a schedule flag (epochs or
    iterations) replaces that stage's schedule from the file."""
    from dataclasses import replace

    changes = {k: v for k, v in flags.items() if v is not None}
    for stage in ("ae", "derain"):
        for unit, other in (("epochs", "iterations"), ("iterations", "epochs")):
            if f"{stage}_{unit}" in changes:
                changes.setdefault(f"{stage}_{other}", None)
    return replace(base, **changes)


def _synth(
    clean: List[Path] = typer.Argument(..., help="Clean images or folders of them."),
    out: Path = typer.Option(..., "--out", "-o", help="Output folder; gets rainy/ and clean/."),
    rain: str = typer.Option("light", help="Rain preset or mixture: light | medium | heavy | storm | camera | fine | all-weather."),
    copies: int = typer.Option(1, min=1, help="Rainy versions per clean image (rainy/NAME_k.png)."),
    max_side: int = typer.Option(0, min=0, help="Downscale so the longer side is at most this (0 = keep)."),
    seed: int = typer.Option(0),
) -> None:
    """Write a fixed paired set (rainy/ + clean/) by rendering synthetic rain on clean images."""
    with user_errors():
        from edgederain.data.synth_folder import write_synthetic_pairs

        n = write_synthetic_pairs(clean, out, rain=rain, copies=copies, max_side=max_side, seed=seed)
        typer.echo(f"wrote {n} pairs to {out}/rainy and {out}/clean")


def _evaluate(
    model: str = typer.Argument(..., help="A .pt checkpoint, an .onnx model, or 'identity'."),
    data: Path = typer.Option(..., "--data", "-d", help="Paired folder (rainy/ + clean/ or another layout)."),
    json_out: Optional[Path] = typer.Option(None, "--json", help="Write the JSON summary here."),
    csv_out: Optional[Path] = typer.Option(None, "--csv", help="Per-image CSV (default: beside --json)."),
    save_images: Optional[Path] = typer.Option(None, help="Write every derained image into this folder."),
    grid: Optional[Path] = typer.Option(None, help="Rainy | derained | clean grid PNG (default: beside --json)."),
    grid_count: int = typer.Option(4, min=0, help="Images in the grid."),
    layout: str = typer.Option("auto", help="auto | folders | prenet | side-by-side."),
    clean_side: str = typer.Option("left", help="side-by-side: which half is clean."),
    limit: Optional[int] = typer.Option(None, min=1, help="Only the first N pairs."),
    threads: int = typer.Option(0, min=0, help="torch threads for checkpoints (0 = default)."),
    progress: bool = typer.Option(True, "--progress/--no-progress"),
) -> None:
    """Mean PSNR / SSIM (RGB and Y) of a model on a paired set, at full image size."""
    with user_errors():
        from edgederain.evaluate import evaluate_folder

        if json_out is not None:
            csv_out = csv_out or json_out.with_suffix(".csv")
            grid = grid or json_out.with_name(json_out.stem + "_grid.png")
        report = evaluate_folder(
            model, data, layout=layout, clean_side=clean_side, limit=limit, threads=threads,
            save_images=save_images, grid=grid if grid_count else None, grid_count=grid_count,
            progress=progress,
        )
        for label, values in (("output", report.mean), ("input", report.input_mean), ("gain", report.gain)):
            typer.echo(f"{label:7s}" + "  ".join(f"{k} {v:8.4f}" for k, v in values.items()))
        typer.echo(f"{report.count} images, {report.seconds_per_image:.3f} s/image")
        if json_out is not None:
            report.write_json(json_out)
            typer.echo(f"wrote {json_out}")
        if csv_out is not None:
            report.write_csv(csv_out)
            typer.echo(f"wrote {csv_out}")
        if grid is not None and grid_count:
            typer.echo(f"wrote {grid}")


def register(app: typer.Typer) -> None:
    """Add this area's commands to ``app``."""
    app.command("train")(_train)
    app.command("synth")(_synth)
    app.command("evaluate")(_evaluate)
