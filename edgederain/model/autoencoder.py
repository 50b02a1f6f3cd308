"""Rain-to-rain autoencoder (training stage 1) and its decoder transfer (stage 2).

The autoencoder reconstructs the ground-truth rain layer R = I - B through the same four-scale
encoder-decoder trunk as DerainNet but with **no skip connections and no MSPAM**, so all
information passes through the bottleneck; that bottleneck is the "ideal rain embedding"
Z_ideal the derain encoder is trained to match (thesis section 3.1, Eq. 3-8).

Stage 2 initialises DerainNet's decoder main path (each level's ``up`` and ``rb_a``) and its
final 1x1 ``head`` from the trained autoencoder (official ECNet: keys ``Up*``, ``Up_conv*``,
``Conv``). :func:`transfer_decoder` does that and reports exactly which tensors it copied.

Note:
    The autoencoder uses the same CA placement as DerainNet (our choice, docs/model.md#the-rain-autoencoder),
    so the transferred decoder blocks map one-to-one. It is always single-pass, also for the
    ``lstm`` derain variant. Input and output are in ECNet's units: R with I, B in [-1, 1], so
    R is in [-2, 2].
"""

from __future__ import annotations

import torch
from torch import nn

from edgederain.model.blocks import init_weights
from edgederain.model.config import ModelConfig
from edgederain.model.net import DerainNet, Encoder, build_decoder

TRANSFER_PREFIXES: tuple[str, ...] = ("decoder.", "head.")


class RainAutoencoder(nn.Module):
    """R -> (R^, Z_ideal). Sides must be multiples of ``config.size_multiple`` (training crops)."""

    def __init__(self, config: ModelConfig | None = None) -> None:
        super().__init__()
        self.config = config or ModelConfig()
        self.encoder = Encoder(3, self.config, recurrent=False)
        self.decoder = build_decoder(self.config, skips=False)
        self.head = nn.Conv2d(self.config.widths[0], 3, 1, bias=True)
        init_weights(self)

    def encode(self, rain: torch.Tensor) -> torch.Tensor:
        """The bottleneck embedding Z_ideal of a rain layer."""
        feats, _ = self.encoder(rain)
        return feats[-1]

    def forward(self, rain: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        z = self.encode(rain)
        y = z
        for level in self.decoder:
            y, _ = level(y)
        return self.head(y), z


def transfer_decoder(autoencoder: RainAutoencoder, net: DerainNet) -> list[str]:
    """Copy the AE's decoder main path and head into ``net``; return the copied state-dict keys.

    Parameters and BatchNorm buffers of every ``decoder.*.up``, ``decoder.*.rb_a`` and ``head``
    tensor are copied. Anything else in ``net`` (encoder, MSPAM, RB_b) is left untouched.
    """
    if autoencoder.config.widths != net.config.widths:
        raise ValueError(
            f"autoencoder widths {autoencoder.config.widths} do not match the derain network's "
            f"{net.config.widths}; train the autoencoder with the same model config"
        )
    source = autoencoder.state_dict()
    target = net.state_dict()
    copied: list[str] = []
    with torch.no_grad():
        for key, value in source.items():
            if not key.startswith(TRANSFER_PREFIXES):
                continue
            if key not in target or target[key].shape != value.shape:
                raise ValueError(f"cannot transfer {key}: no tensor of shape {tuple(value.shape)}")
            target[key].copy_(value)
            copied.append(key)
    return copied
