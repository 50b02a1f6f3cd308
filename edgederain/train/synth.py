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

import dataclasses
from dataclasses import dataclass
from typing import Any

import numpy as np

from edgederain.configkeys import check_known_keys
from edgederain.errors import ConfigError

Range = tuple[float, float]


def _range(name: str, value: Any, *, low: float = 0.0) -> Range:
    try:
        lo, hi = (float(v) for v in value)
    except (TypeError, ValueError):
        raise ConfigError(f"{name} must be a [low, high] pair, got {value!r}") from None
    if not (low <= lo <= hi):
        raise ConfigError(f"{name} must satisfy {low} <= low <= high, got {value!r}")
    return lo, hi


@dataclass(frozen=True)
class StreakLayer:
    """One depth plane of streaks; ranges are [low, high], drawn uniformly per streak."""

    density: float  # streaks per 1000 pixels
    length: Range  # pixels
    width: Range  # Gaussian sigma of the cross-section, pixels (one draw per layer per image)
    intensity: Range  # peak brightness added, [0, 1] scale

    def __post_init__(self) -> None:
        if self.density < 0:
            raise ConfigError(f"density must be >= 0, got {self.density}")
        object.__setattr__(self, "length", _range("length", self.length, low=1.0))
        object.__setattr__(self, "width", _range("width", self.width, low=0.3))
        object.__setattr__(self, "intensity", _range("intensity", self.intensity))


@dataclass(frozen=True)
class RainConfig:
    """A rain preset: streak layers plus per-image angle, direction and strength draws."""

    layers: tuple[StreakLayer, ...]
    angle: Range = (-30.0, 30.0)  # base angle range, degrees from vertical
    angle_jitter: float = 3.0  # per-streak std, degrees
    directions: tuple[int, int] = (1, 1)  # number of directions per image, [low, high]
    direction_spread: float = 25.0  # std of extra directions around the base angle, degrees
    density_scale: Range = (1.0, 1.0)  # per-image multiplier of every layer's density
    intensity_scale: Range = (1.0, 1.0)  # per-image multiplier of every streak's intensity
    length_scale: Range = (1.0, 1.0)  # per-image multiplier of every streak's length
    veil: Range = (0.0, 0.0)  # screen-blend veil strength a
    veil_scale: float = 64.0  # veil feature size, pixels

    def __post_init__(self) -> None:
        layers = tuple(
            layer if isinstance(layer, StreakLayer) else StreakLayer(**layer) for layer in self.layers
        )
        if not layers:
            raise ConfigError("a rain config needs at least one streak layer")
        object.__setattr__(self, "layers", layers)
        object.__setattr__(self, "angle", _range("angle", self.angle, low=-90.0))
        lo, hi = (int(v) for v in self.directions)
        if not 1 <= lo <= hi:
            raise ConfigError(f"directions must be [low, high] with 1 <= low <= high, got {self.directions}")
        object.__setattr__(self, "directions", (lo, hi))
        for name in ("density_scale", "intensity_scale", "length_scale", "veil"):
            object.__setattr__(self, name, _range(name, getattr(self, name)))
        if self.veil[1] > 1.0:
            raise ConfigError(f"veil strength must be <= 1, got {self.veil}")
        if self.angle_jitter < 0 or self.direction_spread < 0 or self.veil_scale <= 0:
            raise ConfigError("angle_jitter and direction_spread must be >= 0, veil_scale > 0")

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "RainConfig":
        check_known_keys(cls, data, what="rain config")
        layer_keys = {f.name for f in dataclasses.fields(StreakLayer)}
        for layer in data.get("layers", ()):
            if isinstance(layer, dict) and set(layer) - layer_keys:
                raise ConfigError(f"unknown streak layer keys {sorted(set(layer) - layer_keys)}")
        return cls(**data)


PRESETS: dict[str, RainConfig] = {
    "light": RainConfig(
        layers=(
            StreakLayer(density=6.0, length=(8, 20), width=(0.5, 0.65), intensity=(0.04, 0.14)),
            StreakLayer(density=1.8, length=(14, 30), width=(0.55, 0.75), intensity=(0.12, 0.40)),
            StreakLayer(density=0.35, length=(20, 40), width=(0.65, 0.85), intensity=(0.35, 0.75)),
        ),
        angle=(-30, 30),
        angle_jitter=2.0,
        density_scale=(0.25, 1.1),
        intensity_scale=(0.5, 1.4),
        length_scale=(0.6, 1.5),
    ),
    "medium": RainConfig(
        layers=(
            StreakLayer(density=6.0, length=(10, 24), width=(0.55, 0.7), intensity=(0.05, 0.15)),
            StreakLayer(density=2.2, length=(16, 36), width=(0.65, 0.85), intensity=(0.15, 0.45)),
            StreakLayer(density=0.5, length=(24, 48), width=(0.8, 1.1), intensity=(0.40, 0.80)),
        ),
        angle_jitter=3.0,
        directions=(1, 2),
        direction_spread=20.0,
        density_scale=(0.6, 1.2),
        intensity_scale=(0.7, 1.3),
        length_scale=(0.7, 1.4),
        veil=(0.0, 0.1),
    ),
    "heavy": RainConfig(
        layers=(
            StreakLayer(density=5.0, length=(14, 34), width=(0.7, 1.0), intensity=(0.08, 0.22)),
            StreakLayer(density=2.0, length=(24, 56), width=(1.0, 1.4), intensity=(0.25, 0.55)),
            StreakLayer(density=0.6, length=(34, 76), width=(1.3, 1.8), intensity=(0.50, 0.90)),
        ),
        angle=(-35, 35),
        angle_jitter=3.0,
        directions=(1, 3),
        direction_spread=25.0,
        density_scale=(0.8, 1.2),
        intensity_scale=(0.8, 1.1),
        length_scale=(0.8, 1.3),
        veil=(0.08, 0.25),
    ),
}


