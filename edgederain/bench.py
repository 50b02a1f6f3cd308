"""Latency, throughput and memory of an exported model on ONNX Runtime; optionally PyTorch eager
on the same frames in the same process, so the ratio is measured side by side.

What is timed: ``DerainSession.run`` on a uint8 N x H x W x 3 batch (what an application calls,
conversion to and from the model's tensors included). Session creation and the first run are
reported separately (the first run includes lazy allocations, and engine builds on TensorRT);
then ``warmup`` runs are discarded and ``iterations`` runs (or as many as fit in ``duration_s``)
are timed one by one. Memory is the process's peak resident set size (``ru_maxrss``), read
before the session is created and after the timed runs.

Only numpy and onnxruntime are needed; torch is imported only by :func:`bench_torch`.
"""

from __future__ import annotations

import os
import platform
import resource
import sys
from dataclasses import asdict, dataclass, field
from pathlib import Path
from time import perf_counter
from types import SimpleNamespace
from typing import Any, Callable

import numpy as np

from edgederain.errors import ConfigError


@dataclass(frozen=True)
class BenchConfig:
    """What to measure: frame shape (H, W), batch, warm-up runs, and iterations or a duration."""

    shape: tuple[int, int] = (320, 480)
    batch: int = 1
    warmup: int = 3
    iterations: int | None = 20
    duration_s: float | None = None
    seed: int = 0

    def __post_init__(self) -> None:
        shape = tuple(self.shape)
        if len(shape) != 2 or any(not isinstance(v, int) or v < 1 for v in shape):
            raise ConfigError(f"shape must be (height, width) positive ints, got {self.shape!r}")
        object.__setattr__(self, "shape", shape)
        if self.batch < 1 or self.warmup < 0:
            raise ConfigError("batch must be >= 1 and warmup >= 0")
        if (self.iterations is None) == (self.duration_s is None):
            raise ConfigError("give exactly one of iterations and duration_s")
        if self.iterations is not None and self.iterations < 1:
            raise ConfigError(f"iterations must be >= 1, got {self.iterations}")
        if self.duration_s is not None and self.duration_s <= 0:
            raise ConfigError(f"duration_s must be > 0, got {self.duration_s}")


@dataclass(frozen=True)
class LatencyStats:
    """Per-call latency percentiles (milliseconds) and throughput (frames per second)."""

    runs: int
    mean_ms: float
    p50_ms: float
    p90_ms: float
    p95_ms: float
    p99_ms: float
    max_ms: float
    min_ms: float
    throughput_fps: float

    @classmethod
    def from_samples(cls, seconds: list[float], *, batch: int) -> "LatencyStats":
        ms = np.asarray(seconds, dtype=np.float64) * 1e3
        q = np.percentile(ms, [50, 90, 95, 99])
        return cls(
            runs=len(ms), mean_ms=float(ms.mean()), p50_ms=float(q[0]), p90_ms=float(q[1]),
            p95_ms=float(q[2]), p99_ms=float(q[3]), max_ms=float(ms.max()), min_ms=float(ms.min()),
            throughput_fps=float(batch * len(ms) / (ms.sum() / 1e3)),
        )


@dataclass(frozen=True)
class RunTiming:
    """One engine's measurement: setup, first run, steady-state latency, memory."""

    engine: str
    setup_s: float
    first_run_s: float
    latency: LatencyStats
    peak_rss_mb: float
    details: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class BenchResult:
    """Everything ``edgederain bench`` reports; :meth:`to_dict` is its JSON."""

    model: str
    precision: str
    shape: tuple[int, int]
    batch: int
    onnxruntime: RunTiming
    torch: RunTiming | None
    psnr_torch_vs_onnxruntime: float | None
    rss_before_mb: float
    machine: dict[str, Any]
    versions: dict[str, str]

    @property
    def speedup_vs_torch(self) -> float | None:
        """ONNX Runtime p50 latency / PyTorch eager p50 latency (lower is faster)."""
        if self.torch is None:
            return None
        return self.onnxruntime.latency.p50_ms / self.torch.latency.p50_ms

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["ratio_onnxruntime_to_torch_p50"] = self.speedup_vs_torch
        return d


