"""Dataset metrics for a deraining model: mean PSNR / SSIM on RGB and on Y, per image, and a grid.

Evaluation is built around a *predictor*: a callable that takes one rainy frame (H x W x 3 uint8
RGB, full size) and returns the derained frame of the same shape. :func:`make_predictor` builds one
from

- a training checkpoint (``.pt``) or an exported ONNX file (``.onnx``), opened by
  :func:`edgederain.export.runners.open_model` (the network pads to a multiple of 8 inside, so
  images are evaluated at full size, never cropped);
- ``identity``: returns the rainy input unchanged. Its scores are the rainy inputs' own scores
  (Rain100L: about 25.5 dB RGB, 26.9 dB Y), which proves the metric pipeline end to end.

:func:`evaluate` runs a predictor over pairs (any layout :func:`edgederain.data.pairs.find_pairs`
reads) and returns an :class:`EvalReport`: per-image and mean metrics of the output, the same for
the rainy input (so the gain is explicit), and timing. The report writes a per-image CSV, a JSON
summary, and a before / after / ground-truth grid PNG of the first few images.

Metrics are :func:`edgederain.metrics.image_metrics` (MATLAB-style, BT.601 Y).
"""

from __future__ import annotations

import csv
import json
import os
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

from edgederain.errors import DatasetError
from edgederain.io import write_image
from edgederain.metrics import image_metrics
from edgederain.data.pairs import Layout, Pair, Side, find_pairs, load_pair

Predictor = Callable[[np.ndarray], np.ndarray]
METRICS: tuple[str, ...] = ("psnr_rgb", "ssim_rgb", "psnr_y", "ssim_y")


def make_predictor(model: str | os.PathLike, *, threads: int = 0) -> tuple[Predictor, dict]:
    """(predictor, description) for ``identity``, a ``.pt`` checkpoint or an ``.onnx`` model."""
    if str(model) == "identity":
        return (lambda frame: np.array(frame, copy=True)), {"kind": "identity"}
    from edgederain.export.runners import open_model

    opened = open_model(model, threads=threads, hint="pass a .pt checkpoint, an .onnx file or 'identity'")
    return opened.runner.run, opened.info


@dataclass
class EvalReport:
    """Result of :func:`evaluate`; ``mean`` / ``input_mean`` hold the four metrics."""

    model: dict
    data: str
    count: int
    mean: dict[str, float]
    input_mean: dict[str, float]
    seconds_per_image: float
    per_image: list[dict] = field(default_factory=list)

    @property
    def gain(self) -> dict[str, float]:
        """Output minus input, per metric (dB for PSNR)."""
        return {k: self.mean[k] - self.input_mean[k] for k in METRICS}

    def summary(self) -> dict:
        d = asdict(self)
        d.pop("per_image")
        d["gain"] = self.gain
        return d

    def write_json(self, path: str | os.PathLike) -> Path:
        """Strict JSON: a non-finite value (PSNR of identical images) is written as null."""
        p = Path(path)
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(json.dumps(_finite(self.summary()), indent=2, allow_nan=False) + "\n")
        return p

    def write_csv(self, path: str | os.PathLike) -> Path:
        p = Path(path)
        p.parent.mkdir(parents=True, exist_ok=True)
        columns = ["name", "height", "width", *METRICS, *(f"input_{k}" for k in METRICS)]
        with p.open("w", newline="") as f:
            writer = csv.DictWriter(f, fieldnames=columns)
            writer.writeheader()
            for row in self.per_image:
                writer.writerow({k: (f"{v:.4f}" if isinstance(v, float) else v) for k, v in row.items()})
        return p


def _finite(value):
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(v) for v in value]
    if isinstance(value, float) and not np.isfinite(value):
        return None
    return value


def _thumb(img: np.ndarray, width: int) -> np.ndarray:
    from PIL import Image

    h, w = img.shape[:2]
    if w <= width:
        return img
    return np.asarray(Image.fromarray(img).resize((width, max(1, round(h * width / w))), Image.LANCZOS))