def get_rain_preset(name: str) -> RainConfig:
    """The named rain preset, or :class:`ConfigError` listing the valid names."""
    try:
        return PRESETS[name]
    except KeyError:
        raise ConfigError(f"unknown rain preset {name!r}; choose one of {sorted(PRESETS)}") from None


@dataclass
class _Draw:
    """Per-image random choices (angles, strength) shared by all layers."""

    angles: np.ndarray
    density: float
    intensity: float
    length: float


def _gaussian_blur(img: np.ndarray, sigma: float) -> np.ndarray:
    """Separable Gaussian blur with zero padding (numpy only)."""
    radius = max(1, int(np.ceil(3 * sigma)))
    x = np.arange(-radius, radius + 1, dtype=np.float32)
    k = np.exp(-0.5 * (x / sigma) ** 2)
    k /= k.sum()
    out = img
    for axis in (0, 1):
        padded = np.pad(out, [(radius, radius) if a == axis else (0, 0) for a in (0, 1)])
        n = out.shape[axis]
        acc = np.zeros_like(out)
        for i, weight in enumerate(k):
            sl = [slice(None), slice(None)]
            sl[axis] = slice(i, i + n)
            acc += weight * padded[tuple(sl)]
        out = acc
    return out


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
    return _gaussian_blur(canvas, sigma)


def _veil(h: int, w: int, scale: float, rng: np.random.Generator) -> np.ndarray:
    """Smooth veil in [0.5, 1]: bilinearly upsampled coarse noise (haze / accumulation)."""
    gh, gw = int(np.ceil(h / scale)) + 2, int(np.ceil(w / scale)) + 2
    coarse = rng.uniform(0.5, 1.0, (gh, gw)).astype(np.float32)
    yy = np.linspace(0, gh - 1.001, h)
    xx = np.linspace(0, gw - 1.001, w)
    y0, x0 = yy.astype(int), xx.astype(int)
    fy, fx = (yy - y0)[:, None], (xx - x0)[None, :]
    top = coarse[y0][:, x0] * (1 - fx) + coarse[y0][:, x0 + 1] * fx
    bottom = coarse[y0 + 1][:, x0] * (1 - fx) + coarse[y0 + 1][:, x0 + 1] * fx
    return top * (1 - fy) + bottom * fy


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
    strength = float(rng.uniform(*config.veil))
    veil = _veil(height, width, config.veil_scale, rng) if strength > 0 else None
    return streaks, veil, strength


def add_rain(
    clean: np.ndarray, *, config: RainConfig | str = "light", rng: np.random.Generator | int | None = None
) -> np.ndarray:
    """Render fresh rain onto ``clean`` (H x W x 3 uint8) and return the rainy uint8 image.

    Every pixel of the result is >= the clean pixel (rain only brightens). ``rng`` may be a
    Generator or an integer seed (same seed, same rain).
    """
    cfg = get_rain_preset(config) if isinstance(config, str) else config
    gen = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)
    arr = np.asarray(clean)
    if arr.dtype != np.uint8 or arr.ndim != 3 or arr.shape[2] != 3:
        raise ConfigError(f"add_rain expects an H x W x 3 uint8 image, got {arr.dtype} {arr.shape}")
    b = arr.astype(np.float32) / 255.0
    streaks, veil, strength = render_rain(arr.shape[0], arr.shape[1], cfg, gen)
    rainy = np.clip(b + streaks[..., None], 0.0, 1.0)
    if veil is not None:
        rainy = 1.0 - (1.0 - rainy) * (1.0 - strength * veil[..., None])
    out = np.round(rainy * 255.0).astype(np.uint8)
    return np.maximum(out, arr)  # guard against rounding ever darkening a pixel


__all__ = ["PRESETS", "RainConfig", "StreakLayer", "add_rain", "get_rain_preset", "render_rain"]
