"""RLCN against a slow, independent numpy reference, and its FP16 safety."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from edgederain.model.rlcn import RLCN


def rlcn_reference(img: np.ndarray, window: int = 9, eps: float = 1e-5) -> np.ndarray:
    """Plain loops: per channel, the valid part of the window, unbiased variance, clamp [0, 1]."""
    c, h, w = img.shape
    r = window // 2
    out = np.zeros_like(img, dtype=np.float64)
    for ch in range(c):
        for i in range(h):
            for j in range(w):
                patch = img[ch, max(0, i - r) : i + r + 1, max(0, j - r) : j + r + 1]
                vals = patch.astype(np.float64).ravel()
                mean = vals.mean()
                var = vals.var(ddof=1) + eps
                out[ch, i, j] = (img[ch, i, j] - mean) / (np.sqrt(var) + eps)
    return np.clip(out, 0.0, 1.0)


@pytest.mark.parametrize("shape", [(3, 12, 17), (3, 9, 9), (3, 20, 11)])
def test_rlcn_matches_loop_reference_including_borders(shape):
    rng = np.random.default_rng(0)
    img = rng.random(shape).astype(np.float32)
    ref = rlcn_reference(img)
    got = RLCN()(torch.from_numpy(img)[None])[0].double().numpy()
    np.testing.assert_allclose(got, ref, atol=1e-5, rtol=0)
    # Borders are where count normalisation matters: check them explicitly too.
    np.testing.assert_allclose(got[:, 0, :], ref[:, 0, :], atol=1e-5, rtol=0)
    np.testing.assert_allclose(got[:, :, -1], ref[:, :, -1], atol=1e-5, rtol=0)


def test_rlcn_on_a_structured_image_and_other_window():
    yy, xx = np.mgrid[0:16, 0:16]
    img = np.stack([(xx % 4 == 0), (yy > 8), (xx + yy) / 30.0]).astype(np.float32)
    got = RLCN(window=5)(torch.from_numpy(img)[None])[0].double().numpy()
    np.testing.assert_allclose(got, rlcn_reference(img, window=5), atol=1e-5, rtol=0)


def _extreme_images() -> dict[str, torch.Tensor]:
    h = w = 64
    streaks = torch.zeros(1, 3, h, w)
    streaks[..., ::3, :] = 1.0
    sat = torch.full((1, 3, h, w), 0.999)
    sat[..., 20:30, 20:30] = 1.0
    return {
        "black": torch.zeros(1, 3, h, w),
        "white": torch.ones(1, 3, h, w),
        "saturated": sat,
        "streaks": streaks,
        "noise": torch.rand(1, 3, h, w),
    }


@pytest.mark.parametrize("name", list(_extreme_images()))
def test_rlcn_float16_has_no_nan_or_inf(name):
    x = _extreme_images()[name]
    y = RLCN().half()(x.half())
    assert torch.isfinite(y).all()
    assert float(y.min()) >= 0.0 and float(y.max()) <= 1.0


def test_float16_box_sums_alone_would_cancel_badly():
    """Why the clamp exists: raw fp16 E[x^2] - E[x]^2 goes negative on a flat bright image."""
    x = torch.full((1, 1, 32, 32), 0.999, dtype=torch.float16)
    box = torch.ones(1, 1, 9, 9, dtype=torch.float16)
    s1 = torch.nn.functional.conv2d(x, box)
    s2 = torch.nn.functional.conv2d(x * x, box)
    raw = (s2 - s1 * (s1 / 81)) / 80
    clamped = RLCN(channels=1).half()(x)
    assert torch.isfinite(clamped).all()
    assert float(raw.float().min()) < 0.0  # sqrt of this would be NaN without the clamp


def test_rlcn_under_bf16_autocast_stays_fp32_and_finite():
    x = torch.rand(1, 3, 32, 32)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        y = RLCN()(x)
    assert y.dtype == torch.float32
    torch.testing.assert_close(y, RLCN()(x))
