"""Rain configuration: streak layers and the per-image draws of a preset (numpy only).

What the fields mean and how they are rendered: :mod:`edgederain.data.synth` (splatted streak
layers, the screen veil) and :mod:`edgederain.data.rain_layers` (seed layers, transmission veil,
camera). The named presets and mixtures: :mod:`edgederain.data.rain_presets`.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

import numpy as np

from edgederain.configkeys import check_known_keys
from edgederain.errors import ConfigError
from edgederain.data.rain_layers import SeedLayer, as_range

Range = tuple[float, float]


def _range(name: str, value: Any, *, low: float = 0.0) -> Range:
    return as_range(name, value, low=low)


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
    # rain engine v2 (edgederain.data.rain_layers)
    seed_layers: tuple[SeedLayer, ...] = ()  # noise-seeded, motion-blurred streak layers
    transmission: Range = (1.0, 1.0)  # mean transmission t of the veil O = t (B + S) + (1 - t) A
    airlight: Range = (0.8, 1.0)  # atmospheric light A (grey, slightly tinted per image)
    noise: Range = (0.0, 0.0)  # sensor noise standard deviation, [0, 1] scale
    noise_prob: float = 0.0
    jpeg_quality: Range = (60.0, 95.0)
    jpeg_prob: float = 0.0
    exposure: Range = (1.0, 1.0)  # gain of the whole scene (clean and rainy), applied by datasets
    downscale: Range = (1.0, 1.0)  # the whole pair rendered this much larger, then downscaled

    def __post_init__(self) -> None:
        layers = tuple(
            layer if isinstance(layer, StreakLayer) else StreakLayer(**layer) for layer in self.layers
        )
        seeds = tuple(layer if isinstance(layer, SeedLayer) else SeedLayer(**layer) for layer in self.seed_layers)
        if not layers and not seeds:
            raise ConfigError("a rain config needs at least one streak layer or seed layer")
        object.__setattr__(self, "layers", layers)
        object.__setattr__(self, "seed_layers", seeds)
        for name, low, high in (("transmission", 0.05, 1.0), ("airlight", 0.0, 1.0), ("noise", 0.0, 0.2),
                                ("jpeg_quality", 5.0, 100.0), ("exposure", 0.2, 3.0), ("downscale", 1.0, 4.0)):
            object.__setattr__(self, name, as_range(name, getattr(self, name), low=low, high=high))
        for name in ("noise_prob", "jpeg_prob"):
            if not 0.0 <= float(getattr(self, name)) <= 1.0:
                raise ConfigError(f"{name} must be a probability in [0, 1], got {getattr(self, name)!r}")
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
        for key, kind in (("layers", StreakLayer), ("seed_layers", SeedLayer)):
            known = {f.name for f in dataclasses.fields(kind)}
            for layer in data.get(key, ()):
                if not isinstance(layer, dict):
                    raise ConfigError(f"{key} entries must be tables of {sorted(known)}, got {layer!r}")
                if set(layer) - known:
                    raise ConfigError(f"unknown {key} keys {sorted(set(layer) - known)}")
        return cls(**data)

    def pick(self, rng: np.random.Generator) -> "RainConfig":
        """The preset to render one image with (a mixture draws one; a preset is itself)."""
        return self




__all__ = ["Range", "RainConfig", "StreakLayer"]