def make_frames(config: BenchConfig) -> np.ndarray:
    """Deterministic uint8 N x H x W x 3 frames: smooth gradients plus streaks and noise."""
    rng = np.random.default_rng(config.seed)
    h, w = config.shape
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    frames = []
    for _ in range(config.batch):
        base = np.stack([xx / w, yy / h, 0.5 + 0.25 * np.sin(xx / 17.0 + yy / 23.0)], axis=-1)
        streaks = (rng.random((h, w)) < 0.01).astype(np.float32)[..., None] * 0.6
        noisy = base + streaks + rng.normal(0, 0.03, (h, w, 3)).astype(np.float32)
        frames.append(np.clip(noisy * 255.0, 0, 255).astype(np.uint8))
    return np.stack(frames)


def peak_rss_mb() -> float:
    """This process's peak resident set size so far, in MiB.

    Linux: ``VmHWM`` from /proc/self/status, because ``ru_maxrss`` survives exec and so reports
    the parent's peak in a freshly started child process.
    """
    try:
        with open("/proc/self/status", encoding="ascii") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 1024.0 if sys.platform != "darwin" else peak / 2**20


def time_calls(fn: Callable[[], Any], config: BenchConfig) -> list[float]:
    """Run ``fn`` ``warmup`` times untimed, then time each call (iterations or duration)."""
    for _ in range(config.warmup):
        fn()
    samples: list[float] = []
    deadline = perf_counter() + (config.duration_s or 0.0)
    while True:
        t0 = perf_counter()
        fn()
        samples.append(perf_counter() - t0)
        if config.iterations is not None and len(samples) >= config.iterations:
            return samples
        if config.duration_s is not None and perf_counter() >= deadline:
            return samples


ISA_FLAGS_RECORDED: tuple[str, ...] = (
    "avx2", "avx512f", "avx512_vnni", "avx_vnni", "avx512_bf16", "avx512_fp16", "amx_tile", "amx_bf16", "amx_int8",
)


def machine_info() -> dict[str, Any]:
    """CPU model, vendor and ISA features (AVX-512, VNNI, bf16, AMX), core count, OS and Python.

    ``isa`` (:meth:`edgederain.runtime.machine.CPUFeatures.to_dict`) is what tells figures from
    different machines apart: the same model runs 3-4x faster with OpenVINO bf16 on an AMX Xeon
    than on an AVX-512 EPYC without AMX.
    """
    from edgederain.runtime.machine import CPUFeatures, nvidia_gpu_present

    cpu = CPUFeatures.detect()
    return {
        "cpu": cpu.model,
        "cpu_vendor": cpu.vendor,
        "cpu_flags": [f for f in ISA_FLAGS_RECORDED if f in cpu.flags],
        "isa": cpu.to_dict(),
        "nvidia_gpu": nvidia_gpu_present(),
        "logical_cpus": os.cpu_count(),
        "usable_cpus": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
        "platform": platform.platform(),
        "python": platform.python_version(),
        "load_average": list(os.getloadavg()) if hasattr(os, "getloadavg") else None,
    }


VERSIONED_PACKAGES: tuple[str, ...] = (
    "edgederain", "numpy", "onnxruntime", "onnxruntime-gpu", "onnxruntime-openvino",
    "onnxruntime-ep-openvino", "openvino", "nncf", "onnx", "torch",
)


def versions() -> dict[str, str]:
    """Versions of the packages that decide the numbers (those imported, or importable cheaply)."""
    from importlib import metadata

    out = {}
    for name in VERSIONED_PACKAGES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return out


def _first_and_steady(run: Callable[[np.ndarray], np.ndarray], frames: np.ndarray,
                      config: BenchConfig) -> tuple[np.ndarray, float, LatencyStats]:
    """(output, seconds of the first run, steady-state latency) of a runner's ``run``."""
    t0 = perf_counter()
    out = run(frames)
    first = perf_counter() - t0
    samples = time_calls(lambda: run(frames), config)
    return out, first, LatencyStats.from_samples(samples, batch=config.batch)


