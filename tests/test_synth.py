"""Synthetic rain: only brightens, stays in range, deterministic under a seed, presets differ."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from edgederain.errors import ConfigError
from edgederain.metrics import psnr
from edgederain.train.data import SyntheticRainDataset
from edgederain.train.synth import PRESETS, RainConfig, StreakLayer, add_rain, render_rain


@pytest.fixture(scope="module")
def clean() -> np.ndarray:
    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[0:160, 0:240]
    base = 60 + 80 * np.sin(xx / 17.0)[..., None] * np.cos(yy / 23.0)[..., None]
    img = base + rng.normal(0, 10, (160, 240, 3))
    img[:20] = 255  # saturated sky: rain must not wrap around or darken it
    return np.clip(img, 0, 255).astype(np.uint8)


@pytest.mark.parametrize("preset", sorted(PRESETS))
def test_rain_only_brightens_and_stays_in_range(clean: np.ndarray, preset: str) -> None:
    for seed in range(3):
        rainy = add_rain(clean, config=preset, rng=seed)
        assert rainy.dtype == np.uint8 and rainy.shape == clean.shape
        assert (rainy >= clean).all()
        assert (rainy != clean).any()
        assert np.array_equal(rainy[:20], clean[:20])  # already white stays white


@pytest.mark.parametrize("preset", sorted(PRESETS))
def test_same_seed_same_rain_other_seed_other_rain(clean: np.ndarray, preset: str) -> None:
    a = add_rain(clean, config=preset, rng=7)
    assert np.array_equal(a, add_rain(clean, config=preset, rng=np.random.default_rng(7)))
    assert not np.array_equal(a, add_rain(clean, config=preset, rng=8))


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


def test_heavy_rain_has_a_veil() -> None:
    rng = np.random.default_rng(3)
    _, veil, strength = render_rain(64, 64, PRESETS["heavy"], rng)
    assert veil is not None and strength > 0 and 0.0 <= veil.min() and veil.max() <= 1.0


def test_config_validation_and_round_trip() -> None:
    cfg = PRESETS["heavy"]
    assert RainConfig.from_dict(cfg.to_dict()) == cfg
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
        "from edgederain.train.synth import add_rain\n"
        "from edgederain.train.data import SyntheticRainDataset, PairedDataset\n"
        "from edgederain.train.synth_folder import write_synthetic_pairs\n"
        "assert (add_rain(np.zeros((16, 16, 3), np.uint8), rng=0) >= 0).all()\n"
    )
    run = run_without(["torch"], code)
    assert run.returncode == 0, run.stderr


def test_light_preset_matches_rain100l_input_statistics(backgrounds_dir: Path) -> None:
    """Rain100L: rainy vs clean 25.5 dB RGB on average; 16 % of pixels brightened >= 10 levels."""
    from edgederain.train.data import list_backgrounds, load_background

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
