"""Training losses (thesis section 3.3, docs/model.md#losses), always evaluated in FP32.

Stage 1 (rain autoencoder):   L_AE = MSE(R^_AE, R),  R = I - B in ECNet units ([-2, 2]).

Stage 2 (derain network), thesis Eqs. 3-8 to 3-10:

    L = 0.02 * L1(Z, Z_ideal)                         rain-embedding consistency (bottleneck)
      + 0.1  * (1/3) sum_s MSE(A_s, M_s)              MSPAM maps at full, 1/2, 1/4 resolution
      + 1.0  * (-SSIM(B^, B))                         11 x 11 Gaussian window, sigma 1.5

with the rain mask M = 1[max_c (I - B) > 1e-3] on the [0, 1] scale and M_s = maxpool(M, 2^s)
(a coarse cell counts as rain if any of its pixels does). SSIM uses zero padding 5 (same-size
map), C1 = 0.01^2, C2 = 0.03^2, and the mean over N, C, H, W, as the official ECNet code.
For the layered-LSTM variant every term is evaluated for each pass and the passes are summed
with weights [0.5] * (N - 1) + [1.5] (ECNet+LL).

Note:
    The thesis averages the attention term over three scales; ECNet supervised only the finest
    map. How M is brought to the coarse scales is not specified anywhere; max-pooling is our choice.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F

from edgederain.model.net import DerainOutput


@dataclass(frozen=True)
class LossWeights:
    """Weights of the stage-2 terms (thesis: 0.02 / 0.1 / 1) and the mask threshold."""

    embedding: float = 0.02
    attention: float = 0.1
    image: float = 1.0
    mask_threshold: float = 1e-3
    distill: float = 0.0  # L1 to a teacher's output (distillation); 0 without a teacher
    pixel: float = 0.0  # L1 to the clean image (not in the thesis; TrainConfig.w_pixel)


def _gaussian_window(size: int = 11, sigma: float = 1.5, *, channels: int = 3) -> torch.Tensor:
    x = torch.arange(size, dtype=torch.float32) - (size - 1) / 2
    g = torch.exp(-(x**2) / (2 * sigma**2))
    g = g / g.sum()
    return (g[:, None] * g[None, :]).expand(channels, 1, size, size).contiguous()


def ssim(x: torch.Tensor, y: torch.Tensor, *, window: int = 11, sigma: float = 1.5) -> torch.Tensor:
    """Mean SSIM of two N x C x H x W images in [0, 1] (differentiable, FP32, zero padding)."""
    x, y = x.float(), y.float()
    c = x.shape[1]
    w = _gaussian_window(window, sigma, channels=c).to(x.device)
    pad = window // 2

    def blur(t: torch.Tensor) -> torch.Tensor:
        return F.conv2d(t, w, padding=pad, groups=c)

    mu_x, mu_y = blur(x), blur(y)
    var_x = blur(x * x) - mu_x**2
    var_y = blur(y * y) - mu_y**2
    cov = blur(x * y) - mu_x * mu_y
    c1, c2 = 0.01**2, 0.03**2
    num = (2 * mu_x * mu_y + c1) * (2 * cov + c2)
    den = (mu_x**2 + mu_y**2 + c1) * (var_x + var_y + c2)
    return (num / den).mean()


def rain_mask(rainy: torch.Tensor, clean: torch.Tensor, *, threshold: float = 1e-3) -> torch.Tensor:
    """N x 1 x H x W float mask of pixels the rain brightened by more than ``threshold``."""
    return ((rainy - clean).amax(dim=1, keepdim=True) > threshold).float()


def attention_loss(maps: tuple[torch.Tensor, ...], mask: torch.Tensor) -> torch.Tensor:
    """Mean over scales of MSE(A_s, maxpool(M, 2^s)); ``maps`` are finest first."""
    terms = []
    for s, a in enumerate(maps):
        target = mask if s == 0 else F.max_pool2d(mask, 2**s, 2**s, ceil_mode=True)
        terms.append(F.mse_loss(a.float(), target))
    return torch.stack(terms).mean()


def step_weights(n: int) -> list[float]:
    """Per-pass weights: [1] for one pass, [0.5] * (n - 1) + [1.5] for the layered LSTM."""
    return [1.0] if n == 1 else [0.5] * (n - 1) + [1.5]


def derain_loss(
    out: DerainOutput,
    rainy: torch.Tensor,
    clean: torch.Tensor,
    z_ideal: torch.Tensor,
    *,
    weights: LossWeights = LossWeights(),
    teacher: torch.Tensor | None = None,
) -> tuple[torch.Tensor, dict[str, float]]:
    """Total stage-2 loss and its terms (as floats, for logging), summed over the passes.

    ``teacher``: a teacher network's derained image; with ``weights.distill > 0`` each pass adds
    ``distill * L1(derained, teacher)`` (logged as ``distill``).
    """
    mask = rain_mask(rainy, clean, threshold=weights.mask_threshold)
    total = torch.zeros((), device=rainy.device)
    terms = {"embed": 0.0, "att": 0.0, "ssim": 0.0}
    z_ideal = z_ideal.float()
    for w, step in zip(step_weights(len(out.steps)), out.steps):
        l_embed = F.l1_loss(step.embedding.float(), z_ideal)
        l_att = attention_loss(step.attention, mask)
        l_ssim = ssim(step.derained, clean)
        total = total + w * (weights.embedding * l_embed + weights.attention * l_att - weights.image * l_ssim)
        if weights.pixel > 0:
            l_pixel = F.l1_loss(step.derained.float(), clean.float())
            total = total + w * weights.pixel * l_pixel
            terms["pixel"] = terms.get("pixel", 0.0) + w * float(l_pixel.detach())
        if teacher is not None and weights.distill > 0:
            l_distill = F.l1_loss(step.derained.float(), teacher.float())
            total = total + w * weights.distill * l_distill
            terms["distill"] = terms.get("distill", 0.0) + w * float(l_distill.detach())
        terms["embed"] += w * float(l_embed.detach())
        terms["att"] += w * float(l_att.detach())
        terms["ssim"] += w * float(l_ssim.detach())
    terms["loss"] = float(total.detach())
    return total, terms


def autoencoder_loss(reconstruction: torch.Tensor, rain: torch.Tensor) -> torch.Tensor:
    """Stage-1 loss: MSE between the reconstructed and the true rain layer (FP32)."""
    return F.mse_loss(reconstruction.float(), rain.float())


__all__ = [
    "LossWeights",
    "attention_loss",
    "autoencoder_loss",
    "derain_loss",
    "rain_mask",
    "ssim",
    "step_weights",
]
