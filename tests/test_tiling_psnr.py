"""Tiled vs untiled output of a real DerainNet on Rain100L frames (skips when the data is absent).

The network's channel attention pools over its whole input, so tiling changes the output a
little everywhere, not only at seams; this checks that it stays >= 45 dB PSNR at the default
overlap. The weights are random but redrawn so the predicted rain layer is as large as real rain
(with the ECNet init the output would equal the input and the check would be empty).
"""

from __future__ import annotations

from runtime_fixtures import tiny_net_model  # noqa: F401

from edgederain.io import read_rgb
from edgederain.metrics import psnr
from edgederain.runtime import DerainSession, SessionConfig, TileConfig


def test_tiled_matches_untiled_on_rain100l(rain100l_dir, tiny_net_model):
    default_pad = TileConfig().pad
    whole = DerainSession(tiny_net_model, SessionConfig.for_provider("cpu", threads=1))
    tiled = DerainSession(tiny_net_model, SessionConfig.for_provider(
        "cpu", threads=1, tile=192, tile_pad=default_pad))
    scores = []
    for i in (1, 2, 3, 4):
        frame = read_rgb(rain100l_dir / "rainy" / f"{i}.png")
        plan = tiled.tile_plan(*frame.shape[:2])
        assert plan is not None and plan.count >= 2
        ref = whole.run(frame)
        assert psnr(ref, frame) < 35  # the model really changes the frame
        scores.append(psnr(tiled.run(frame), ref))
    assert min(scores) >= 45.0, scores
