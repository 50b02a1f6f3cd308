"""The named rain presets and mixtures, from drizzle to downpour (numpy only).

Scales are those of a 480 x 320 frame (the benchmarks' size; training backgrounds are
downscaled to ``max_side = 480``). Statistics of every preset: ``benchmarks/rain_stats.py``;
what they look like: ``docs/img/rain_gallery.jpg`` (``scripts/make_rain_gallery.py``).

========== ===================================================================================
``light``  Rain100L-like (Yang et al. 2017): one direction (+-30 deg), thin, mostly faint
           splatted streaks, no veil. Calibrated to Rain100L's rainy - clean statistics.
``medium`` Denser and brighter than ``light``, up to two directions, a faint screen veil.
``heavy``  Rain100H-like, after Li et al. 2019's recipe: noise seeds motion-blurred by 15-60 px
           line kernels within 15 deg of vertical, 1-5 near-parallel directions, three depth
           layers (the near one wider and defocused), a transmission veil (t 0.6-0.9), sensor
           noise and JPEG on a share of images, scene exposure and downscaling.
``storm``  ``heavy`` at 1.5x density, 2-5 directions, thicker veil (t 0.45-0.8).
``camera`` Real-camera light/medium rain: ``medium`` streaks with a mild veil, noise, JPEG
           (quality 40-90) and downscaling more often than not.
``fine``   Fine, dense, low-contrast rain seen at a distance through mist (a downpour over a
           street, rain over foliage): many short (5-14 px), sub-pixel-thin seed streaks
           within 20 deg of vertical in 1-2 directions, a sparser layer of longer ones, a
           transmission veil (t 0.65-0.92) and a camera that compresses (JPEG 40-90 on 70 % of
           images) and downscales. Li et al. 2019's recipe at short kernel lengths; Garg and
           Nayar: drops far from the camera are imaged as short, faint streaks whose contrast
           falls with distance, and their sum is the veil.
========== ===================================================================================

Mixtures draw one preset per image: ``all-weather`` (the default model's training rain) is
light 0.30, medium 0.15, heavy 0.30, storm 0.10, camera 0.15.

Note:
    ``heavy`` replaced an earlier ``heavy`` of short, wide splatted blobs in 1-3 directions with
    a screen veil: it did not look like the heavy rain of the benchmarks or of real photos.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from edgederain.errors import ConfigError
from edgederain.data.rain_config import RainConfig, StreakLayer
from edgederain.data.rain_layers import SeedLayer

_MEDIUM_LAYERS = (
    StreakLayer(density=6.0, length=(10, 24), width=(0.55, 0.7), intensity=(0.05, 0.15)),
    StreakLayer(density=2.2, length=(16, 36), width=(0.65, 0.85), intensity=(0.15, 0.45)),
    StreakLayer(density=0.5, length=(24, 48), width=(0.8, 1.1), intensity=(0.40, 0.80)),
)

_HEAVY_SEEDS = (
    # far: dense, short, thin, faint
    SeedLayer(density=(0.004, 0.009), length=(15, 30), thickness=(0.2, 0.35), intensity=(0.12, 0.40)),
    # middle
    SeedLayer(density=(0.0015, 0.0035), length=(25, 45), thickness=(0.3, 0.5), intensity=(0.30, 0.70)),
    # near: sparse, long, wide, bright and out of focus (Garg and Nayar)
    SeedLayer(density=(0.0002, 0.0006), length=(35, 60), thickness=(0.5, 0.9), intensity=(0.35, 0.80),
              defocus=(0.3, 1.0)),
)

_FINE_SEEDS = (
    # distant drops: very dense, short, thinner than a pixel, faint
    SeedLayer(density=(0.008, 0.025), length=(5, 14), thickness=(0.1, 0.25), intensity=(0.04, 0.16)),
    # nearer drops: sparser, longer, brighter
    SeedLayer(density=(0.0015, 0.005), length=(12, 28), thickness=(0.2, 0.35), intensity=(0.10, 0.32)),
)

_CAMERA = dict(noise=(0.002, 0.012), noise_prob=0.3, jpeg_quality=(60, 95), jpeg_prob=0.3,
               exposure=(0.8, 1.1), downscale=(1.0, 1.6))

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
        layers=_MEDIUM_LAYERS,
        angle_jitter=3.0,
        directions=(1, 2),
        direction_spread=20.0,
        density_scale=(0.6, 1.2),
        intensity_scale=(0.7, 1.3),
        length_scale=(0.7, 1.4),
        veil=(0.0, 0.1),
    ),
    "heavy": RainConfig(
        layers=(),
        seed_layers=_HEAVY_SEEDS,
        angle=(-15, 15),
        angle_jitter=2.0,
        directions=(1, 5),
        direction_spread=6.0,
        density_scale=(0.7, 1.3),
        intensity_scale=(0.8, 1.2),
        length_scale=(0.8, 1.25),
        transmission=(0.6, 0.9),
        airlight=(0.75, 1.0),
        **_CAMERA,
    ),
    "storm": RainConfig(
        layers=(),
        seed_layers=_HEAVY_SEEDS,
        angle=(-20, 20),
        angle_jitter=2.0,
        directions=(2, 5),
        direction_spread=8.0,
        density_scale=(1.2, 1.8),
        intensity_scale=(0.8, 1.2),
        length_scale=(0.9, 1.3),
        transmission=(0.45, 0.8),
        airlight=(0.7, 1.0),
        **_CAMERA,
    ),
    "camera": RainConfig(
        layers=_MEDIUM_LAYERS,
        angle=(-25, 25),
        angle_jitter=3.0,
        directions=(1, 2),
        direction_spread=15.0,
        density_scale=(0.4, 1.2),
        intensity_scale=(0.6, 1.3),
        length_scale=(0.8, 1.5),
        transmission=(0.8, 1.0),
        airlight=(0.75, 1.0),
        noise=(0.003, 0.015),
        noise_prob=0.6,
        jpeg_quality=(40, 90),
        jpeg_prob=0.7,
        exposure=(0.7, 1.15),
        downscale=(1.0, 2.0),
    ),
    "fine": RainConfig(
        layers=(),
        seed_layers=_FINE_SEEDS,
        angle=(-20, 20),
        angle_jitter=2.0,
        directions=(1, 2),
        direction_spread=5.0,
        density_scale=(0.7, 1.3),
        intensity_scale=(0.7, 1.2),
        length_scale=(0.8, 1.3),
        transmission=(0.65, 0.92),
        airlight=(0.7, 1.0),
        noise=(0.003, 0.012),
        noise_prob=0.5,
        jpeg_quality=(40, 90),
        jpeg_prob=0.7,
        exposure=(0.8, 1.1),
        downscale=(1.0, 1.8),
    ),
    # No rain at all: the rainy image is the clean one. A share of these pairs teaches the network to
    # leave rain-free frames (and rain-free regions) alone instead of "deraining" texture away.
    "clear": RainConfig(
        layers=(StreakLayer(density=1.0, length=(10, 20), width=(0.5, 0.7), intensity=(0.1, 0.3)),),
        density_scale=(0.0, 0.0),
    ),
}

MIXTURES: dict[str, dict[str, float]] = {
    "all-weather": {"light": 0.28, "medium": 0.13, "heavy": 0.30, "storm": 0.10, "camera": 0.13,
                    "clear": 0.06},
}

RAIN_NAMES: tuple[str, ...] = tuple(PRESETS) + tuple(MIXTURES)


def get_rain_preset(name: str) -> RainConfig | RainMixture:
    """The named preset or mixture, or :class:`ConfigError` listing the valid names."""
    if name in PRESETS:
        return PRESETS[name]
    if name in MIXTURES:
        return RainMixture.from_dict({"mixture": MIXTURES[name]})
    raise ConfigError(f"unknown rain preset {name!r}; choose one of {list(RAIN_NAMES)}")


@dataclass(frozen=True)
class RainMixture:
    """Per-image choice among rain presets: ``components`` are (name, weight, RainConfig)."""

    components: tuple[tuple[str, float, RainConfig], ...]

    def __post_init__(self) -> None:
        if not self.components:
            raise ConfigError("a rain mixture needs at least one component")
        if any(w < 0 for _, w, _ in self.components) or sum(w for _, w, _ in self.components) <= 0:
            raise ConfigError(f"mixture weights must be >= 0 with a positive sum, got {self.weights}")

    @property
    def weights(self) -> dict[str, float]:
        return {name: float(w) for name, w, _ in self.components}

    def pick(self, rng: np.random.Generator) -> RainConfig:
        w = np.array([c[1] for c in self.components], dtype=np.float64)
        return self.components[int(rng.choice(len(w), p=w / w.sum()))][2]

    def to_dict(self) -> dict[str, Any]:
        return {"mixture": [{"name": n, "weight": w, "rain": c.to_dict()} for n, w, c in self.components]}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "RainMixture":
        """``{"mixture": {"light": 0.3, ...}}`` (preset names) or the list form of :meth:`to_dict`."""
        if set(data) != {"mixture"}:
            raise ConfigError(f"a rain mixture is {{'mixture': ...}} alone, got keys {sorted(data)}")
        spec = data["mixture"]
        items: list[tuple[str, float, RainConfig]] = []
        if isinstance(spec, dict):
            for name, weight in spec.items():
                cfg = get_rain_preset(name)
                if isinstance(cfg, RainMixture):
                    raise ConfigError(f"mixture component {name!r} is itself a mixture")
                items.append((name, _weight(name, weight), cfg))
        elif isinstance(spec, (list, tuple)):
            for entry in spec:
                items.append(_mixture_entry(entry))
        else:
            raise ConfigError(f"mixture must map preset names to weights, got {spec!r}")
        return cls(tuple(items))


def _mixture_entry(entry: Any) -> tuple[str, float, RainConfig]:
    """One ``{name, weight[, base][, rain]}`` table of a mixture's list form.

    ``rain`` overrides fields of ``base`` (default: the preset called ``name``, if there is one), so
    a variant of a preset names only what it changes; with neither a preset nor ``base``, ``rain``
    is a whole :class:`RainConfig` (unset fields take its defaults).
    """
    keys = {"name", "weight", "base", "rain"}
    if not isinstance(entry, dict) or not {"name", "weight"} <= set(entry) or not set(entry) <= keys:
        raise ConfigError(f"mixture entries are {{name, weight[, base][, rain]}} tables, got {entry!r}")
    name = str(entry["name"])
    base_name = entry.get("base", name if name in PRESETS else None)
    if base_name is not None and base_name not in PRESETS:
        raise ConfigError(f"mixture component {name!r}: base {base_name!r} is not a rain preset; "
                          f"presets: {', '.join(PRESETS)}")
    overrides = entry.get("rain", {})
    if not isinstance(overrides, dict):
        raise ConfigError(f"mixture component {name!r}: rain must be a table, got {overrides!r}")
    if base_name is None and not overrides:
        raise ConfigError(f"mixture component {name!r} is not a preset: give it a base preset or a rain "
                          f"table; presets: {', '.join(PRESETS)}")
    fields = {**PRESETS[base_name].to_dict(), **overrides} if base_name is not None else dict(overrides)
    return name, _weight(name, entry["weight"]), RainConfig.from_dict(fields)


def _weight(name: Any, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ConfigError(f"mixture weight of {name!r} must be a number, got {value!r}")
    return float(value)


def rain_from_spec(spec: "str | dict | RainConfig | RainMixture") -> "RainConfig | RainMixture":
    """A preset or mixture name, a RainConfig dict, a mixture dict, or a config object."""
    if isinstance(spec, (RainConfig, RainMixture)):
        return spec
    if isinstance(spec, str):
        return get_rain_preset(spec)
    if isinstance(spec, dict):
        return RainMixture.from_dict(spec) if "mixture" in spec else RainConfig.from_dict(dict(spec))
    raise ConfigError(f"rain must be a preset name or a table, got {spec!r}")


__all__ = ["MIXTURES", "PRESETS", "RAIN_NAMES", "RainMixture", "get_rain_preset", "rain_from_spec"]
