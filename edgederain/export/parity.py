"""Accuracy parity between two models' outputs (numpy; onnxruntime only inside :class:`OnnxRunner`).

A parity check compares a *candidate* output (ONNX FP32, FP16 or INT8) with a *reference* output
(PyTorch, or the FP32 ONNX model) on the same input and returns a :class:`ParityResult`: max, mean
and 99th-percentile absolute error, PSNR between the two outputs (peak 1.0, outputs are in
[0, 1]), NaN/Inf counts, the threshold used and ``passed``. Gates are on PSNR, not on a tiny
absolute tolerance: RLCN divides by the local standard deviation, so kernel-order differences
between PyTorch and ONNX Runtime reach ~1e-3 at 720p on flat regions while the images agree to
~90 dB.

Also here: the extreme inputs every reduced-precision model is checked on (all-black, all-white,
saturated highlights, high-contrast streaks, noise), synthetic rainy-looking frames for checks
that need no data set, and the Polygraphy JSON writers, so that
``polygraphy run model.onnx --onnxrt --load-inputs inputs.json --load-outputs outputs.json``
re-checks a model (e.g. on TensorRT) against outputs we measured.
"""

from __future__ import annotations

import math
import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable, Iterable, Mapping, Sequence

import numpy as np

Runner = Callable[[np.ndarray], np.ndarray]
"""A model as a function: float32 N x 3 x H x W in [0, 1] -> float32 N x 3 x H x W (a runner's
``run_tensor``)."""


@dataclass(frozen=True)
class ParityResult:
    """How far a candidate output is from a reference output (one input or a summary)."""

    label: str
    max_abs: float
    mean_abs: float
    p99_abs: float
    psnr_db: float
    nan_count: int
    inf_count: int
    threshold_db: float
    passed: bool

    def to_dict(self) -> dict:
        return {k: _json_float(v) if isinstance(v, float) else v for k, v in asdict(self).items()}


def _json_float(v: float) -> float | str:
    return v if math.isfinite(v) else ("inf" if v > 0 else "nan")


def psnr_between(reference: np.ndarray, candidate: np.ndarray) -> float:
    """PSNR (dB, peak 1.0) between two float arrays in [0, 1]; +inf when identical."""
    mse = float(np.mean((reference.astype(np.float64) - candidate.astype(np.float64)) ** 2))
    return math.inf if mse == 0.0 else 10.0 * math.log10(1.0 / mse)


def compare_outputs(
    reference: np.ndarray, candidate: np.ndarray, *, threshold_db: float, label: str = "output"
) -> ParityResult:
    """Compare two same-shape outputs; NaN/Inf in the candidate always fail the check."""
    if reference.shape != candidate.shape:
        raise ValueError(f"{label}: output shapes differ: {reference.shape} vs {candidate.shape}")
    nan = int(np.isnan(candidate).sum())
    inf = int(np.isinf(candidate).sum())
    finite = np.isfinite(candidate)
    diff = np.abs(reference.astype(np.float64) - np.where(finite, candidate, 0.0))
    diff = diff[finite] if not finite.all() else diff.ravel()
    if diff.size == 0:
        return ParityResult(label, math.inf, math.inf, math.inf, -math.inf, nan, inf, threshold_db, False)
    psnr = -math.inf if nan or inf else psnr_between(reference, candidate)
    return ParityResult(
        label=label,
        max_abs=float(diff.max()),
        mean_abs=float(diff.mean()),
        p99_abs=float(np.percentile(diff, 99)),
        psnr_db=psnr,
        nan_count=nan,
        inf_count=inf,
        threshold_db=threshold_db,
        passed=nan == 0 and inf == 0 and psnr >= threshold_db,
    )


def summarize(results: Sequence[ParityResult], *, label: str = "summary") -> ParityResult:
    """Worst case over several results (max errors, min PSNR, summed NaN/Inf, mean of means)."""
    if not results:
        raise ValueError("summarize needs at least one parity result")
    return ParityResult(
        label=label,
        max_abs=max(r.max_abs for r in results),
        mean_abs=float(np.mean([r.mean_abs for r in results])),
        p99_abs=max(r.p99_abs for r in results),
        psnr_db=min(r.psnr_db for r in results),
        nan_count=sum(r.nan_count for r in results),
        inf_count=sum(r.inf_count for r in results),
        threshold_db=results[0].threshold_db,
        passed=all(r.passed for r in results),
    )


