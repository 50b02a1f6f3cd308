"""``verify``: an ONNX model against a reference (checkpoint or ONNX) on a folder of frames.

Reports per-image and summary max/mean/p99 absolute error and PSNR between the outputs, and,
when the folder has ground truth (``rainy/`` + ``clean/``), PSNR/SSIM (RGB and Y) of both models
against it. ``passed`` is what a CI job gates on: PSNR between outputs >= the threshold on every
image, no NaN/Inf, and for INT8 models with ground truth, PSNR vs ground truth no more than
``max_gt_drop_db`` below the reference's. The default threshold follows the model's precision
(its contract): FP32 60 dB, FP16 45 dB, INT8 30 dB. A failed verdict lists each failed gate
(:class:`FailedGate`: name, measured value, threshold).

It can also write Polygraphy input feeds and the reference's outputs, so
``polygraphy run MODEL --onnxrt --load-inputs ... --load-outputs ...`` (or ``--trt``) re-checks
the model elsewhere.
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from edgederain.errors import ContractError, VerificationError
from edgederain.export.data import EvalFrame, has_targets, load_eval_frames
from edgederain.export.gates import frame_metrics, mean_metrics
from edgederain.export.parity import (
    OnnxRunner, ParityResult, PolygraphyFiles, compare_outputs, summarize, write_polygraphy_io,
)
from edgederain.export.runners import open_model

DEFAULT_THRESHOLDS_DB: dict[str, float] = {"fp32": 60.0, "fp16": 45.0, "int8": 30.0}


@dataclass(frozen=True)
class ImageRecord:
    """One frame: output parity, and metrics vs ground truth when it exists."""

    name: str
    parity: ParityResult
    model_metrics: dict[str, float] | None
    reference_metrics: dict[str, float] | None


@dataclass(frozen=True)
class FailedGate:
    """One gate ``verify`` failed: what was measured against which threshold."""

    name: str  # psnr_between_outputs | finite_outputs | ground_truth_drop
    measured: float
    threshold: float
    detail: str  # one line: the figures, their unit and where

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class VerifyReport:
    """Everything ``verify`` measured; ``passed`` is the CI verdict."""

    model: str
    reference: str
    precision: str | None
    threshold_db: float
    images: tuple[ImageRecord, ...]
    summary: ParityResult
    max_gt_drop_db: float | None
    polygraphy: PolygraphyFiles | None = None

    @property
    def ground_truth(self) -> dict[str, Any] | None:
        rows = [r for r in self.images if r.model_metrics is not None]
        if not rows:
            return None
        model = mean_metrics([r.model_metrics for r in rows])
        ref = mean_metrics([r.reference_metrics for r in rows])
        return {"frames": len(rows), "model": model, "reference": ref,
                "drop_db": ref["psnr_rgb"] - model["psnr_rgb"]}

    @property
    def failed_gates(self) -> tuple[FailedGate, ...]:
        """The gates this model failed (empty when it passed)."""
        gates = (_finite_gate(self.images), _psnr_gate(self.images, self.threshold_db),
                 _ground_truth_gate(self.ground_truth, self.max_gt_drop_db))
        return tuple(g for g in gates if g is not None)

    @property
    def passed(self) -> bool:
        return not self.failed_gates

    def to_dict(self) -> dict[str, Any]:
        return {
            "model": self.model, "reference": self.reference, "precision": self.precision,
            "threshold_db": self.threshold_db, "max_gt_drop_db": self.max_gt_drop_db,
            "passed": self.passed, "failed_gates": [g.to_dict() for g in self.failed_gates],
            "summary": self.summary.to_dict(), "ground_truth": self.ground_truth,
            "images": [{"name": r.name, **r.parity.to_dict(), "model_metrics": r.model_metrics,
                        "reference_metrics": r.reference_metrics} for r in self.images],
            "polygraphy": None if self.polygraphy is None else {
                "inputs": str(self.polygraphy.inputs), "outputs": str(self.polygraphy.outputs),
                "command": self.polygraphy.command(self.model)},
        }


def _finite(record: ImageRecord) -> bool:
    return not (record.parity.nan_count or record.parity.inf_count)


def _finite_gate(images: tuple[ImageRecord, ...]) -> FailedGate | None:
    bad = [r for r in images if not _finite(r)]
    if not bad:
        return None
    nan, inf = sum(r.parity.nan_count for r in bad), sum(r.parity.inf_count for r in bad)
    return FailedGate("finite_outputs", float(nan + inf), 0.0,
                      f"{nan} NaN and {inf} Inf output values on {len(bad)} of {len(images)} frames "
                      f"(first: {bad[0].name}), allowed 0")


def _psnr_gate(images: tuple[ImageRecord, ...], threshold_db: float) -> FailedGate | None:
    low = [r for r in images if _finite(r) and r.parity.psnr_db < threshold_db]
    if not low:
        return None
    worst = min(low, key=lambda r: r.parity.psnr_db)
    return FailedGate("psnr_between_outputs", worst.parity.psnr_db, threshold_db,
                      f"PSNR between the outputs {worst.parity.psnr_db:.2f} dB on {worst.name} "
                      f"(below the threshold on {len(low)} of {len(images)} frames), "
                      f"threshold >= {threshold_db} dB")


def _ground_truth_gate(gt: dict[str, Any] | None, max_drop_db: float | None) -> FailedGate | None:
    if gt is None or max_drop_db is None or gt["drop_db"] <= max_drop_db:
        return None
    return FailedGate("ground_truth_drop", gt["drop_db"], max_drop_db,
                      f"PSNR vs ground truth {gt['model']['psnr_rgb']:.2f} dB against the reference's "
                      f"{gt['reference']['psnr_rgb']:.2f} dB: {gt['drop_db']:.2f} dB lower, "
                      f"allowed <= {max_drop_db} dB")


def _onnx_runner(path: Path) -> OnnxRunner:
    try:
        return OnnxRunner(path)
    except Exception as exc:  # noqa: BLE001 - ORT raises its own exception types for bad files
        raise VerificationError(f"{path}: ONNX Runtime cannot load it ({type(exc).__name__}: {exc})") from None


def _precision(model: Path) -> str | None:
    from edgederain.export.metadata import read_contract

    try:
        return read_contract(model).precision
    except ContractError:
        return None


def _record(name: str, frame: EvalFrame, ref_out, model_out, threshold_db: float) -> ImageRecord:
    parity = compare_outputs(ref_out, model_out, threshold_db=threshold_db, label=name)
    if frame.target is None:
        return ImageRecord(name, parity, None, None)
    return ImageRecord(name, parity, frame_metrics(model_out, frame.target), frame_metrics(ref_out, frame.target))


def verify_model(
    model: str | os.PathLike,
    *,
    reference: str | os.PathLike,
    data: str | os.PathLike,
    threshold_db: float | None = None,
    max_gt_drop_db: float | None = None,
    limit: int | None = None,
    polygraphy_dir: str | os.PathLike | None = None,
) -> VerifyReport:
    """Compare ``model`` with ``reference`` on the frames in ``data``; see the module docstring."""
    if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int) or limit < 1):
        raise VerificationError(f"limit (--limit) is a number of frames, at least 1; got {limit!r}")
    path = Path(model)
    if not path.is_file():
        raise VerificationError(f"{path}: model not found")
    precision = _precision(path)
    if threshold_db is None:
        if precision is None:
            raise VerificationError(f"{path} has no edgederain contract; pass --psnr-threshold")
        threshold_db = DEFAULT_THRESHOLDS_DB[precision]
    if max_gt_drop_db is None and precision == "int8":
        max_gt_drop_db = 0.3
    candidate = _onnx_runner(path)
    ref = open_model(reference, role="reference")
    frames = load_eval_frames(data, limit=limit)
    pairs = [(f, ref.runner.run_tensor(f.input), candidate(f.input)) for f in frames]
    images = tuple(_record(f.name, f, r, m, threshold_db) for f, r, m in pairs)
    files = None
    if polygraphy_dir is not None:
        feeds = [{candidate.input_name: f.input} for f, _, _ in pairs]
        outs = [{candidate.output_name: r} for _, r, _ in pairs]
        files = write_polygraphy_io(feeds, outs, polygraphy_dir, runner_name=ref.label)
    return VerifyReport(str(path), ref.label, precision, threshold_db, images,
                        summarize([i.parity for i in images]),
                        max_gt_drop_db if has_targets(frames) else None, files)