def bench_session(model: str | os.PathLike, session_config: Any, config: BenchConfig,
                  frames: np.ndarray) -> tuple[RunTiming, np.ndarray, Any]:
    """Create a DerainSession, time its first run and steady state; returns (timing, output, session)."""
    from edgederain.runtime import DerainSession

    t0 = perf_counter()
    choice = None
    if session_config.is_auto:  # --provider auto: resolved here, the choice goes into the record
        from edgederain.runtime.auto import auto_session

        session, choice = auto_session(model, session_config)
        session_config = choice.config
    else:
        session = DerainSession(model, session_config)
    setup = perf_counter() - t0
    out, first, latency = _first_and_steady(session.run, frames, config)
    info = session.info
    if isinstance(info, dict):  # OpenVINO's own runtime (picked by --provider auto)
        info = SimpleNamespace(requested=("openvino",), active=tuple(info["active"]), fallback_reasons=(),
                               provider_options={"openvino": info}, io_binding=False)
    details = {
        "requested": list(info.requested), "active": list(info.active),
        "fallback_reasons": list(info.fallback_reasons), "provider_options": info.provider_options,
        "io_binding": info.io_binding, "threads": session_config.providers.cpu.intra_op_threads,
        "tiling": asdict(session_config.tiling) if session_config.tiling else None,
        "auto": choice.to_dict() if choice is not None else None,
    }
    return RunTiming("onnxruntime", setup, first, latency, peak_rss_mb(), details), out, session


def bench_torch(checkpoint: str | os.PathLike, frames: np.ndarray, config: BenchConfig, *,
                threads: int = 0) -> tuple[RunTiming, np.ndarray]:
    """PyTorch eager on the same uint8 frames (``open_model``'s runner, converting as DerainSession)."""
    import torch

    from edgederain.export.runners import open_model

    t0 = perf_counter()
    runner = open_model(checkpoint, threads=threads).runner
    setup = perf_counter() - t0
    out, first, latency = _first_and_steady(runner.run, frames, config)
    details = {"threads": torch.get_num_threads(), "checkpoint": str(Path(checkpoint))}
    return RunTiming("torch-eager", setup, first, latency, peak_rss_mb(), details), out


def run_benchmark(model: str | os.PathLike, session_config: Any, config: BenchConfig, *,
                  compare_torch: str | os.PathLike | None = None) -> BenchResult:
    """The whole ``edgederain bench``: ONNX Runtime, then (optionally) PyTorch on the same frames."""
    from edgederain.metrics import psnr

    rss_before = peak_rss_mb()
    frames = make_frames(config)
    ort_timing, ort_out, session = bench_session(model, session_config, config, frames)
    torch_timing, parity = None, None
    if compare_torch is not None:
        threads = session_config.providers.cpu.intra_op_threads
        torch_timing, torch_out = bench_torch(compare_torch, frames, config, threads=threads)
        parity = min(psnr(a, b) for a, b in zip(ort_out, torch_out))
    return BenchResult(
        model=str(model), precision=session.contract.precision, shape=config.shape,
        batch=config.batch, onnxruntime=ort_timing, torch=torch_timing,
        psnr_torch_vs_onnxruntime=parity, rss_before_mb=rss_before, machine=machine_info(),
        versions=versions(),
    )


def json_ready(obj: Any) -> Any:
    """Replace non-finite floats (PSNR of identical outputs is +inf) by strings, for strict JSON."""
    if isinstance(obj, float) and not np.isfinite(obj):
        return str(obj)
    if isinstance(obj, dict):
        return {k: json_ready(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [json_ready(v) for v in obj]
    return obj


def write_record(path: str | os.PathLike | None, record: dict[str, Any]) -> None:
    """Write a benchmark's record as strict JSON to ``path`` (parents made); nothing for ``None``."""
    if path is None:
        return
    import json

    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(json_ready(record), indent=2) + "\n")
    print(f"wrote {out}")