# --- inputs ---------------------------------------------------------------------------------
def extreme_inputs(height: int = 64, width: int = 64, *, seed: int = 0) -> dict[str, np.ndarray]:
    """Inputs that stress reduced precision: float32 1 x 3 x H x W in [0, 1], by name."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:height, 0:width]
    streaks = (((xx + yy // 3) % 7) == 0).astype(np.float32)
    saturated = np.clip(0.6 + 0.8 * np.sin(xx / 5.0)[None] * np.array([1.0, 0.3, 0.0])[:, None, None], 0, 1)
    inputs = {
        "all_black": np.zeros((3, height, width), np.float32),
        "all_white": np.ones((3, height, width), np.float32),
        "saturated_highlights": saturated.astype(np.float32),
        "high_contrast_streaks": np.repeat(streaks[None], 3, axis=0),
        "noise": rng.random((3, height, width), dtype=np.float32),
    }
    return {k: np.ascontiguousarray(v[None], dtype=np.float32) for k, v in inputs.items()}


def synthetic_frames(count: int, height: int, width: int, *, seed: int = 0) -> np.ndarray:
    """Rainy-looking frames without a data set: smooth scenes plus bright slanted streaks.

    Returns float32 ``count x 3 x H x W`` in [0, 1] (model layout).
    """
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    frames = []
    for _ in range(count):
        base = np.stack(
            [0.5 + 0.35 * np.sin(xx / rng.uniform(8, 40) + rng.uniform(0, 6))
             * np.cos(yy / rng.uniform(8, 40) + rng.uniform(0, 6)) for _ in range(3)]
        )
        slope = rng.uniform(-0.4, 0.4)
        rain = ((np.round(xx + slope * yy) % rng.integers(5, 12)) == 0) & (rng.random((height, width)) < 0.35)
        frame = np.clip(base + 0.35 * rain[None], 0.0, 1.0)
        frames.append(frame)
    return np.ascontiguousarray(np.stack(frames), dtype=np.float32)


# --- ONNX Runtime runner --------------------------------------------------------------------
class OnnxRunner:
    """An ONNX graph (a file, or bytes being built) on ONNX Runtime's CPU provider, no contract needed."""

    def __init__(self, model: str | os.PathLike | bytes, *, threads: int = 0) -> None:
        import onnxruntime as ort

        opts = ort.SessionOptions()
        opts.intra_op_num_threads = threads
        opts.log_severity_level = 3
        source = model if isinstance(model, bytes) else str(model)
        self.session = ort.InferenceSession(source, opts, providers=["CPUExecutionProvider"])
        self.input_name = self.session.get_inputs()[0].name
        self.output_name = self.session.get_outputs()[0].name

    def run_tensor(self, x: np.ndarray) -> np.ndarray:
        return self.session.run([self.output_name], {self.input_name: x})[0]

    __call__ = run_tensor


# --- Polygraphy interchange -----------------------------------------------------------------
@dataclass(frozen=True)
class PolygraphyFiles:
    """Files for ``polygraphy run MODEL --onnxrt --load-inputs I --load-outputs O``."""

    inputs: Path
    outputs: Path

    def command(self, model: str | os.PathLike, *, backend: str = "--onnxrt", atol: float = 1e-3) -> str:
        """The Polygraphy command line that re-checks ``model`` against the saved outputs."""
        return (
            f"polygraphy run {model} {backend}{' --providers cpu' if backend == '--onnxrt' else ''} "
            f"--load-inputs {self.inputs} "
            f"--load-outputs {self.outputs} --atol {atol} --rtol 0"
        )


def write_polygraphy_io(
    feeds: Iterable[Mapping[str, np.ndarray]],
    outputs: Iterable[Mapping[str, np.ndarray]],
    directory: str | os.PathLike,
    *,
    runner_name: str = "edgederain-reference",
) -> PolygraphyFiles:
    """Write Polygraphy-format input feeds and reference outputs (one iteration per feed)."""
    from polygraphy.comparator import IterationResult, RunResults
    from polygraphy.json import save_json

    folder = Path(directory)
    folder.mkdir(parents=True, exist_ok=True)
    feeds = [dict(f) for f in feeds]
    iterations = [IterationResult(dict(o), runner_name=runner_name) for o in outputs]
    if len(iterations) != len(feeds):
        raise ValueError(f"{len(feeds)} input feeds but {len(iterations)} outputs")
    files = PolygraphyFiles(folder / "inputs.json", folder / "outputs.json")
    save_json(feeds, str(files.inputs), description="input feeds")
    RunResults([(runner_name, iterations)]).save(str(files.outputs))
    return files
