"""The temporal stabiliser: steadier on still and moving scenes, no blending across motion."""

from __future__ import annotations

import numpy as np
import pytest

from edgederain.errors import ConfigError, MissingDependencyError
from edgederain.runtime.temporal import TemporalConfig, TemporalFilter, agreement, block_means


def _scene(h=48, w=64, seed=0) -> np.ndarray:
    """A smooth textured scene (so blocks have structure and flow has something to follow)."""
    rng = np.random.default_rng(seed)
    small = rng.integers(40, 215, (h // 8 + 2, w // 8 + 2, 3)).astype(np.float32)
    big = np.kron(small, np.ones((8, 8, 1)))
    k = np.ones(5) / 5
    for axis in (0, 1):
        big = np.apply_along_axis(lambda v: np.convolve(v, k, mode="same"), axis, big)
    return big


def _noisy(clean: np.ndarray, rng, sigma=6.0) -> np.ndarray:
    return np.clip(clean + rng.normal(0, sigma, clean.shape) + 0.5, 0, 255).astype(np.uint8)


def _rmse(a, b) -> float:
    return float(np.sqrt(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2)))


@pytest.mark.parametrize("motion", ["mask", "flow"])
def test_a_still_scene_gets_steadier_and_closer_to_the_truth(motion):
    if motion == "flow":
        pytest.importorskip("cv2")
    rng = np.random.default_rng(1)
    clean = _scene()[:48, :64]
    raw = [_noisy(clean, rng) for _ in range(12)]
    filt = TemporalFilter(TemporalConfig(motion=motion))
    out = [filt.apply(r) for r in raw]
    assert np.array_equal(out[0], raw[0])  # nothing to blend with yet
    std_raw = np.stack(raw[4:]).astype(float).std(axis=0).mean()
    std_out = np.stack(out[4:]).astype(float).std(axis=0).mean()
    assert std_out < 0.75 * std_raw
    assert np.mean([_rmse(o, clean) for o in out[4:]]) < 0.9 * np.mean([_rmse(r, clean) for r in raw[4:]])


def test_mask_mode_does_not_blend_where_the_scene_moved():
    rng = np.random.default_rng(2)
    scene = _scene(96, 128)
    a = _noisy(scene[:48, :64], rng)
    b = _noisy(scene[:48, 20:84], rng)  # a 20-pixel pan
    filt = TemporalFilter(TemporalConfig(motion="mask"))
    filt.apply(a)
    out = filt.apply(b)
    assert filt.last_weight_mean < 0.05
    assert _rmse(out, b) < 1.0


def test_flow_mode_follows_a_pan_without_ghosts():
    pytest.importorskip("cv2")
    rng = np.random.default_rng(3)
    scene = _scene(96, 160)
    truth = [scene[10:58, 2 * t : 2 * t + 64] for t in range(12)]  # 2 px per frame to the right
    raw = [_noisy(c, rng) for c in truth]
    filt = TemporalFilter(TemporalConfig(motion="flow"))
    out = [filt.apply(r) for r in raw]
    assert filt.last_weight_mean > 0.2  # it did blend
    err_raw = np.mean([_rmse(r[4:-4, 4:-4], c[4:-4, 4:-4]) for r, c in zip(raw[4:], truth[4:])])
    err_out = np.mean([_rmse(o[4:-4, 4:-4], c[4:-4, 4:-4]) for o, c in zip(out[4:], truth[4:])])
    assert err_out < 0.9 * err_raw


def test_reset_forgets_the_previous_frame():
    filt = TemporalFilter(TemporalConfig(motion="mask"))
    filt.apply(np.zeros((16, 16, 3), np.uint8))
    filt.reset()
    frame = np.full((16, 16, 3), 9, np.uint8)
    assert np.array_equal(filt.apply(frame), frame)


def test_strength_zero_is_the_per_frame_output():
    rng = np.random.default_rng(4)
    filt = TemporalFilter(TemporalConfig(motion="mask", strength=0.0))
    frames = [rng.integers(0, 255, (16, 24, 3), dtype=np.uint8) for _ in range(3)]
    assert all(np.array_equal(filt.apply(f), f) for f in frames)


def test_agreement_is_one_on_equal_frames_and_zero_on_different_ones():
    a = np.full((16, 16, 3), 0.5, np.float32)
    cfg = TemporalConfig(motion="mask", block=4)
    assert np.all(agreement(a, a, cfg) == 1.0)
    assert np.all(agreement(a, a + 0.2, cfg) == 0.0)
    assert block_means(np.arange(16.0).reshape(4, 4), 2).tolist() == [[2.5, 4.5], [10.5, 12.5]]


@pytest.mark.parametrize("kwargs, match", [
    ({"motion": "optical"}, "motion"), ({"strength": 1.0}, "strength"), ({"threshold": 0.0}, "threshold"),
    ({"block": 0}, "block"), ({"fb_tolerance": -1.0}, "fb_tolerance"),
])
def test_bad_settings_are_refused(kwargs, match):
    with pytest.raises(ConfigError, match=match):
        TemporalConfig(**kwargs)


def test_defaults_differ_by_motion_and_an_explicit_threshold_is_kept():
    assert TemporalConfig(motion="mask").threshold < TemporalConfig(motion="flow").threshold
    assert TemporalConfig(motion="flow", threshold=0.3).threshold == 0.3


def test_flow_without_opencv_says_what_to_install(monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "cv2", None)
    with pytest.raises(MissingDependencyError, match=r"edgederain\[video\]"):
        TemporalFilter(TemporalConfig(motion="flow"))


def test_wrong_frames_are_refused():
    with pytest.raises(ConfigError, match="uint8"):
        TemporalFilter().apply(np.zeros((8, 8, 3), np.float32))
