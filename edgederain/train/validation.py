"""Validation during training: fixed pairs, FP32 inference, the metrics evaluation reports."""

from __future__ import annotations

import numpy as np
import torch

from edgederain.metrics import psnr
from edgederain.model.autoencoder import RainAutoencoder
from edgederain.model.net import DerainNet
from edgederain.train.setup import Compute, ValPairs


def _restore_mode(model: torch.nn.Module, was_training: bool) -> None:
    if was_training:
        model.train()


@torch.no_grad()
def validate_derain(net: DerainNet, pairs: ValPairs, compute: Compute) -> dict[str, float]:
    """Mean PSNR (RGB and Y) of the network's FP32 output on ``pairs`` (uint8, rounded), and the
    rainy inputs' own PSNR (``input_psnr_rgb``) for reference."""
    was_training = net.training
    net.eval()
    rgb, y, before = [], [], []
    for rainy, clean in pairs:
        x = compute.tensor(rainy[None])
        out = net.infer(x)[0].permute(1, 2, 0).float().cpu().numpy()
        img = np.round(out * 255.0).astype(np.uint8)
        rgb.append(psnr(img, clean))
        y.append(psnr(img, clean, y_channel=True))
        before.append(psnr(rainy, clean))
    _restore_mode(net, was_training)
    metrics = {"psnr_rgb": float(np.mean(rgb)), "psnr_y": float(np.mean(y)), "input_psnr_rgb": float(np.mean(before))}
    groups = getattr(pairs, "groups", [])
    for name in dict.fromkeys(groups):  # per rain preset, in order
        sel = [i for i, g in enumerate(groups) if g == name]
        metrics[f"psnr_y_{name}"] = float(np.mean([y[i] for i in sel]))
        metrics[f"input_psnr_y_{name}"] = float(np.mean([psnr(pairs[i][0], pairs[i][1], y_channel=True) for i in sel]))
    return metrics


@torch.no_grad()
def validate_autoencoder(ae: RainAutoencoder, pairs: ValPairs, compute: Compute) -> dict[str, float]:
    """Mean MSE of the rain reconstruction (ECNet units) on ``pairs``; ``neg_mse`` for ranking."""
    was_training = ae.training
    ae.eval()
    errors = []
    for rainy, clean in pairs:
        rain = compute.format(2.0 * (compute.tensor(rainy[None]) - compute.tensor(clean[None])))
        recon, _ = ae(rain)
        errors.append(float(torch.mean((recon.float() - rain) ** 2)))
    _restore_mode(ae, was_training)
    mse = float(np.mean(errors))
    return {"mse": mse, "neg_mse": -mse}


__all__ = ["validate_autoencoder", "validate_derain"]