def write_grid(rows: Sequence[tuple[np.ndarray, np.ndarray, np.ndarray]], path: str | os.PathLike,
               *, width: int = 480) -> Path:
    """A PNG with one row per image: rainy | derained | ground truth (each at most ``width`` wide)."""
    tiles = [[_thumb(im, width) for im in row] for row in rows]
    row_h = [max(t.shape[0] for t in row) for row in tiles]
    col_w = max(t.shape[1] for row in tiles for t in row)
    gap = 4
    canvas = np.full((sum(row_h) + gap * (len(rows) - 1), 3 * col_w + 2 * gap, 3), 255, np.uint8)
    y = 0
    for row, h in zip(tiles, row_h):
        for j, t in enumerate(row):
            x = j * (col_w + gap)
            canvas[y : y + t.shape[0], x : x + t.shape[1]] = t
        y += h + gap
    return write_image(path, canvas)


def _mean(rows: list[dict], prefix: str = "") -> dict[str, float]:
    return {k: float(np.mean([r[prefix + k] for r in rows])) for k in METRICS}


def evaluate(
    predict: Predictor,
    pairs: Sequence[Pair],
    *,
    model_info: dict | None = None,
    data_name: str = "",
    save_images: str | os.PathLike | None = None,
    grid: str | os.PathLike | None = None,
    grid_count: int = 4,
    progress: bool = True,
) -> EvalReport:
    """Run ``predict`` on every pair at full size and collect the metrics."""
    from tqdm import tqdm

    if not pairs:
        raise DatasetError("no pairs to evaluate")
    out_dir = Path(save_images) if save_images else None
    if out_dir is not None:
        out_dir.mkdir(parents=True, exist_ok=True)
    rows, grid_rows, seconds = [], [], 0.0
    for pair in tqdm(pairs, desc="evaluate", disable=not progress, dynamic_ncols=True):
        rainy, clean = load_pair(pair)
        t0 = time.perf_counter()
        out = predict(rainy)
        seconds += time.perf_counter() - t0
        if out.shape != rainy.shape or out.dtype != np.uint8:
            raise DatasetError(f"{pair.rainy}: predictor returned {out.dtype} {out.shape}, expected uint8 {rainy.shape}")
        row = {"name": pair.name, "height": rainy.shape[0], "width": rainy.shape[1], **image_metrics(out, clean)}
        row.update({f"input_{k}": v for k, v in image_metrics(rainy, clean).items()})
        rows.append(row)
        if out_dir is not None:
            write_image(out_dir / (Path(pair.name).stem + ".png"), out, protect=[pair.rainy, pair.clean])
        if len(grid_rows) < grid_count:
            grid_rows.append((rainy, out, clean))
    if grid is not None:
        Path(grid).parent.mkdir(parents=True, exist_ok=True)
        write_grid(grid_rows, grid)
    return EvalReport(model_info or {}, data_name, len(rows), _mean(rows), _mean(rows, "input_"),
                      seconds / len(rows), rows)


def evaluate_folder(
    model: str | os.PathLike,
    data: str | os.PathLike,
    *,
    layout: Layout = "auto",
    clean_side: Side = "left",
    limit: int | None = None,
    threads: int = 0,
    **kwargs,
) -> EvalReport:
    """:func:`make_predictor` + :func:`find_pairs` + :func:`evaluate`."""
    predict, info = make_predictor(model, threads=threads)
    pairs = find_pairs(data, layout=layout, clean_side=clean_side)
    if limit is not None:
        pairs = pairs[:limit]
    return evaluate(predict, pairs, model_info=info, data_name=str(data), **kwargs)


__all__ = ["EvalReport", "METRICS", "Predictor", "evaluate", "evaluate_folder", "make_predictor", "write_grid"]
