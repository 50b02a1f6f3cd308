"""PSNR / SSIM against scikit-image (test-only oracle), and BT.601 Y."""

from __future__ import annotations

import numpy as np
import pytest
from skimage.color import rgb2ycbcr
from skimage.metrics import peak_signal_noise_ratio, structural_similarity

from edgederain.io import read_rgb
from edgederain.metrics import image_metrics, psnr, rgb_to_y, ssim


def _sk_ssim(a, b, data_range, channel_axis=None):
    return structural_similarity(
        a, b, data_range=data_range, channel_axis=channel_axis,
        gaussian_weights=True, sigma=1.5, use_sample_covariance=False,
    )


def _pairs():
    rng = np.random.default_rng(0)
    clean = rng.integers(0, 256, (48, 64, 3), dtype=np.uint8)
    noisy = np.clip(clean.astype(int) + rng.integers(-20, 21, clean.shape), 0, 255).astype(np.uint8)
    unrelated = rng.integers(0, 256, (33, 29, 3), dtype=np.uint8)
    other = rng.integers(0, 256, (33, 29, 3), dtype=np.uint8)
    return [(clean, noisy), (unrelated, other)]


@pytest.mark.parametrize("idx", [0, 1])
def test_rgb_metrics_match_scikit_image_on_random_pairs(idx):
    a, b = _pairs()[idx]
    assert psnr(a, b) == pytest.approx(peak_signal_noise_ratio(a, b, data_range=255), abs=1e-4)
    fa, fb = a / 255.0, b / 255.0
    assert ssim(a, b) == pytest.approx(_sk_ssim(fa, fb, 1.0, channel_axis=2), abs=1e-4)
    assert ssim(fa.astype(np.float32), fb.astype(np.float32)) == pytest.approx(ssim(a, b), abs=1e-6)


def test_y_channel_matches_bt601_and_scikit_image():
    a, b = _pairs()[0]
    y_sk = rgb2ycbcr(a)[..., 0]
    np.testing.assert_allclose(rgb_to_y(a), y_sk, atol=1e-9)
    # Known BT.601 anchors: black -> 16, white -> 235.
    assert rgb_to_y(np.zeros((1, 1, 3), np.uint8))[0, 0] == pytest.approx(16.0)
    assert rgb_to_y(np.full((1, 1, 3), 255, np.uint8))[0, 0] == pytest.approx(235.0)
    ya, yb = rgb2ycbcr(a)[..., 0], rgb2ycbcr(b)[..., 0]
    assert psnr(a, b, y_channel=True) == pytest.approx(
        peak_signal_noise_ratio(ya, yb, data_range=255), abs=1e-4
    )
    assert ssim(a, b, y_channel=True) == pytest.approx(_sk_ssim(ya, yb, 255.0), abs=1e-4)


def test_metrics_on_real_rain100l_pairs_match_scikit_image(rain100l_dir):
    for n in (1, 57):
        rainy = read_rgb(rain100l_dir / "rainy" / f"{n}.png")
        clean = read_rgb(rain100l_dir / "clean" / f"{n}.png")
        m = image_metrics(rainy, clean)
        assert m["psnr_rgb"] == pytest.approx(peak_signal_noise_ratio(clean, rainy, data_range=255), abs=1e-4)
        assert m["ssim_rgb"] == pytest.approx(_sk_ssim(rainy / 255.0, clean / 255.0, 1.0, 2), abs=1e-4)
        ya, yb = rgb2ycbcr(rainy)[..., 0], rgb2ycbcr(clean)[..., 0]
        assert m["ssim_y"] == pytest.approx(_sk_ssim(ya, yb, 255.0), abs=1e-4)
        assert 15 < m["psnr_rgb"] < 40


def test_identical_images_and_bad_inputs():
    a = np.zeros((16, 16, 3), np.uint8)
    assert psnr(a, a) == float("inf")
    assert ssim(a, a) == pytest.approx(1.0)
    with pytest.raises(ValueError, match="shapes differ"):
        psnr(a, np.zeros((16, 15, 3), np.uint8))
    with pytest.raises(ValueError, match="at least 11x11"):
        ssim(a[:10], a[:10])
    with pytest.raises(TypeError, match="uint8"):
        psnr(a.astype(np.int32), a.astype(np.int32))
