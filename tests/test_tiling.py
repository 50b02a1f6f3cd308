"""Tiling: window layout, blend weights, exact reconstruction, bounded memory, tiled == untiled
for a local model."""

from __future__ import annotations

import numpy as np
import pytest
from runtime_fixtures import blur_model  # noqa: F401

from edgederain.errors import ConfigError, InputError
from edgederain.runtime import DerainSession, SessionConfig, TileConfig
from edgederain.runtime.tiling import plan_tiles, ramp, run_tiled


def test_windows_cover_the_frame_rounded_to_the_multiple():
    plan = plan_tiles(1000, 1500, TileConfig(tile=250, pad=20), multiple=8)
    assert plan.win_h == plan.win_w == 296  # 250 + 40 rounded up to 8
    for starts, length, win in ((plan.ys, 1000, plan.win_h), (plan.xs, 1500, plan.win_w)):
        assert starts[0] == 0 and starts[-1] + win == length
        steps = np.diff(starts)
        assert (steps <= win - 2 * 20).all() and (steps > 0).all()


def test_small_frames_get_one_window_and_fixed_models_their_size():
    plan = plan_tiles(100, 700, TileConfig(tile=256, pad=32), multiple=8)
    assert plan.ys == (0,) and plan.win_h == 100 and len(plan.xs) == 3
    fixed = plan_tiles(100, 130, TileConfig(tile=8, pad=4), multiple=8, fixed=(64, 64))
    assert (fixed.win_h, fixed.win_w) == (64, 64) and fixed.ys == (0, 36)
    with pytest.raises(InputError):
        plan_tiles(50, 130, TileConfig(), multiple=8, fixed=(64, 64))


def test_ramp_ignores_window_edges_inside_the_frame():
    w = ramp(100, 40, 30, 8)  # interior window: both edges ramp
    assert (w[:4] == 0).all() and (w[-4:] == 0).all()
    assert w[4] > 0 and (np.diff(w[4:12]) > 0).all() and (w[12:28] == 1).all()
    border = ramp(100, 40, 0, 8)  # frame border on the left: weight 1 there
    assert border[0] == 1 and border[-1] == 0
    assert (ramp(100, 40, 30, 0) == 1).all()


def test_identity_model_reconstructs_a_frame_exactly():
    frame = np.random.default_rng(0).integers(0, 256, (203, 317, 3), dtype=np.uint8)
    plan = plan_tiles(203, 317, TileConfig(tile=48, pad=12), multiple=8)
    out = run_tiled(frame, lambda x: x, plan, batch=3)
    np.testing.assert_array_equal(out, frame)


def test_memory_stays_bounded_on_a_4000x3000_frame():
    """Windows are the only arrays handed to the model, and no float copy of the frame is made."""
    frame = np.zeros((3000, 4000, 3), np.uint8)
    frame[::7, ::5] = 200
    plan = plan_tiles(3000, 4000, TileConfig(), multiple=8)
    seen = []

    def infer(x):
        seen.append(x.shape)
        return x

    out = run_tiled(frame, infer, plan)
    assert set(seen) == {(1, 3, 576, 576)} and len(seen) == plan.count
    np.testing.assert_array_equal(out, frame)


def test_tiled_equals_untiled_for_a_local_model(blur_model):
    frame = np.random.default_rng(1).integers(0, 256, (150, 230, 3), dtype=np.uint8)
    whole = DerainSession(blur_model).run(frame)
    tiled_session = DerainSession(blur_model, SessionConfig.for_provider("cpu", tile=40, tile_pad=8))
    assert tiled_session.tile_plan(150, 230).count > 4
    assert np.abs(tiled_session.run(frame).astype(int) - whole).max() <= 1
    f = frame.astype(np.float32) / 255
    batch = np.stack([f, f[::-1].copy()])
    np.testing.assert_allclose(tiled_session.run(batch), DerainSession(blur_model).run(batch), atol=1e-5)


def test_tile_config_validation():
    with pytest.raises(ConfigError):
        TileConfig(tile=4)
    with pytest.raises(ConfigError):
        TileConfig(pad=-1)
    with pytest.raises(ConfigError, match="lower --tile-pad"):
        plan_tiles(100, 100, TileConfig(tile=8, pad=4), multiple=8, fixed=(8, 8))
