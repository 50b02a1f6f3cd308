"""Inputs every export is checked on: synthetic frames at awkward sizes, extremes, user frames."""

from __future__ import annotations

import numpy as np

from edgederain.errors import ExportError
from edgederain.export.data import EvalFrame
from edgederain.export.parity import extreme_inputs, synthetic_frames

# Sizes that exercise the in-graph pad (101 x 77 is not a multiple of 8) and a batch of 2.
DYNAMIC_PROBES: tuple[tuple[int, int, int], ...] = ((2, 96, 128), (1, 101, 77))


def probe_inputs(static_size: tuple[int, int] | None, batch: int | None) -> dict[str, np.ndarray]:
    """Synthetic rainy-looking inputs that fit the graph's shape constraints."""
    if static_size is None:
        shapes = [(batch or n, h, w) for n, h, w in DYNAMIC_PROBES]
    else:
        shapes = [(batch or 1, *static_size)]
    return {f"synthetic_{n}x{h}x{w}": synthetic_frames(n, h, w, seed=i) for i, (n, h, w) in enumerate(shapes)}


def extreme_probe_inputs(static_size: tuple[int, int] | None, batch: int | None) -> dict[str, np.ndarray]:
    """The extreme inputs at a size (and batch) the graph accepts."""
    h, w = static_size or (64, 64)
    return {k: np.repeat(v, batch or 1, axis=0) for k, v in extreme_inputs(h, w).items()}


def fit_frames(
    frames: list[EvalFrame], static_size: tuple[int, int] | None, batch: int | None
) -> dict[str, np.ndarray]:
    """User frames as gate inputs; centre-cropped to a static size, repeated to a fixed batch."""
    fitted = {}
    for f in frames:
        x = f.input
        if static_size is not None:
            (h, w), (fh, fw) = static_size, x.shape[2:]
            if fh < h or fw < w:
                raise ExportError(f"verification frame {f.name} is {fh}x{fw}, smaller than the static {h}x{w}")
            top, left = (fh - h) // 2, (fw - w) // 2
            x = np.ascontiguousarray(x[:, :, top : top + h, left : left + w])
        fitted[f.name] = np.repeat(x, batch or 1, axis=0)
    return fitted
