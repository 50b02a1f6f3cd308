"""Stage-1/2 losses: SSIM, rain mask, multi-scale attention target, per-pass weights."""

from __future__ import annotations

import torch

from edgederain.model import DerainNet, RainAutoencoder, get_preset
from edgederain.train.losses import (
    LossWeights,
    attention_loss,
    autoencoder_loss,
    derain_loss,
    rain_mask,
    ssim,
    step_weights,
)


def test_ssim_is_one_for_identical_and_lower_for_noisy() -> None:
    x = torch.rand(2, 3, 32, 32)
    assert torch.isclose(ssim(x, x), torch.tensor(1.0), atol=1e-5)
    noisy = (x + 0.2 * torch.randn_like(x)).clamp(0, 1)
    assert ssim(noisy, x) < 0.9
    assert ssim(x.bfloat16(), x).dtype == torch.float32  # always evaluated in FP32


def test_ssim_agrees_with_scikit_image() -> None:
    from skimage.metrics import structural_similarity

    g = torch.Generator().manual_seed(0)
    x = torch.rand(1, 1, 160, 160, generator=g)
    y = (x + 0.15 * torch.rand(1, 1, 160, 160, generator=g)).clamp(0, 1)
    ref = structural_similarity(
        x[0, 0].double().numpy(), y[0, 0].double().numpy(), gaussian_weights=True, sigma=1.5,
        use_sample_covariance=False, data_range=1.0,
    )
    # same window and constants; only the 5-pixel border (zero padding here) differs
    assert abs(float(ssim(x, y)) - ref) < 0.02


def test_rain_mask_threshold_and_attention_target() -> None:
    clean = torch.zeros(1, 3, 8, 8)
    rainy = clean.clone()
    rainy[0, 1, 2, 3] = 2 / 255  # one brightened pixel in one channel
    rainy[0, :, 6, 6] = -0.5  # darker "rain" does not count
    rainy[0, 0, 0, 0] = 0.5e-3  # below threshold
    mask = rain_mask(rainy, clean)
    assert mask.shape == (1, 1, 8, 8) and mask.sum() == 1 and mask[0, 0, 2, 3] == 1
    perfect = (mask, torch.nn.functional.max_pool2d(mask, 2), torch.nn.functional.max_pool2d(mask, 4))
    assert attention_loss(perfect, mask) == 0
    assert perfect[2][0, 0, 0, 0] == 1  # the coarse cell containing rain is rain
    assert torch.isclose(attention_loss(tuple(torch.zeros_like(m) for m in perfect), mask),
                         torch.tensor((1 / 64 + 1 / 16 + 1 / 4) / 3))


def test_step_weights() -> None:
    assert step_weights(1) == [1.0]
    assert step_weights(6) == [0.5] * 5 + [1.5]


def test_derain_loss_terms_and_gradients() -> None:
    torch.manual_seed(0)
    for preset in ("tiny", "tiny-lstm"):
        net, ae = DerainNet(get_preset(preset)), RainAutoencoder(get_preset(preset)).eval()
        clean = torch.rand(2, 3, 24, 24)
        rainy = (clean + 0.3 * (torch.rand(2, 1, 24, 24) > 0.9)).clamp(0, 1)
        out = net(rainy)
        with torch.no_grad():
            z = ae.encode(2 * (rainy - clean))
        loss, terms = derain_loss(out, rainy, clean, z, weights=LossWeights())
        w = sum(step_weights(len(out.steps)))
        assert set(terms) == {"embed", "att", "ssim", "loss"}
        expected = 0.02 * terms["embed"] + 0.1 * terms["att"] - terms["ssim"]
        assert abs(terms["loss"] - expected) < 1e-4 and -w <= terms["loss"] <= 2 * w
        loss.backward()
        assert all(p.grad is not None for p in net.head.parameters())
        assert all(p.grad is None for p in ae.parameters())


def test_autoencoder_loss_is_mse() -> None:
    a, b = torch.zeros(1, 3, 4, 4), torch.full((1, 3, 4, 4), 0.5)
    assert torch.isclose(autoencoder_loss(a, b), torch.tensor(0.25))


def test_pixel_term_adds_l1_to_the_clean_image() -> None:
    torch.manual_seed(0)
    net = DerainNet(get_preset("tiny"))
    clean = torch.rand(2, 3, 24, 24)
    rainy = (clean + 0.3 * (torch.rand(2, 1, 24, 24) > 0.9)).clamp(0, 1)
    z = torch.zeros(2, 64, 3, 3)
    out = net(rainy)
    plain, t0 = derain_loss(out, rainy, clean, z, weights=LossWeights())
    with_l1, t1 = derain_loss(out, rainy, clean, z, weights=LossWeights(pixel=2.0))
    assert "pixel" not in t0
    l1 = float(torch.nn.functional.l1_loss(out.derained, clean))
    assert abs(t1["pixel"] - l1) < 1e-6 and l1 > 0
    assert abs(float(with_l1) - float(plain) - 2.0 * l1) < 1e-5
