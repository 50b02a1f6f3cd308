"""Synthetic rain: only brightens, stays in range, deterministic under a seed, presets differ."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest

from edgederain.errors import ConfigError
from edgederain.metrics import psnr
from edgederain.data.datasets import SyntheticRainDataset
from edgederain.data.rain_layers import SeedLayer, line_kernel
from edgederain.data.rain_presets import MIXTURES, PRESETS, get_rain_preset
from edgederain.data.synth import RainConfig, RainMixture, StreakLayer, add_rain, brightens_only, render_rain

# clear adds nothing at all, so it neither brightens nor differs
BRIGHTENING = sorted(n for n, cfg in PRESETS.items() if brightens_only(cfg) and n != "clear")


@pytest.fixture(scope="module")
def clean() -> np.ndarray:
    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[0:160, 0:240]
    base = 60 + 80 * np.sin(xx / 17.0)[..., None] * np.cos(yy / 23.0)[..., None]
    img = base + rng.normal(0, 10, (160, 240, 3))
    img[:20] = 255  # saturated sky: rain must not wrap around or darken it
    return np.clip(img, 0, 255).astype(np.uint8)


def test_light_and_medium_only_brighten() -> None:
    assert {"light", "medium"} <= set(BRIGHTENING)
    assert not brightens_only(PRESETS["heavy"])  # transmission veil and camera


@pytest.mark.parametrize("preset", BRIGHTENING)
def test_rain_only_brightens_and_stays_in_range(clean: np.ndarray, preset: str) -> None:
    for seed in range(3):
        rainy = add_rain(clean, config=preset, rng=seed)
        assert rainy.dtype == np.uint8 and rainy.shape == clean.shape
        assert (rainy >= clean).all()
        assert (rainy != clean).any()
        assert np.array_equal(rainy[:20], clean[:20])  # already white stays white


@pytest.mark.parametrize("preset", sorted(set(PRESETS) - {"clear"}) + sorted(MIXTURES))
def test_same_seed_same_rain_other_seed_other_rain(clean: np.ndarray, preset: str) -> None:
    a = add_rain(clean, config=preset, rng=7)
    assert np.array_equal(a, add_rain(clean, config=preset, rng=np.random.default_rng(7)))
    assert not np.array_equal(a, add_rain(clean, config=preset, rng=8))


def test_clear_preset_leaves_the_image_unchanged(clean: np.ndarray) -> None:
    for seed in range(4):
        assert np.array_equal(add_rain(clean, config="clear", rng=seed), clean)
    assert 0 < MIXTURES["all-weather"]["clear"] < 0.1  # a small share of rain-free pairs


def test_rain_is_grey_and_streaky(clean: np.ndarray) -> None:
    streaks, veil, strength = render_rain(160, 240, PRESETS["light"], np.random.default_rng(1))
    assert veil is None and strength == 0.0
    assert streaks.min() >= 0.0
    flat = np.full_like(clean, 100)
    d = add_rain(flat, config="light", rng=1).astype(int) - 100
    assert np.array_equal(d[..., 0], d[..., 1]) and np.array_equal(d[..., 1], d[..., 2])  # white rain
    # streaks are elongated: the rain layer is smoother along its dominant direction than across
    gy, gx = np.gradient(d[..., 0].astype(float))
    jxx, jyy, jxy = (gx * gx).sum(), (gy * gy).sum(), (gx * gy).sum()
    coherence = np.hypot(jxx - jyy, 2 * jxy) / (jxx + jyy)
    assert coherence > 0.5


def test_presets_order_by_strength(clean: np.ndarray) -> None:
    mean_psnr = {
        name: np.mean([psnr(add_rain(clean, config=name, rng=s), clean) for s in range(6)])
        for name in ("light", "medium", "heavy")
    }
    assert 20.0 < mean_psnr["light"] < 32.0  # Rain100L: 25.5 dB mean, 20-32 dB spread
    assert mean_psnr["heavy"] < mean_psnr["medium"] < mean_psnr["light"]
    assert mean_psnr["heavy"] < 18.0


def test_heavy_rain_has_a_veil_that_lowers_contrast() -> None:
    """O = t (B + S) + (1 - t) A: a dark scene gets lighter even between streaks, and contrast drops."""
    dark = np.zeros((96, 128, 3), np.uint8)
    dark[:, ::2] = 60
    cfg = dataclasses.replace(PRESETS["heavy"], noise_prob=0.0, jpeg_prob=0.0)
    rainy = add_rain(dark, config=cfg, rng=3).astype(float)
    assert np.median(rainy) > 60  # the veil lifts black
    assert np.mean(np.abs(np.diff(rainy, axis=1))) < 60 * 0.95  # and lowers the scene's contrast


def test_heavy_streaks_are_long_thin_and_near_vertical() -> None:
    """Rain100H-like streaks (Li et al. 2019): long along ~vertical, a pixel or two across."""
    cfg = dataclasses.replace(PRESETS["heavy"], transmission=(1.0, 1.0), noise_prob=0.0, jpeg_prob=0.0,
                              directions=(1, 1))
    streaks, _, _ = render_rain(320, 480, cfg, np.random.default_rng(5))
    gy, gx = np.gradient(streaks.astype(float))
    assert (gx * gx).sum() > 4 * (gy * gy).sum()  # intensity changes across (x), not along (y)
    assert 0.02 < (streaks > 0.05).mean() < 0.9  # dense but not a sheet


def test_line_kernel_is_a_unit_line() -> None:
    k = line_kernel(21, 0.0)
    assert k.shape[0] % 2 == 1 and abs(k.sum() - 21) < 0.5 and k.max() <= 1.01
    assert np.allclose(k, line_kernel(21, 180.0)[::-1, ::-1], atol=1e-5)


def test_mixture_draws_every_component_by_weight() -> None:
    mix = get_rain_preset("all-weather")
    assert isinstance(mix, RainMixture) and mix.weights == MIXTURES["all-weather"]
    rng = np.random.default_rng(0)
    names = {id(c): n for n, _, c in mix.components}
    picks = [names[id(mix.pick(rng))] for _ in range(2000)]
    for name, weight in mix.weights.items():
        assert abs(picks.count(name) / 2000 - weight) < 0.04
    assert RainMixture.from_dict(mix.to_dict()) == mix
    with pytest.raises(ConfigError, match="number"):
        RainMixture.from_dict({"mixture": {"light": "lots"}})
    with pytest.raises(ConfigError, match="itself a mixture"):
        RainMixture.from_dict({"mixture": {"all-weather": 1.0}})
    with pytest.raises(ConfigError, match="unknown rain preset"):
        RainMixture.from_dict({"mixture": {"drizzle": 1.0}})


def test_mixture_list_entries_vary_a_preset_by_the_fields_they_name() -> None:
    mix = RainMixture.from_dict({"mixture": [
        {"name": "light", "weight": 0.5},
        {"name": "fine-clear-air", "base": "fine", "weight": 0.25, "rain": {"transmission": [0.95, 1.0]}},
        {"name": "heavy", "weight": 0.25, "rain": {"exposure": [1.0, 1.0]}},
    ]})
    (_, _, light), (_, _, clear_air), (_, _, heavy) = mix.components
    assert light == PRESETS["light"]
    assert clear_air.transmission == (0.95, 1.0) and PRESETS["fine"].transmission != (0.95, 1.0)
    assert clear_air.seed_layers == PRESETS["fine"].seed_layers and clear_air.jpeg_prob == PRESETS["fine"].jpeg_prob
    assert heavy.exposure == (1.0, 1.0) and heavy.seed_layers == PRESETS["heavy"].seed_layers
    assert RainMixture.from_dict(mix.to_dict()) == mix  # the saved (full) form reads back the same
    with pytest.raises(ConfigError, match="base 'drizzle' is not a rain preset"):
        RainMixture.from_dict({"mixture": [{"name": "x", "base": "drizzle", "weight": 1.0}]})
    with pytest.raises(ConfigError, match="not a preset: give it a base"):
        RainMixture.from_dict({"mixture": [{"name": "mine", "weight": 1.0}]})
    with pytest.raises(ConfigError, match="name, weight"):
        RainMixture.from_dict({"mixture": [{"name": "light", "wieght": 1.0}]})
    with pytest.raises(ConfigError, match="unknown"):
        RainMixture.from_dict({"mixture": [{"name": "fine", "weight": 1.0, "rain": {"transmision": [1, 1]}}]})


def test_config_validation_and_round_trip() -> None:
    for cfg in PRESETS.values():
        assert RainConfig.from_dict(cfg.to_dict()) == cfg
    cfg = PRESETS["heavy"]
    with pytest.raises(ConfigError, match="lenght"):
        RainConfig.from_dict({**cfg.to_dict(), "seed_layers": [{"density": [0, 0.1], "lenght": [1, 2]}]})
    with pytest.raises(ConfigError, match="probability"):
        RainConfig.from_dict({**cfg.to_dict(), "jpeg_prob": 2})
    with pytest.raises(ConfigError, match="density"):
        SeedLayer(density=(0.5, 0.9), length=(20, 30), thickness=(0.3, 0.5), intensity=(0.1, 0.2))
    with pytest.raises(ConfigError, match="unknown rain config keys"):
        RainConfig.from_dict({**cfg.to_dict(), "denisty": 3})
    with pytest.raises(ConfigError, match="unknown streak layer keys"):
        RainConfig.from_dict({**cfg.to_dict(), "layers": [{"density": 1, "lenght": [1, 2]}]})
    with pytest.raises(ConfigError):
        StreakLayer(density=1.0, length=(20, 10), width=(1, 1), intensity=(0.1, 0.2))
    with pytest.raises(ConfigError, match="unknown rain preset"):
        add_rain(np.zeros((8, 8, 3), np.uint8), config="drizzle")
    with pytest.raises(ConfigError, match="uint8"):
        add_rain(np.zeros((8, 8, 3), np.float32))


def test_dataset_draws_fresh_rain_each_epoch(tmp_path: Path, clean: np.ndarray) -> None:
    from edgederain.io import write_image

    paths = [write_image(tmp_path / f"{i}.png", np.roll(clean, 30 * i, axis=1)) for i in range(2)]
    ds = SyntheticRainDataset(paths, rain="light", crop=64, seed=1)
    r0, c0 = ds.sample(0, 0)
    r0b, c0b = ds.sample(0, 0)
    assert np.array_equal(r0, r0b) and np.array_equal(c0, c0b)
    assert (r0 >= c0).all() and r0.shape == (64, 64, 3)
    r1, c1 = ds.sample(1, 0)
    assert not np.array_equal(r1.astype(int) - c1, r0.astype(int) - c0)


def test_rain_engine_and_datasets_import_without_torch() -> None:
    from blocked_imports import run_without

    code = (
        "import numpy as np\n"
        "from edgederain.data.synth import add_rain\n"
        "from edgederain.data.datasets import SyntheticRainDataset, PairedDataset\n"
        "from edgederain.data.synth_folder import write_synthetic_pairs\n"
        "assert (add_rain(np.zeros((16, 16, 3), np.uint8), rng=0) >= 0).all()\n"
    )
    run = run_without(["torch"], code)
    assert run.returncode == 0, run.stderr


def test_light_preset_matches_rain100l_input_statistics(backgrounds_dir: Path) -> None:
    """Rain100L: rainy vs clean 25.5 dB RGB on average; 16 % of pixels brightened >= 10 levels."""
    from edgederain.data.datasets import list_backgrounds, load_background

    paths = list_backgrounds([backgrounds_dir])
    picked = [paths[i] for i in np.linspace(0, len(paths) - 1, 16).astype(int)]
    scores, coverage = [], []
    for i, path in enumerate(picked):
        clean = load_background(path, max_side=480)
        rainy = add_rain(clean, config="light", rng=i)
        scores.append(psnr(rainy, clean))
        coverage.append(((rainy.astype(int) - clean).max(axis=-1) >= 10).mean())
    assert 23.5 < np.mean(scores) < 27.5
    assert 0.08 < np.mean(coverage) < 0.24


def test_fast_fft_lengths_are_5_smooth_and_change_no_convolution():
    from edgederain.data.rain_layers import fast_fft_length, fft_convolve

    for n in (1, 7, 97, 249, 283, 1000):
        m = fast_fft_length(n)
        assert m >= n and m - n < max(8, n // 10)
        x = m
        for p in (2, 3, 5):
            while x % p == 0:
                x //= p
        assert x == 1
    rng = np.random.default_rng(3)
    img, kernel = rng.random((53, 71)).astype(np.float32), rng.random((9, 9)).astype(np.float32)
    direct = np.zeros_like(img, dtype=np.float64)  # 'same' convolution, zero padding
    padded = np.pad(img.astype(np.float64), 4)
    flipped = kernel[::-1, ::-1]
    for y in range(img.shape[0]):
        for x in range(img.shape[1]):
            direct[y, x] = (padded[y:y + 9, x:x + 9] * flipped).sum()
    np.testing.assert_allclose(fft_convolve(img, kernel), direct, rtol=1e-5, atol=1e-5)


def test_fine_rain_is_short_faint_and_widespread() -> None:
    """``fine`` is the distant downpour: its streaks are shorter and fainter than ``heavy``'s yet
    cover a large share of the frame, and it comes with a transmission veil and a camera."""
    fine, heavy = PRESETS["fine"], PRESETS["heavy"]
    assert max(max(s.length) for s in fine.seed_layers) < max(max(s.length) for s in heavy.seed_layers)
    assert not brightens_only(fine) and fine.transmission[0] < 1.0 and fine.jpeg_prob > 0.5
    for seed in range(4):
        f, _, _ = render_rain(320, 480, fine, np.random.default_rng(seed))
        h, _, _ = render_rain(320, 480, heavy, np.random.default_rng(seed))
        assert np.percentile(f, 99.5) < 0.5 * np.percentile(h, 99.5)  # faint
        assert (f > 0.02).mean() > 0.12  # but everywhere
