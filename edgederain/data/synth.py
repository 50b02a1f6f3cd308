"""Synthetic rain: render rain streaks (and, for heavy rain, a veil) onto any clean image (numpy only).

The model of rain
-----------------
A rainy image is composed the way the synthetic benchmarks (Rain100L/H, Rain200, Rain1400) are:

    S     = sum over depth layers of the streak map of that layer      (H x W, >= 0, grey)
    I     = clip(B + S, 0, 1)                                          additive streaks
    I     = 1 - (1 - I) * (1 - a * V)      (heavy rain only)           screen-blended veil

``B`` is the clean image in [0, 1]; ``S`` is the same in R, G and B (rain is white light scattered
by drops); ``V`` is a smooth low-frequency veil in [0, 1] (haze / rain accumulation) of strength
``a``. Both steps can only brighten a pixel, and the result stays in [0, 1]. The rainy image is
rounded to 8 bits, as a real training pair would be.

One **streak** is a straight segment of length ``l`` at angle ``theta`` (degrees from vertical,
positive leaning right at the bottom) whose brightness along its length follows an elongated-drop
profile ``sqrt(1 - (2t)^2)``, t in [-1/2, 1/2] (soft ends, as motion-blurred drops), and whose
cross-section is a Gaussian of standard deviation ``width`` pixels. ``intensity`` is the peak
brightness added on the [0, 1] scale. A streak is drawn by splatting sub-pixel samples along the
segment (bilinear) and blurring the layer with the Gaussian: this is the anti-aliased equivalent of
"noise -> motion blur with a line kernel", with per-streak length, angle and brightness.

A **layer** (``StreakLayer``) is one depth plane: a Poisson number of streaks per pixel
(``density``), with length, width and intensity drawn per streak from uniform ranges; far layers
are denser, shorter, thinner and fainter. A **preset** (``RainConfig``) stacks layers and draws
per image: one base angle (``angle``), a per-streak angle jitter, 1..n directions (each direction
takes a share of every layer's streaks), and global multipliers of density and intensity that make
some images drizzle and others downpour.

Presets (measured with ``benchmarks/rain_stats.py`` against ``../shared/data/rain100l``)
-------------------------------------------------------------------------------------
``light``   Rain100L-like: one direction per image (+-30 deg), thin (width ~1.8 px) mostly faint
            streaks with a few bright ones, soft ends, no veil. Calibrated to Rain100L's rainy-clean
            PSNR (25.5 dB mean, 20-32 dB spread), coverage (share of pixels brightened by >= 1, 10,
            30 grey levels), streak width, length and angle spread.
``medium``  Between the two: denser and brighter than ``light``, up to two directions, faint veil.
``heavy``   Rain100H-like: dense, wide, bright streaks in 1-3 directions plus a screen-blended veil.
            Not measured against Rain100H (not available here): tuned to the input PSNR published for
            Rain100H (about 13.5 dB on Y in the deraining literature) and to its description
            (several directions, heavy accumulation).

Note:
    Deviations from what the public sets did: those used Photoshop-style rendering, one fixed rain
    layer per image; we draw fresh rain every time (``SyntheticRainDataset``), so a few hundred clean
    photos give unlimited pairs. Splash, drop refraction and lens drops are not modelled.
"""


from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from edgederain.errors import ConfigError
from edgederain.data.rain_config import RainConfig, StreakLayer
from edgederain.data.rain_layers import (
    camera_effects,
    coarse_shape,
    gaussian_kernel,
    render_seed_layer,
    separable_blur,
    transmission_map,
    upsample_bilinear,
)
from edgederain.data.rain_presets import PRESETS, RainMixture, get_rain_preset, rain_from_spec


@dataclass
class _Draw:
    """Per-image random choices (angles, strength) shared by all layers."""

    angles: np.ndarray
    density: float
    intensity: float
    length: float


def _splat(h: int, w: int, xs: np.ndarray, ys: np.ndarray, wts: np.ndarray) -> np.ndarray:
    """Bilinear splat of weighted points onto an h x w canvas (points outside are dropped)."""
    x0, y0 = np.floor(xs), np.floor(ys)
    fx, fy = xs - x0, ys - y0
    x0, y0 = x0.astype(np.int64), y0.astype(np.int64)
    canvas = np.zeros(h * w, dtype=np.float64)
    for dx, dy, wt in ((0, 0, (1 - fx) * (1 - fy)), (1, 0, fx * (1 - fy)), (0, 1, (1 - fx) * fy), (1, 1, fx * fy)):
        cx, cy = x0 + dx, y0 + dy
        ok = (cx >= 0) & (cx < w) & (cy >= 0) & (cy < h)
        canvas += np.bincount(cy[ok] * w + cx[ok], weights=(wts * wt)[ok], minlength=h * w)
    return canvas.reshape(h, w).astype(np.float32)


