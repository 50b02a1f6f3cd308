"""Precision gates: the checks an exported model must pass before it is written (numpy + ORT).

Default thresholds (:class:`Gates`):

- FP32 ONNX vs PyTorch: PSNR between outputs >= 60 dB (measured 115-160 dB here; max abs error up
  to ~1e-3 at 720p is expected, RLCN divides by the local std).
- FP16 vs FP32 ONNX: >= 45 dB, and no NaN/Inf on the extreme inputs.
- INT8 vs FP32 ONNX: >= 30 dB between outputs as a sanity floor, no NaN/Inf on the extreme
  inputs, and, when frames with ground truth are given, PSNR vs ground truth no more than
  0.3 dB below FP32's (only meaningful on a trained network).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Mapping, Sequence

import numpy as np

from edgederain.export.parity import ParityResult, Runner, compare_outputs, summarize


@dataclass(frozen=True)
class Gates:
    """Gate thresholds in dB."""

    fp32_vs_torch_db: float = 60.0
    fp16_vs_fp32_db: float = 45.0
    int8_vs_fp32_db: float = 30.0
    int8_gt_drop_db: float = 0.3


@dataclass(frozen=True)
class GroundTruthCheck:
    """PSNR/SSIM vs ground truth (means over frames) of the candidate and the reference."""

    frames: int
    candidate: dict[str, float]
    reference: dict[str, float]
    max_drop_db: float

    @property
    def drop_db(self) -> float:
        return self.reference["psnr_rgb"] - self.candidate["psnr_rgb"]

    @property
    def passed(self) -> bool:
        return self.drop_db <= self.max_drop_db


@dataclass(frozen=True)
class GateReport:
    """One gate's outcome: per-input parity, the summary, extreme inputs and ground truth."""

    name: str
    reference: str
    summary: ParityResult
    results: tuple[ParityResult, ...]
    extreme: ParityResult | None = None
    ground_truth: GroundTruthCheck | None = None

    @property
    def passed(self) -> bool:
        gt_ok = self.ground_truth is None or self.ground_truth.passed
        extreme_ok = self.extreme is None or self.extreme.passed
        return self.summary.passed and extreme_ok and gt_ok

    def failure(self) -> str:
        """Why the gate failed, in one line (empty when it passed)."""
        why = []
        s = self.summary
        if not s.passed:
            why.append(f"PSNR {s.psnr_db:.2f} dB < {s.threshold_db} dB (max abs {s.max_abs:.3g}, "
                       f"NaN {s.nan_count}, Inf {s.inf_count})")
        if self.extreme is not None and not self.extreme.passed:
            why.append(f"NaN/Inf on extreme inputs ({self.extreme.nan_count} NaN, {self.extreme.inf_count} Inf)")
        if self.ground_truth is not None and not self.ground_truth.passed:
            g = self.ground_truth
            why.append(f"PSNR vs ground truth {g.drop_db:.2f} dB below the reference (max {g.max_drop_db})")
        return "; ".join(why)

    def to_dict(self, *, per_input: bool = True) -> dict[str, Any]:
        d: dict[str, Any] = {"name": self.name, "reference": self.reference, "passed": self.passed,
                             "summary": self.summary.to_dict()}
        if per_input:
            d["inputs"] = [r.to_dict() for r in self.results]
        if self.extreme is not None:
            d["extreme_inputs"] = self.extreme.to_dict()
        if self.ground_truth is not None:
            g = self.ground_truth
            d["ground_truth"] = {"frames": g.frames, "candidate": g.candidate, "reference": g.reference,
                                 "drop_db": g.drop_db, "max_drop_db": g.max_drop_db, "passed": g.passed}
        return d


def run_gate(
    name: str,
    reference: Runner,
    candidate: Runner,
    inputs: Mapping[str, np.ndarray],
    *,
    threshold_db: float,
    reference_label: str,
    extremes: Mapping[str, np.ndarray] | None = None,
) -> GateReport:
    """Compare ``candidate`` with ``reference`` on ``inputs`` (and NaN/Inf-check the extremes)."""
    results = tuple(
        compare_outputs(reference(x), candidate(x), threshold_db=threshold_db, label=k)
        for k, x in inputs.items()
    )
    extreme = None
    if extremes:
        ext = [compare_outputs(reference(x), candidate(x), threshold_db=-math.inf, label=k)
               for k, x in extremes.items()]
        extreme = summarize(ext, label="extreme_inputs")
    return GateReport(name, reference_label, summarize(results), results, extreme)


def ground_truth_check(
    reference: Runner, candidate: Runner, frames: Sequence, *, max_drop_db: float
) -> GroundTruthCheck:
    """Mean PSNR/SSIM (RGB and Y) vs ground truth of both models on ``frames`` (EvalFrames)."""
    from edgederain.export.data import has_targets

    if not has_targets(list(frames)):
        raise ValueError("ground_truth_check needs frames with targets")
    cand = [frame_metrics(candidate(f.input), f.target) for f in frames]
    ref = [frame_metrics(reference(f.input), f.target) for f in frames]
    return GroundTruthCheck(len(frames), mean_metrics(cand), mean_metrics(ref), max_drop_db)


def frame_metrics(output: np.ndarray, target: np.ndarray) -> dict[str, float]:
    """PSNR/SSIM (RGB and Y) of a 1 x 3 x H x W output against a uint8 H x W x 3 target."""
    from edgederain.metrics import image_metrics

    rgb = np.rint(np.clip(output[0].transpose(1, 2, 0), 0.0, 1.0) * 255.0).astype(np.uint8)
    return {k: float(v) for k, v in image_metrics(rgb, target).items()}


def mean_metrics(rows: Sequence[Mapping[str, float]]) -> dict[str, float]:
    """Per-key mean of metric dicts."""
    return {k: float(np.mean([r[k] for r in rows])) for k in rows[0]} if rows else {}
