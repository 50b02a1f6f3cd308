"""Synthetic camera clips (exact flow, fresh rain per frame) and the flicker figures."""

from __future__ import annotations

import numpy as np
import pytest

from edgederain.errors import ConfigError
from edgederain.video_synth import camera_path, render_clip

pytest.importorskip("PIL")


def _background(h=150, w=200, seed=0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    small = rng.integers(0, 255, (h // 10, w // 10, 3)).astype(np.uint8)
    from PIL import Image

    return np.asarray(Image.fromarray(small).resize((w, h), Image.Resampling.BICUBIC))


def test_a_static_clip_has_still_clean_frames_and_fresh_rain_each_frame():
    clip = render_clip(_background(), size=(48, 64), frames=4, motion="static", rain="light", seed=1)
    assert all(np.array_equal(c, clip.clean[0]) for c in clip.clean)
    rain = [r.astype(int) - c.astype(int) for r, c in zip(clip.rainy, clip.clean)]
    assert all(np.abs(r).mean() > 0.5 for r in rain) and not np.array_equal(rain[0], rain[1])
    assert all(np.allclose(f, 0) and v.all() for f, v in zip(clip.flows, clip.valid))


@pytest.mark.parametrize("motion", ["pan", "zoom", "pan-zoom"])
def test_the_exact_flow_maps_each_frame_onto_the_one_before(motion):
    cv2 = pytest.importorskip("cv2")  # noqa: F841
    from edgederain.flicker import warping_errors

    clip = render_clip(_background(), size=(48, 64), frames=6, motion=motion, seed=2)
    exact = np.mean(warping_errors(clip.clean, clip.flows, clip.valid))
    still = np.mean(warping_errors(clip.clean, [np.zeros_like(f) for f in clip.flows], clip.valid))
    assert np.abs(clip.flows[0]).max() > 0.3
    assert exact < 0.2 * still and exact < 2e-3


def test_estimated_flow_agrees_with_the_exact_one_on_a_pan():
    pytest.importorskip("cv2")
    from edgederain.flicker import estimate_flows

    clip = render_clip(_background(140, 200), size=(96, 128), frames=12, motion="pan", seed=3)  # ~5 px a frame
    flows, valid = estimate_flows(clip.clean)
    for est, ok, exact, inside in zip(flows, valid, clip.flows, clip.valid):
        m = ok & inside
        assert m.mean() > 0.5
        assert np.median(np.hypot(*(est[m] - exact[m]).T)) < 0.5


def test_figures_are_zero_on_a_still_clean_video_and_positive_on_flicker():
    pytest.importorskip("cv2")
    from edgederain.flicker import temporal_std, warping_errors

    frame = _background(48, 64)
    still = [frame] * 5
    zero, ones = [np.zeros((48, 64, 2), np.float32)] * 4, [np.ones((48, 64), bool)] * 4
    assert temporal_std(still) == 0.0 and warping_errors(still, zero, ones) == [0.0] * 4
    rng = np.random.default_rng(0)
    flicker = [np.clip(frame + rng.normal(0, 5, frame.shape), 0, 255).astype(np.uint8) for _ in range(5)]
    assert temporal_std(flicker) > 3 and min(warping_errors(flicker, zero, ones)) > 1e-4
    with pytest.raises(ValueError, match="flows"):
        warping_errors(still, zero[:2], ones[:2])


def test_bad_clips_are_refused():
    rng = np.random.default_rng(0)
    with pytest.raises(ConfigError, match="motion"):
        camera_path("spin", 4, (48, 64), (100, 100), rng)
    with pytest.raises(ConfigError, match="smaller"):
        camera_path("pan", 4, (48, 64), (40, 100), rng)
    with pytest.raises(ConfigError, match="2 frames"):
        render_clip(_background(), size=(48, 64), frames=1)


@pytest.mark.parametrize("motion", ["static", "pan"])
def test_a_moving_object_has_its_own_flow_and_uncovers_occluded_background(motion):
    pytest.importorskip("cv2")
    from edgederain.flicker import warping_errors

    clip = render_clip(_background(), size=(48, 64), frames=6, motion=motion, seed=4, moving_object=True)
    assert not np.array_equal(clip.clean[0], clip.clean[1])
    assert all((~v).sum() > 0 for v in clip.valid)  # the uncovered strip behind the object
    exact = np.mean(warping_errors(clip.clean, clip.flows, clip.valid))
    camera_only = render_clip(_background(), size=(48, 64), frames=6, motion=motion, seed=4)
    wrong = np.mean(warping_errors(clip.clean, camera_only.flows, camera_only.valid))
    assert exact < 2e-3 and exact < 0.2 * wrong