def _layer(h: int, w: int, layer: StreakLayer, draw: _Draw, jitter: float, rng: np.random.Generator) -> np.ndarray:
    """Render one depth layer of streaks (H x W, >= 0)."""
    margin = layer.length[1] * draw.length / 2
    area = (h + 2 * margin) * (w + 2 * margin)
    n = rng.poisson(layer.density * draw.density * area / 1000.0)
    if n == 0:
        return np.zeros((h, w), np.float32)
    cx = rng.uniform(-margin, w + margin, n)
    cy = rng.uniform(-margin, h + margin, n)
    length = rng.uniform(*layer.length, n) * draw.length
    theta = np.radians(rng.choice(draw.angles, n) + rng.normal(0.0, jitter, n))
    peak = rng.uniform(*layer.intensity, n) * draw.intensity
    sigma = float(rng.uniform(*layer.width))
    k = int(np.ceil(layer.length[1] * draw.length * 2)) + 1
    t = np.linspace(-0.5, 0.5, k)
    profile = np.sqrt(np.clip(1.0 - (2.0 * t) ** 2, 0.0, 1.0))
    xs = cx[:, None] + t[None, :] * (length * np.sin(theta))[:, None]
    ys = cy[:, None] + t[None, :] * (length * np.cos(theta))[:, None]
    # linear density so that the blurred cross-section peaks at ``peak``
    step = length / (k - 1)
    eff_sigma = np.sqrt(sigma**2 + 0.16)  # bilinear splatting adds ~0.4 px of blur
    wts = (peak * step * np.sqrt(2 * np.pi) * eff_sigma)[:, None] * profile[None, :]
    canvas = _splat(h, w, xs.ravel(), ys.ravel(), wts.ravel())
    return separable_blur(canvas, gaussian_kernel(sigma))


def _veil(h: int, w: int, scale: float, rng: np.random.Generator) -> np.ndarray:
    """Smooth veil in [0.5, 1]: bilinearly upsampled coarse noise (haze / accumulation)."""
    coarse = rng.uniform(0.5, 1.0, coarse_shape(h, w, scale)).astype(np.float32)
    return upsample_bilinear(coarse, h, w)


def _draw(config: RainConfig, rng: np.random.Generator) -> _Draw:
    base = rng.uniform(*config.angle)
    n_dir = int(rng.integers(config.directions[0], config.directions[1] + 1))
    angles = np.concatenate([[base], base + rng.normal(0.0, config.direction_spread, n_dir - 1)])
    return _Draw(
        angles,
        rng.uniform(*config.density_scale),
        rng.uniform(*config.intensity_scale),
        rng.uniform(*config.length_scale),
    )


def render_rain(
    height: int, width: int, config: RainConfig, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray | None, float]:
    """Draw one rain field: (streaks H x W >= 0, veil H x W in [0, 1] or None, veil strength)."""
    draw = _draw(config, rng)
    streaks = np.zeros((height, width), np.float32)
    for layer in config.layers:
        streaks += _layer(height, width, layer, draw, config.angle_jitter, rng)
    for seed_layer in config.seed_layers:
        angles = draw.angles + rng.normal(0.0, config.angle_jitter, len(draw.angles))
        streaks += render_seed_layer(
            height, width, seed_layer, angles, rng,
            density_mul=draw.density, intensity_mul=draw.intensity, length_mul=draw.length,
        )
    strength = float(rng.uniform(*config.veil))
    veil = _veil(height, width, config.veil_scale, rng) if strength > 0 else None
    return streaks, veil, strength


def brightens_only(config: RainConfig) -> bool:
    """True when every rainy pixel is >= its clean pixel (no transmission veil, no camera effects)."""
    return config.transmission == (1.0, 1.0) and config.noise_prob == 0 and config.jpeg_prob == 0


def add_rain(
    clean: np.ndarray,
    *,
    config: "RainConfig | RainMixture | str" = "light",
    rng: np.random.Generator | int | None = None,
) -> np.ndarray:
    """Render fresh rain onto ``clean`` (H x W x 3 uint8) and return the rainy uint8 image.

    The composition is ``O = t * clip(B + S) + (1 - t) * A`` (then the screen veil of older
    presets, then the camera); a mixture draws its preset first. Presets without a transmission
    veil or camera effects only brighten (see :func:`brightens_only`). ``rng`` may be a
    Generator or an integer seed (same seed, same rain).
    """
    gen = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)
    cfg = rain_from_spec(config).pick(gen)
    arr = np.asarray(clean)
    if arr.dtype != np.uint8 or arr.ndim != 3 or arr.shape[2] != 3:
        raise ConfigError(f"add_rain expects an H x W x 3 uint8 image, got {arr.dtype} {arr.shape}")
    h, w = arr.shape[:2]
    b = arr.astype(np.float32) / 255.0
    streaks, veil, strength = render_rain(h, w, cfg, gen)
    rainy = np.clip(b + streaks[..., None], 0.0, 1.0)
    if cfg.transmission != (1.0, 1.0):
        t = transmission_map(h, w, float(gen.uniform(*cfg.transmission)), gen)[..., None]
        light = float(gen.uniform(*cfg.airlight)) * (1.0 + gen.normal(0.0, 0.02, 3)).astype(np.float32)
        rainy = t * rainy + (1.0 - t) * np.clip(light, 0.0, 1.0)
    if veil is not None:
        rainy = 1.0 - (1.0 - rainy) * (1.0 - strength * veil[..., None])
    out = camera_effects(rainy, gen, noise=cfg.noise, noise_prob=cfg.noise_prob,
                         jpeg_quality=cfg.jpeg_quality, jpeg_prob=cfg.jpeg_prob)
    if brightens_only(cfg):
        out = np.maximum(out, arr)  # guard against rounding ever darkening a pixel
    return out


__all__ = [
    "PRESETS",
    "RainConfig",
    "RainMixture",
    "StreakLayer",
    "add_rain",
    "brightens_only",
    "get_rain_preset",
    "rain_from_spec",
    "render_rain",
]
