"""Frames <-> model tensors (numpy only). The one preprocessing used by the runtime and by INT8
calibration, so calibration ranges are measured on exactly what the runtime feeds the model.

Accepted frames:
- a single H x W x 3 RGB frame, ``uint8`` (0..255) or ``float32`` in [0, 1];
- a batch N x H x W x 3 of the same.
Model tensors are ``float32`` N x 3 x H x W in [0, 1] (the contract's layout).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from edgederain.errors import InputError


@dataclass(frozen=True)
class FrameKind:
    """How the caller handed frames over, so outputs come back the same way."""

    dtype: np.dtype
    batched: bool


def _check_finite(frames: np.ndarray) -> None:
    finite = np.isfinite(frames)
    if finite.all():
        return
    bad = int(frames.size - np.count_nonzero(finite))
    first = tuple(int(i) for i in np.argwhere(~finite)[0])
    raise InputError(
        f"frames contain NaN or Inf values ({bad} of {frames.size}, the first at index {list(first)}); "
        "replace them before running, e.g. np.nan_to_num(frames, nan=0.0, posinf=1.0, neginf=0.0)"
    )


def _dtype_hint(frames: np.ndarray) -> str:
    """How to convert frames of another numeric dtype, judged from their actual value range."""
    if frames.dtype.kind not in "uifb" or frames.size == 0:
        return ""
    lo, hi = float(frames.min()), float(frames.max())
    whole = frames.dtype.kind in "uib" or bool(np.all(np.mod(frames, 1) == 0))
    if lo >= 0.0 and hi <= 1.0:
        return "; its values are in [0, 1] already: cast them with frames.astype(np.float32)"
    if lo >= 0.0 and hi <= 255.0:
        cast = "frames.astype(np.uint8), or " if whole else ""
        return f"; its values are in [0, 255]: pass {cast}frames.astype(np.float32) / 255"
    if lo >= 0.0 and hi <= 65535.0 and whole:
        return "; its values look 16-bit (up to 65535): pass (frames / 65535).astype(np.float32)"
    return f"; its values span [{lo:.4g}, {hi:.4g}]: scale them to [0, 1] and cast to float32"


def validate_frames(frames: np.ndarray, *, min_size: int = 1) -> FrameKind:
    """Check dtype, layout, channels, size and finiteness; raise :class:`InputError` with the fix."""
    if not isinstance(frames, np.ndarray):
        raise InputError(f"expected a numpy array, got {type(frames).__name__}")
    if frames.dtype not in (np.uint8, np.float32):
        if frames.dtype.kind == "f":
            _check_finite(frames)
        raise InputError(f"frames must be uint8 or float32, got {frames.dtype}{_dtype_hint(frames)}")
    if frames.ndim not in (3, 4):
        raise InputError(
            f"expected an H x W x 3 frame or an N x H x W x 3 batch, got shape {frames.shape}"
        )
    if frames.shape[-1] != 3:
        if frames.ndim == 3 and frames.shape[0] == 3 or frames.ndim == 4 and frames.shape[1] == 3:
            raise InputError(
                f"frames look channel-first {frames.shape}; pass channel-last H x W x 3 RGB "
                "(e.g. frame.transpose(1, 2, 0))"
            )
        raise InputError(
            f"frames need 3 channels (RGB) in the last axis, got shape {frames.shape}; convert "
            "grayscale with np.repeat(x[..., None], 3, -1) and drop alpha with x[..., :3]"
        )
    h, w = frames.shape[-3], frames.shape[-2]
    if frames.size == 0 or h == 0 or w == 0:
        raise InputError(f"frames have zero size: shape {frames.shape}")
    if h < min_size or w < min_size:
        raise InputError(f"frames are {h}x{w}; the model needs at least {min_size}x{min_size}")
    if frames.dtype == np.float32:
        _check_finite(frames)
        lo, hi = float(frames.min()), float(frames.max())
        if lo < 0.0 or hi > 1.0:
            fix = "divide 8-bit data by 255" if lo >= 0.0 and hi <= 255.0 else "scale them to [0, 1]"
            raise InputError(f"float32 frames must be in [0, 1], got [{lo:.4g}, {hi:.4g}]; {fix}")
    return FrameKind(frames.dtype, frames.ndim == 4)


def to_model_input(frames: np.ndarray, *, min_size: int = 1) -> tuple[np.ndarray, FrameKind]:
    """Validate and convert frames to a contiguous float32 N x 3 x H x W tensor in [0, 1]."""
    kind = validate_frames(frames, min_size=min_size)
    return frames_to_tensor(frames, kind), kind


def frames_to_tensor(frames: np.ndarray, kind: FrameKind) -> np.ndarray:
    """Already validated frames -> contiguous float32 N x 3 x H x W in [0, 1]."""
    batch = frames if kind.batched else frames[None]
    x = batch.astype(np.float32) / 255.0 if kind.dtype == np.uint8 else batch
    return np.ascontiguousarray(x.transpose(0, 3, 1, 2), dtype=np.float32)


def from_model_output(y: np.ndarray, kind: FrameKind) -> np.ndarray:
    """Float32 N x 3 x H x W output -> frames of the caller's dtype and batching."""
    out = np.clip(y, 0.0, 1.0).transpose(0, 2, 3, 1)
    if kind.dtype == np.uint8:
        out = np.rint(out * 255.0).astype(np.uint8)
    else:
        out = out.astype(np.float32, copy=False)
    out = np.ascontiguousarray(out)
    return out if kind.batched else out[0]
