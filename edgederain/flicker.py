"""Flicker figures for a derained video: warping error and temporal standard deviation.

- **Warping error** (as in Lai et al., ECCV 2018, "Learning Blind Video Temporal Consistency"):
  for each pair of consecutive outputs, warp output t - 1 onto frame t with the optical flow of
  the *reference* video (the clean video where it exists, else the input), and average the squared
  difference (RGB in [0, 1]) over the pixels where the flow is trusted (inside the frame and, for
  estimated flow, passing a forward-backward check, which masks occlusions). Lower is steadier.
  :func:`estimate_flows` computes that flow with OpenCV's DIS (medium preset, a finer one than the
  stabiliser's, so the measure does not grade the stabiliser with its own flow); synthetic clips
  (:mod:`edgederain.video_synth`) carry the exact flow instead.
- **Temporal standard deviation** (still scenes): the per-pixel standard deviation over time of
  the output (0-255 scale), averaged over the frame; the clean video's is the floor.

OpenCV (the ``video`` extra) is needed for the warp and the flow; the standard deviation is numpy.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from edgederain.runtime.temporal import import_cv2


def warp(frame: np.ndarray, flow: np.ndarray) -> np.ndarray:
    """Sample ``frame`` (H x W x C float32) at pixel + ``flow`` (H x W x 2), bilinear."""
    cv2 = import_cv2()
    h, w = flow.shape[:2]
    xs, ys = np.meshgrid(np.arange(w, dtype=np.float32), np.arange(h, dtype=np.float32))
    return cv2.remap(frame, xs + flow[..., 0], ys + flow[..., 1], cv2.INTER_LINEAR,
                     borderMode=cv2.BORDER_REPLICATE)


def estimate_flows(frames: Sequence[np.ndarray], *, tolerance: float = 1.0) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Flow from each frame t to frame t - 1 (DIS, medium) and its forward-backward validity."""
    cv2 = import_cv2()
    dis = cv2.DISOpticalFlow_create(cv2.DISOPTICAL_FLOW_PRESET_MEDIUM)
    grays = [cv2.cvtColor(np.ascontiguousarray(f), cv2.COLOR_RGB2GRAY) for f in frames]
    flows, valid = [], []
    for prev, cur in zip(grays, grays[1:]):
        back = dis.calc(cur, prev, None)
        fwd = dis.calc(prev, cur, None)
        fwd_at = warp(fwd, back)
        fb = np.hypot(back[..., 0] + fwd_at[..., 0], back[..., 1] + fwd_at[..., 1])
        h, w = cur.shape
        xs, ys = np.meshgrid(np.arange(w), np.arange(h))
        inside = ((xs + back[..., 0] >= 0) & (xs + back[..., 0] <= w - 1)
                  & (ys + back[..., 1] >= 0) & (ys + back[..., 1] <= h - 1))
        flows.append(back)
        valid.append(inside & (fb < tolerance))
    return flows, valid


def warping_errors(outputs: Sequence[np.ndarray], flows: Sequence[np.ndarray],
                   valid: Sequence[np.ndarray]) -> list[float]:
    """Per-pair warping error (mean squared RGB difference in [0, 1] over valid pixels)."""
    if len(flows) != len(outputs) - 1 or len(valid) != len(flows):
        raise ValueError(f"need {len(outputs) - 1} flows and masks for {len(outputs)} frames, "
                         f"got {len(flows)} and {len(valid)}")
    errors = []
    for t in range(1, len(outputs)):
        cur = outputs[t].astype(np.float32) / 255.0
        prev = warp(outputs[t - 1].astype(np.float32) / 255.0, flows[t - 1])
        m = valid[t - 1]
        errors.append(float(((cur - prev) ** 2).sum(axis=2)[m].mean() / 3.0) if m.any() else float("nan"))
    return errors


def temporal_std(frames: Sequence[np.ndarray]) -> float:
    """Mean over pixels and channels of the per-pixel standard deviation over time (0-255)."""
    stack = np.stack([np.asarray(f, dtype=np.float32) for f in frames])
    return float(stack.std(axis=0).mean())
