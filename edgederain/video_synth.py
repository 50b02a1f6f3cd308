"""Synthetic rainy videos with ground truth: a camera moving over a clean photo, fresh rain per frame.

:func:`render_clip` cuts a ``size`` window out of a background photo along a camera path (a still
camera, a pan, a zoom, or both; sub-pixel, bilinear), renders new rain on every frame with
:func:`edgederain.data.synth.add_rain` (rain is independent from frame to frame, as in a real
video at ordinary shutter speeds), and returns the clean frames, the rainy frames and the exact
optical flow between consecutive frames (the camera path is known, so no flow has to be estimated
for the ground truth). ``moving_object=True`` adds an object that crosses the frame on its own
(a rectangle cut from elsewhere in the photo, 3 px a frame in screen space, whatever the camera
does): its pixels get its own flow, and the background it uncovers is marked as occluded, so
blending across independent motion (ghosting) shows in the figures. numpy and Pillow only.

Coordinates: pixel (x, y) of a frame has its centre at (x + 0.5, y + 0.5); frame t shows the
background point ``scale_t * centre + offset_t`` there (Pillow's affine transform follows the same
convention).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

from edgederain.errors import ConfigError

Motion = Literal["static", "pan", "zoom", "pan-zoom"]
MOTIONS: tuple[str, ...] = ("static", "pan", "zoom", "pan-zoom")


@dataclass(frozen=True)
class Clip:
    """A rendered clip: ``flows[t - 1]`` maps each pixel of frame t to its position in frame
    t - 1 (H x W x 2, x then y), ``valid[t - 1]`` marks pixels whose point is inside frame t - 1."""

    clean: list[np.ndarray]
    rainy: list[np.ndarray]
    flows: list[np.ndarray]
    valid: list[np.ndarray]
    motion: str
    moving_object: bool = False


def camera_path(motion: Motion, frames: int, size: tuple[int, int], background: tuple[int, int],
                rng: np.random.Generator) -> list[tuple[float, float, float]]:
    """(scale, offset_x, offset_y) per frame; every window stays inside the background."""
    if motion not in MOTIONS:
        raise ConfigError(f"camera motion must be one of {', '.join(MOTIONS)}, got {motion!r}")
    h, w = size
    bh, bw = background
    if bh < h or bw < w:
        raise ConfigError(f"background {bw}x{bh} is smaller than the {w}x{h} frame")
    t = np.linspace(0.0, 1.0, frames)
    zoom = motion in ("zoom", "pan-zoom")
    scales = 1.0 - 0.25 * t if zoom else np.ones(frames)  # zooming in: the window shrinks
    cx0, cy0 = bw / 2, bh / 2
    if motion in ("pan", "pan-zoom"):
        span_x = (bw - w) * 0.9
        direction = 1.0 if rng.random() < 0.5 else -1.0
        cx = cx0 + direction * span_x * (t - 0.5)
        cy = cy0 + (bh - h) * 0.2 * np.sin(np.pi * t) * rng.uniform(-1, 1)
    else:
        cx, cy = np.full(frames, cx0), np.full(frames, cy0)
    return [(float(s), float(x - s * w / 2), float(y - s * h / 2)) for s, x, y in zip(scales, cx, cy)]


def _render(background: np.ndarray, size: tuple[int, int], pose: tuple[float, float, float]) -> np.ndarray:
    from PIL import Image

    h, w = size
    s, ox, oy = pose
    img = Image.fromarray(background)
    out = img.transform((w, h), Image.Transform.AFFINE, (s, 0.0, ox, 0.0, s, oy), resample=Image.Resampling.BILINEAR)
    return np.asarray(out, dtype=np.uint8).copy()


def exact_flow(prev: tuple[float, float, float], cur: tuple[float, float, float],
               size: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """Flow from frame ``cur`` to frame ``prev`` and where it lands inside ``prev``."""
    h, w = size
    xs, ys = np.meshgrid(np.arange(w, dtype=np.float64) + 0.5, np.arange(h, dtype=np.float64) + 0.5)
    s1, ox1, oy1 = cur
    s0, ox0, oy0 = prev
    px, py = (s1 * xs + ox1 - ox0) / s0, (s1 * ys + oy1 - oy0) / s0
    flow = np.stack([px - xs, py - ys], axis=-1).astype(np.float32)
    valid = (px >= 0.5) & (px <= w - 0.5) & (py >= 0.5) & (py <= h - 0.5)
    return flow, valid


OBJECT_SPEED = 3  # pixels a frame, to the right


class _Sprite:
    """A rectangle of another part of the background moving across the frame."""

    def __init__(self, background: np.ndarray, size: tuple[int, int], frames: int) -> None:
        h, w = size
        self.h, self.w = max(h // 4, 4), max(w // 5, 4)
        patch = background[-self.h:, -self.w:][::-1]  # a corner, flipped: unlike what it covers
        self.patch = np.ascontiguousarray(patch)
        self.y = h // 2 - self.h // 2
        self.x0 = max(0, (w - self.w - OBJECT_SPEED * (frames - 1)) // 2)

    def x(self, t: int) -> int:
        return self.x0 + OBJECT_SPEED * t

    def paste(self, frame: np.ndarray, t: int) -> np.ndarray:
        out = frame.copy()
        x = self.x(t)
        region = out[self.y : self.y + self.h, x : x + self.w]
        region[:] = self.patch[: region.shape[0], : region.shape[1]]
        return out

    def mask(self, shape: tuple[int, int], t: int) -> np.ndarray:
        m = np.zeros(shape, bool)
        m[self.y : self.y + self.h, self.x(t) : self.x(t) + self.w] = True
        return m

    def correct(self, flow: np.ndarray, valid: np.ndarray, t: int) -> None:
        """Object pixels move with the object; background it covered in frame t - 1 is occluded."""
        h, w = valid.shape
        xs, ys = np.meshgrid(np.arange(w) + 0.5, np.arange(h) + 0.5)
        px, py = xs + flow[..., 0], ys + flow[..., 1]
        x0 = self.x(t - 1)
        covered = (px >= x0) & (px < x0 + self.w) & (py >= self.y) & (py < self.y + self.h)
        valid &= ~covered
        here = self.mask((h, w), t)
        flow[here] = (-OBJECT_SPEED, 0.0)
        valid[here] = True


def render_clip(background: np.ndarray, *, size: tuple[int, int] = (240, 320), frames: int = 24,
                motion: Motion = "pan", rain: str = "light", seed: int = 0,
                moving_object: bool = False) -> Clip:
    """Render one clip (see the module docstring); ``seed`` fixes the path and every frame's rain."""
    from edgederain.data.synth import add_rain

    if frames < 2:
        raise ConfigError(f"a clip needs at least 2 frames, got {frames}")
    rng = np.random.default_rng(seed)
    poses = camera_path(motion, frames, size, background.shape[:2], rng)
    clean = [_render(background, size, p) for p in poses]
    pairs = [exact_flow(poses[i - 1], poses[i], size) for i in range(1, frames)]
    if moving_object:
        sprite = _Sprite(background, size, frames)
        clean = [sprite.paste(c, t) for t, c in enumerate(clean)]
        for t, (flow, valid) in enumerate(pairs, start=1):
            sprite.correct(flow, valid, t)
    rainy = [add_rain(c, config=rain, rng=rng) for c in clean]
    return Clip(clean, rainy, [f for f, _ in pairs], [v for _, v in pairs], motion, moving_object)
