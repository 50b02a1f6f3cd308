"""Tiled inference for frames larger than a configured size (numpy only).

A frame is cut into overlapping windows of ``tile + 2 * pad`` pixels per side, rounded up to the
contract's size multiple (so the graph never pads a window internally), placed every ``window -
2 * pad`` pixels; the last window of each row and column is aligned with the frame's edge, so
neighbouring windows overlap by at least ``2 * pad``. Each window's output is weighted by a
separable ramp: at an edge that lies inside the frame the weight is zero over the outer
``pad // 2`` pixels (they saw the least context), then rises linearly over ``pad`` pixels to 1;
along the frame's own border the weight stays 1. The weighted outputs are normalised by the summed
weights, so seams are cross-faded and no pixel comes from a window edge.

Memory stays bounded: windows are processed one row of windows (a strip) at a time; a float32
accumulator one strip high holds the partial sums and finished rows are written to the output as
soon as no later strip can touch them. Besides the caller's input and output frames, memory is
O(frame width x window) plus the model's activations for one window.

Note:
    The network's channel attention pools over the whole input, so a tiled result can never equal
    the untiled one exactly; larger tiles and more padding bring it closer (measured in
    ``tests/test_tiling_psnr.py`` and ``benchmarks/bench_runtime.py``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from edgederain.errors import ConfigError, InputError
from edgederain.runtime.checks import check_int

Infer = Callable[[np.ndarray], np.ndarray]  # float32 N x 3 x h x w -> same shape
Progress = Callable[[int, int], None]  # (tiles done, tiles in total)


@dataclass(frozen=True)
class TileConfig:
    """Tiling: ``tile`` core pixels per window side, ``pad`` context pixels on each side.

    Frames whose height or width exceeds one window are tiled; smaller frames run whole.
    ``batch`` windows of a strip are run together (models with a dynamic batch only).
    """

    tile: int = 512
    pad: int = 32
    batch: int = 1

    def __post_init__(self) -> None:
        for name, low in (("tile", 8), ("pad", 0), ("batch", 1)):
            check_int(name, getattr(self, name), minimum=low)

    def window(self, multiple: int) -> int:
        """Window side: tile + 2 * pad rounded up to ``multiple``."""
        side = self.tile + 2 * self.pad
        return -(-side // multiple) * multiple


@dataclass(frozen=True)
class TilePlan:
    """Window starts along each axis, the window size and the context pad (overlap = 2 * pad)."""

    height: int
    width: int
    win_h: int
    win_w: int
    ys: tuple[int, ...]
    xs: tuple[int, ...]
    pad: int

    @property
    def count(self) -> int:
        return len(self.ys) * len(self.xs)


def _starts(length: int, window: int, step: int) -> tuple[int, ...]:
    if length <= window:
        return (0,)
    starts = list(range(0, length - window, step))
    starts.append(length - window)
    return tuple(starts)


def plan_tiles(
    height: int, width: int, config: TileConfig, *, multiple: int, fixed: tuple[int, int] | None = None
) -> TilePlan:
    """Windows covering a ``height`` x ``width`` frame (``fixed``: the model's only accepted size)."""
    if fixed is not None:
        win_h, win_w = fixed
        if height < win_h or width < win_w:
            raise InputError(
                f"frame {height}x{width} is smaller than the {win_h}x{win_w} the model was exported "
                "for; resize the frame or export a model with dynamic height and width"
            )
    else:
        side = config.window(multiple)
        win_h, win_w = min(side, height), min(side, width)
    blend = 2 * config.pad
    for win in (win_h, win_w):
        if win - blend < 1 and (height > win or width > win):
            raise ConfigError(
                f"tile_pad (--tile-pad) {config.pad} leaves no core in a {win}-pixel window; "
                "lower --tile-pad"
            )
    step_h, step_w = max(win_h - blend, 1), max(win_w - blend, 1)
    return TilePlan(
        height, width, win_h, win_w, _starts(height, win_h, step_h), _starts(width, win_w, step_w), config.pad
    )


def ramp(length: int, window: int, start: int, pad: int) -> np.ndarray:
    """1-D weights of a window at ``start``: at an edge inside the frame, zero over the outer
    ``pad // 2`` pixels (they saw the least context), then a linear ramp over ``pad`` pixels."""
    w = np.ones(window, dtype=np.float32)
    if pad == 0:
        return w
    zero = min(pad // 2, window)
    edge = np.concatenate(
        [np.zeros(zero, np.float32), (np.arange(pad, dtype=np.float32) + 1.0) / (pad + 1.0)]
    )[: window]
    n = edge.size
    if start > 0:
        w[:n] = np.minimum(w[:n], edge)
    if start + window < length:
        w[window - n :] = np.minimum(w[window - n :], edge[::-1])
    return w


def _to_tensor(frame: np.ndarray) -> np.ndarray:
    x = frame.astype(np.float32) / 255.0 if frame.dtype == np.uint8 else frame.astype(np.float32)
    return np.ascontiguousarray(x.transpose(2, 0, 1))


def _run_strip(
    frame: np.ndarray, plan: TilePlan, y0: int, infer: Infer, batch: int, acc: np.ndarray,
    wsum: np.ndarray, advance: Callable[[int], None],
) -> None:
    """Run every window of the strip starting at row ``y0`` and add its weighted output."""
    wy = ramp(plan.height, plan.win_h, y0, plan.pad)
    for i in range(0, len(plan.xs), batch):
        xs = plan.xs[i : i + batch]
        x = np.stack([_to_tensor(frame[y0 : y0 + plan.win_h, x0 : x0 + plan.win_w]) for x0 in xs])
        y = infer(x)
        for out, x0 in zip(y, xs):
            weight = wy[:, None] * ramp(plan.width, plan.win_w, x0, plan.pad)[None, :]
            acc[:, x0 : x0 + plan.win_w] += out.transpose(1, 2, 0) * weight[..., None]
            wsum[:, x0 : x0 + plan.win_w] += weight
        advance(len(xs))


def _finish_rows(out: np.ndarray, rows: slice, acc: np.ndarray, wsum: np.ndarray, n: int) -> None:
    value = np.clip(acc[:n] / wsum[:n, :, None], 0.0, 1.0)
    if out.dtype == np.uint8:
        out[rows] = np.rint(value * 255.0).astype(np.uint8)
    else:
        out[rows] = value


def run_tiled(
    frame: np.ndarray,
    infer: Infer,
    plan: TilePlan,
    *,
    batch: int = 1,
    progress: Progress | None = None,
    offset: int = 0,
    total: int | None = None,
) -> np.ndarray:
    """Derain one validated H x W x 3 frame (uint8 or float32) window by window; same dtype out.

    ``progress(done, total)`` is called after each run of windows with the windows finished so
    far; ``offset`` and ``total`` let a caller count over several frames (defaults: this frame's
    windows, ``plan.count``). An exception raised by ``progress`` stops the run.
    """
    count = [offset]
    total = plan.count if total is None else total

    def advance(n: int) -> None:
        count[0] += n
        if progress is not None:
            progress(count[0], total)

    out = np.empty_like(frame)
    acc = np.zeros((plan.win_h, plan.width, 3), dtype=np.float32)
    wsum = np.zeros((plan.win_h, plan.width), dtype=np.float32)
    base = 0
    for k, y0 in enumerate(plan.ys):
        shift = y0 - base
        if shift:
            acc[:-shift], wsum[:-shift] = acc[shift:], wsum[shift:]
            acc[-shift:], wsum[-shift:] = 0.0, 0.0
        base = y0
        _run_strip(frame, plan, y0, infer, batch, acc, wsum, advance)
        done = plan.ys[k + 1] if k + 1 < len(plan.ys) else plan.height
        _finish_rows(out, slice(base, done), acc, wsum, done - base)
    return out
