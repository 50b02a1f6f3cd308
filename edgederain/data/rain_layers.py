"""Rain engine v2 building blocks: noise-seeded streak layers, the rain veil, the camera (numpy only).

Streak layers (:class:`SeedLayer`, :func:`render_seed_layer`)
------------------------------------------------------------
The heavy-rain benchmarks draw rain the way a Photoshop "rain" tutorial does, and so do we:

1. **Seed**: sparse noise. Each pixel becomes a drop seed with probability ``density`` (per
   pixel), with a brightness drawn uniformly from ``intensity``. (Yang et al., CVPR 2017, JORDER:
   Rain100L/H; Li, Cheong and Tan, CVPR 2019, "Heavy Rain Image Restoration": Gaussian noise seed.)
2. **Drop size**: the seed is widened by a peak-normalised Gaussian of standard deviation
   ``thickness`` (a dot keeps its brightness at the centre).
3. **Motion blur** with a line kernel of ``length`` pixels at the layer's angle (Li et al.:
   21-60 px at 80-100 degrees, i.e. within 10 degrees of vertical). The kernel is anti-aliased
   (bilinear samples every quarter pixel) and normalised so that an isolated vertical streak peaks
   at its seed's brightness; overlapping streaks add up.
4. **Defocus** (Garg and Nayar, 2006, "Photorealistic rendering of rain streaks"): drops near
   the camera are out of focus, so the near layer gets an extra Gaussian blur of ``defocus`` px
   and is drawn wider, longer, sparser and brighter than far layers.

Several layers (depth planes) each draw their own density, length, thickness, brightness and
defocus per image; each image has 1-5 directions (JORDER's Rain100H: "five directions"), every
direction takes its share of every layer's seeds.

Rain accumulation (:func:`transmission_map`)
--------------------------------------------
Dense rain far away is a veil: ``O = t * (B + S) + (1 - t) * A`` (JORDER's rain model with
transmission ``t`` and atmospheric light ``A``; Li et al. use ``t = exp(-beta d)`` with a depth map
``d``, beta 3-4.2 and grey ``A`` 0.3-0.9). Without depth we draw ``t`` as a smooth random field
(bilinear coarse noise plus a vertical gradient: the top of a road scene is usually farther away)
whose mean is drawn from the preset's ``transmission`` range, and a near-grey ``A``.

The camera (:func:`camera_effects`)
-----------------------------------
Real frames are noisy and compressed: Gaussian sensor noise of a standard deviation drawn from
``noise`` and JPEG at a quality drawn from ``jpeg_quality``, each applied to the rainy image with
its probability. Exposure changes and downscaling apply to the whole pair (they change the scene,
not the rain) and live with the dataset (:mod:`edgederain.data.datasets`).

Note:
    The motion-blurred seed is equivalent to the splatted segments of :mod:`edgederain.data.synth`
    (``StreakLayer``) but reproduces the benchmarks' texture: streak brightness varies along and
    between streaks and dense layers merge into sheets, as in Rain100H and Li et al.'s sets.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import Any

import numpy as np

from edgederain.errors import ConfigError

Range = tuple[float, float]


def as_range(name: str, value: Any, *, low: float = 0.0, high: float | None = None) -> Range:
    """``value`` as a validated ``(low, high)`` float pair."""
    try:
        lo, hi = (float(v) for v in value)
    except (TypeError, ValueError):
        raise ConfigError(f"{name} must be a [low, high] pair of numbers, got {value!r}") from None
    if not (low <= lo <= hi) or (high is not None and hi > high):
        bound = f" <= {high}" if high is not None else ""
        raise ConfigError(f"{name} must satisfy {low} <= low <= high{bound}, got {value!r}")
    return lo, hi


@dataclass(frozen=True)
class SeedLayer:
    """One depth plane of noise-seeded, motion-blurred streaks; ranges are drawn once per image."""

    density: Range  # seeds per pixel
    length: Range  # line-kernel length, pixels
    thickness: Range  # Gaussian sigma of a drop before motion blur, pixels
    intensity: Range  # seed brightness, [0, 1] scale (drawn per seed)
    defocus: Range = (0.0, 0.0)  # extra Gaussian blur of the layer, pixels (near drops)

    def __post_init__(self) -> None:
        object.__setattr__(self, "density", as_range("density", self.density, high=0.2))
        object.__setattr__(self, "length", as_range("length", self.length, low=1.0, high=400.0))
        object.__setattr__(self, "thickness", as_range("thickness", self.thickness, high=8.0))
        object.__setattr__(self, "intensity", as_range("intensity", self.intensity, high=1.5))
        object.__setattr__(self, "defocus", as_range("defocus", self.defocus, high=8.0))


def gaussian_kernel(sigma: float, *, peak: bool = False) -> np.ndarray:
    """1-D Gaussian taps (sum 1, or peak 1 with ``peak``)."""
    radius = max(1, int(np.ceil(3 * sigma)))
    x = np.arange(-radius, radius + 1, dtype=np.float32)
    k = np.exp(-0.5 * (x / max(sigma, 1e-3)) ** 2)
    return k / (k.max() if peak else k.sum())


def separable_blur(img: np.ndarray, taps: np.ndarray) -> np.ndarray:
    """Blur a 2-D array with the same 1-D taps along both axes (zero padding)."""
    r = len(taps) // 2
    out = img
    for axis in (0, 1):
        pad = [(r, r) if a == axis else (0, 0) for a in (0, 1)]
        padded = np.pad(out, pad)
        n = out.shape[axis]
        acc = np.zeros_like(out)
        for i, w in enumerate(taps):
            sl = [slice(None), slice(None)]
            sl[axis] = slice(i, i + n)
            acc += w * padded[tuple(sl)]
        out = acc
    return out


def line_kernel(length: float, angle_deg: float) -> np.ndarray:
    """Anti-aliased line of ``length`` px at ``angle_deg`` from vertical; a vertical line peaks at 1."""
    theta = np.radians(angle_deg)
    half = length / 2.0
    size = int(np.ceil(length)) + 3
    size += 1 - size % 2
    c = size // 2
    t = np.linspace(-half, half, max(2, int(np.ceil(length * 4)) + 1))
    xs, ys = c + t * np.sin(theta), c + t * np.cos(theta)
    x0, y0 = np.floor(xs).astype(int), np.floor(ys).astype(int)
    fx, fy = xs - x0, ys - y0
    k = np.zeros((size, size), np.float64)
    step = length / (len(t) - 1)
    for dx, dy, w in ((0, 0, (1 - fx) * (1 - fy)), (1, 0, fx * (1 - fy)), (0, 1, (1 - fx) * fy), (1, 1, fx * fy)):
        np.add.at(k, (np.clip(y0 + dy, 0, size - 1), np.clip(x0 + dx, 0, size - 1)), w * step)
    return k.astype(np.float32)


def fast_fft_length(n: int) -> int:
    """The smallest 5-smooth integer (2^a 3^b 5^c) >= ``n``: lengths pocketfft transforms fastest."""
    m = max(1, int(n))
    while True:
        x = m
        for p in (2, 3, 5):
            while x % p == 0:
                x //= p
        if x == 1:
            return m
        m += 1


def fft_convolve(img: np.ndarray, kernel: np.ndarray) -> np.ndarray:
    """'same' 2-D convolution of ``img`` with an odd-sized ``kernel`` (zero padding, via FFT).

    The transforms are padded past the linear-convolution size to a 5-smooth length: the same
    result (the extra zeros change nothing but rounding, below 1e-5 of the values), 2.6x faster on
    the streak layers of the all-weather mixture, where this is most of the rendering time.
    """
    kh, kw = kernel.shape
    h, w = img.shape
    fh, fw = fast_fft_length(h + kh - 1), fast_fft_length(w + kw - 1)
    spec = np.fft.rfft2(img, (fh, fw)) * np.fft.rfft2(kernel, (fh, fw))
    full = np.fft.irfft2(spec, (fh, fw))
    top, left = kh // 2, kw // 2
    return np.maximum(full[top : top + h, left : left + w], 0.0).astype(np.float32)


def render_seed_layer(
    h: int,
    w: int,
    layer: SeedLayer,
    angles: np.ndarray,
    rng: np.random.Generator,
    *,
    scale: float = 1.0,
    density_mul: float = 1.0,
    intensity_mul: float = 1.0,
    length_mul: float = 1.0,
) -> np.ndarray:
    """One depth layer (H x W, >= 0): seeds split among ``angles``, each share blurred along its angle.

    ``scale`` multiplies lengths and sizes (rain drawn for a 480 x 320 frame on a larger canvas);
    the ``*_mul`` factors are a preset's per-image draws of strength.
    """
    length = float(rng.uniform(*layer.length)) * scale * length_mul
    thickness = float(rng.uniform(*layer.thickness)) * scale
    defocus = float(rng.uniform(*layer.defocus)) * scale
    density = float(rng.uniform(*layer.density)) * density_mul / scale**2
    margin = int(np.ceil(length / 2)) + 2
    ph, pw = h + 2 * margin, w + 2 * margin
    out = np.zeros((ph, pw), np.float32)
    owner = rng.integers(0, len(angles), (ph, pw))
    bright = rng.uniform(*layer.intensity, (ph, pw)) * intensity_mul
    seeds = np.where(rng.random((ph, pw)) < density, bright, 0.0).astype(np.float32)
    if thickness > 0.05:
        seeds = separable_blur(seeds, gaussian_kernel(thickness, peak=True))
    for k, angle in enumerate(angles):
        share = np.where(owner == k, seeds, 0.0)
        if share.any():
            out += fft_convolve(share, line_kernel(length, float(angle)))
    if defocus > 0.05:
        out = separable_blur(out, gaussian_kernel(defocus))
    return out[margin : margin + h, margin : margin + w]


def coarse_shape(h: int, w: int, scale: float) -> tuple[int, int]:
    """Grid of coarse noise that :func:`upsample_bilinear` stretches over an H x W image."""
    return int(np.ceil(h / scale)) + 2, int(np.ceil(w / scale)) + 2


def upsample_bilinear(coarse: np.ndarray, h: int, w: int) -> np.ndarray:
    """Stretch a coarse 2-D grid to H x W by bilinear interpolation (smooth veils and haze)."""
    gh, gw = coarse.shape
    yy = np.linspace(0, gh - 1.001, h)
    xx = np.linspace(0, gw - 1.001, w)
    y0, x0 = yy.astype(int), xx.astype(int)
    fy, fx = (yy - y0)[:, None], (xx - x0)[None, :]
    top = coarse[y0][:, x0] * (1 - fx) + coarse[y0][:, x0 + 1] * fx
    bottom = coarse[y0 + 1][:, x0] * (1 - fx) + coarse[y0 + 1][:, x0 + 1] * fx
    return top * (1 - fy) + bottom * fy


def transmission_map(h: int, w: int, mean: float, rng: np.random.Generator, *, scale: float = 96.0) -> np.ndarray:
    """Smooth transmission t (H x W) in (0, 1] with mean about ``mean``: lower (hazier) towards the top."""
    coarse = rng.normal(0.0, 1.0, coarse_shape(h, w, scale)).astype(np.float32)
    field = upsample_bilinear(coarse, h, w)
    tilt = float(rng.uniform(0.0, 0.6))  # depth grows towards the top of the frame
    depth = 0.25 * field + tilt * (0.5 - np.linspace(0.0, 1.0, h, dtype=np.float32))[:, None]
    haze = max(1e-3, 1.0 - mean)
    t = 1.0 - haze * np.exp(depth)  # mean of exp(depth) is about 1
    return np.clip(t, 0.05, 1.0).astype(np.float32)


def camera_effects(
    img: np.ndarray,
    rng: np.random.Generator,
    *,
    noise: Range,
    noise_prob: float,
    jpeg_quality: Range,
    jpeg_prob: float,
) -> np.ndarray:
    """Sensor noise and JPEG on a float RGB image in [0, 1]; returns uint8."""
    if noise_prob > 0 and rng.random() < noise_prob:
        sigma = float(rng.uniform(*noise))
        img = img + rng.normal(0.0, sigma, img.shape).astype(np.float32)
    out = np.round(np.clip(img, 0.0, 1.0) * 255.0).astype(np.uint8)
    if jpeg_prob > 0 and rng.random() < jpeg_prob:
        from PIL import Image

        quality = int(round(rng.uniform(*jpeg_quality)))
        buf = io.BytesIO()
        Image.fromarray(out).save(buf, format="JPEG", quality=quality)
        buf.seek(0)
        out = np.asarray(Image.open(buf).convert("RGB"))
    return out


__all__ = [
    "SeedLayer",
    "as_range",
    "camera_effects",
    "fft_convolve",
    "gaussian_kernel",
    "line_kernel",
    "render_seed_layer",
    "separable_blur",
    "transmission_map",
]
