"""Temporal stability for video: blend each derained frame with the previous output where the
scene has not changed, so rain the model leaves behind (different in every frame) stops flickering.

A per-frame model sees fresh rain in every frame and removes it a little differently each time.
:class:`TemporalFilter` keeps the previous *stabilised* output and, frame by frame, returns

    out_t = raw_t + w_t * (prev_t - raw_t)          w_t = strength * agreement_t  (per pixel)

where ``raw_t`` is the model's output, ``prev_t`` the previous output (aligned to frame t) and
``agreement_t`` in [0, 1] says how sure we are that the pixel shows the same scene point in both.
Where the scene is still, this is a recursive average (with ``strength = 0.5`` the frame-to-frame
noise of the residual rain drops to a third of its variance); where it moved, ``w_t = 0`` and the
frame is the model's own. Two ways of aligning and judging agreement (``motion``):

- ``"mask"`` (numpy only): no alignment. The two frames are compared on block means
  (``block`` x ``block`` pixels, which average thin rain streaks away): a block's weight falls
  linearly from 1 (no difference) to 0 at a mean absolute difference of ``threshold``. Cheap (1-3 % of the model's time on CPU); helps only where the camera and
  scene are still.
- ``"flow"`` (OpenCV, the ``video`` extra): dense optical flow (DIS, ultrafast preset) between
  consecutive *raw outputs* (derained, so the rain does not pull the flow) warps the previous
  output onto frame t; a forward-backward check marks occlusions and flow failures (weight 0), and
  the same block test as ``"mask"`` runs on the warped frame. Works on moving cameras (pans,
  zooms); costs two flow fields and a remap per frame.

The filter holds two frames of state (the previous output and the previous raw output for the
flow); :meth:`TemporalFilter.reset` drops them (a cut, a seek, a new stream). A change of frame
size resets it by itself.

Note:
    The issue suggested blending the predicted rain layer; blending the output is the same thing
    here (``B = I - R``, and ``I`` is fixed for the frame), except that it also averages the parts
    of the input the model should not touch, which is what a still scene's noise wants.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from edgederain.errors import ConfigError, MissingDependencyError

Motion = Literal["mask", "flow"]
MOTIONS: tuple[str, ...] = ("mask", "flow")
DEFAULT_THRESHOLDS = {"mask": 0.05, "flow": 0.15}  # chosen on clips apart from benchmarks/video_flicker.py's


@dataclass(frozen=True)
class TemporalConfig:
    """How strongly and where to blend with the previous frame; see the module docstring.

    ``strength``: weight of the previous output on a perfectly still pixel (0 turns blending off,
    below 1). ``threshold``: mean absolute difference of a block, on the [0, 1] scale, at which
    the weight reaches 0 (None: 0.05 for ``"mask"``, 0.15 for ``"flow"``). ``block``: block size
    of that test in pixels. ``fb_tolerance``: the forward-backward error in pixels above which
    flow is not trusted (``"flow"`` only).
    """

    motion: Motion = "mask"
    strength: float = 0.5
    threshold: float | None = None
    block: int = 8
    fb_tolerance: float = 2.0

    def __post_init__(self) -> None:
        if self.motion not in MOTIONS:
            raise ConfigError(f"temporal motion must be one of {', '.join(MOTIONS)}, got {self.motion!r}")
        if self.threshold is None:  # unaligned blocks need a tighter test than flow-aligned ones
            object.__setattr__(self, "threshold", DEFAULT_THRESHOLDS[self.motion])
        if not 0.0 <= self.strength < 1.0:
            raise ConfigError(f"temporal strength must be in [0, 1), got {self.strength}")
        if not self.threshold > 0:
            raise ConfigError(f"temporal threshold must be > 0, got {self.threshold}")
        if self.block < 1:
            raise ConfigError(f"temporal block must be >= 1 pixel, got {self.block}")
        if not self.fb_tolerance > 0:
            raise ConfigError(f"temporal fb_tolerance must be > 0 pixels, got {self.fb_tolerance}")


def import_cv2() -> Any:
    """OpenCV, or a clear error naming the extra."""
    try:
        import cv2
    except ModuleNotFoundError:
        raise MissingDependencyError(
            "temporal motion 'flow' needs OpenCV: pip install 'edgederain[video]' "
            "(or use motion 'mask', which needs only numpy)"
        ) from None
    return cv2


def block_means(gray: np.ndarray, block: int) -> np.ndarray:
    """Means of ``block`` x ``block`` cells (edge cells cover what is left)."""
    h, w = gray.shape
    bh, bw = -(-h // block), -(-w // block)
    padded = np.pad(gray, ((0, bh * block - h), (0, bw * block - w)), mode="edge")
    return padded.reshape(bh, block, bw, block).mean(axis=(1, 3))


def agreement(a: np.ndarray, b: np.ndarray, config: TemporalConfig) -> np.ndarray:
    """Per-pixel weight in [0, 1]: 1 where the blocks of ``a`` and ``b`` (H x W x 3 float in
    [0, 1]) agree, falling linearly to 0 at ``config.threshold``; a block also takes the worst
    of its 8 neighbours, so moving edges are not blended."""
    diff = np.abs(a - b).mean(axis=2)
    cells = block_means(diff, config.block)
    padded = np.pad(cells, 1, mode="edge")
    worst = np.max(np.stack([padded[i : i + cells.shape[0], j : j + cells.shape[1]]
                             for i in range(3) for j in range(3)]), axis=0)
    weight = np.clip(1.0 - worst / config.threshold, 0.0, 1.0).astype(np.float32)
    h, w = a.shape[:2]
    return np.repeat(np.repeat(weight, config.block, 0), config.block, 1)[:h, :w]


class TemporalFilter:
    """Stateful stabiliser: :meth:`apply` each derained frame, in order; see the module docstring."""

    def __init__(self, config: TemporalConfig | None = None) -> None:
        self.config = config if config is not None else TemporalConfig()
        self._cv2 = import_cv2() if self.config.motion == "flow" else None
        self._dis = None
        self.reset()

    def reset(self) -> None:
        """Forget the previous frame (after a cut or seek, or for a new stream)."""
        self._prev_out: np.ndarray | None = None
        self._prev_gray: np.ndarray | None = None
        self.last_weight_mean = 0.0

    def apply(self, raw: np.ndarray) -> np.ndarray:
        """Stabilise one H x W x 3 uint8 derained frame; returns uint8 of the same shape."""
        if raw.dtype != np.uint8 or raw.ndim != 3 or raw.shape[2] != 3:
            raise ConfigError(f"TemporalFilter.apply expects an H x W x 3 uint8 frame, got {raw.dtype} {raw.shape}")
        cur = raw.astype(np.float32) * (1.0 / 255.0)
        gray = self._gray(raw) if self._cv2 is not None else None
        prev = self._prev_out
        if prev is None or prev.shape != cur.shape or self.config.strength == 0:
            out, self.last_weight_mean = cur, 0.0
        else:
            aligned, valid = self._align(prev, gray)
            weight = agreement(cur, aligned, self.config) * self.config.strength
            if valid is not None:
                weight *= valid
            self.last_weight_mean = float(weight.mean())
            out = cur + weight[..., None] * (aligned - cur)
        self._prev_out, self._prev_gray = out, gray
        return np.clip(out * 255.0 + 0.5, 0, 255).astype(np.uint8)

    def _gray(self, rgb: np.ndarray) -> np.ndarray:
        return self._cv2.cvtColor(rgb, self._cv2.COLOR_RGB2GRAY)

    def _align(self, prev: np.ndarray, gray: np.ndarray | None) -> tuple[np.ndarray, np.ndarray | None]:
        """The previous output as seen from this frame, and where that alignment is trusted."""
        if self._cv2 is None or self._prev_gray is None or self._prev_gray.shape != gray.shape:
            return prev, None
        cv2 = self._cv2
        if self._dis is None:
            self._dis = cv2.DISOpticalFlow_create(cv2.DISOPTICAL_FLOW_PRESET_ULTRAFAST)
        back = self._dis.calc(gray, self._prev_gray, None)    # t -> t-1, per pixel of frame t
        fwd = self._dis.calc(self._prev_gray, gray, None)     # t-1 -> t
        h, w = gray.shape
        xs, ys = np.meshgrid(np.arange(w, dtype=np.float32), np.arange(h, dtype=np.float32))
        map_x, map_y = xs + back[..., 0], ys + back[..., 1]
        warped = cv2.remap(prev, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
        fwd_at = cv2.remap(fwd, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
        fb = np.hypot(back[..., 0] + fwd_at[..., 0], back[..., 1] + fwd_at[..., 1])
        inside = (map_x >= 0) & (map_x <= w - 1) & (map_y >= 0) & (map_y <= h - 1)
        valid = ((fb < self.config.fb_tolerance) & inside).astype(np.float32)
        return warped, valid
