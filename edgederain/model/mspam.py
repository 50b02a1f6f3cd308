"""MSPAM: multi-scale pixel-attention module on a skip connection (thesis Eqs. 3-4 to 3-6).

    F_m  = W_E * F_E + W_D * F_D                                   (Eq. 3-4, two 3x3 convs C -> k)
    F^   = [F_m, DConv3(F_m), DConv5(F_m), DConv7(F_m)]            (Eq. 3-5, dilated 3x3, k -> k)
    M    = sigmoid(W_1 * ReLU(F^))                                 (Eq. 3-6, 1x1 conv 4k -> 1)
    out  = F_E * M                                                 (gates the encoder feature)

Returns ``(out, M)``; M is the 1-channel pixel-attention map supervised by the rain mask.

Note:
    The thesis does not give the internal width k; see ``ModelConfig.mspam_widths`` and
    docs/model.md#parameter-count. There is no
    activation inside the dilated branches and no BatchNorm (the thesis shows none). The gate
    multiplies the encoder feature, as the thesis and the official ECNet code do (mmderain gates
    the decoder feature instead).

    ``W_1 * ReLU([a, b, c, d])`` is computed as ``W_1a * ReLU(a) + ... + W_1d * ReLU(d)`` (the
    1x1 conv's weight split by input block): the same function and the same parameters, without
    materialising the 4k-channel concatenation at full resolution. In an exported INT8 graph
    that removes a uint8 concat of 4k channels per level (at 480x320, 214 ms instead of 226 ms
    interleaved on the reference CPU).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from edgederain.model.blocks import conv3x3

DILATIONS: tuple[int, ...] = (3, 5, 7)


class MSPAM(nn.Module):
    """Multi-scale pixel attention for a skip connection of ``channels`` channels, width ``k``."""

    def __init__(self, channels: int, k: int, dilations: tuple[int, ...] = DILATIONS) -> None:
        super().__init__()
        self.enc_conv = conv3x3(channels, k)
        self.dec_conv = conv3x3(channels, k)
        self.branches = nn.ModuleList(conv3x3(k, k, dilation=r) for r in dilations)
        self.fuse = nn.Conv2d(k * (len(dilations) + 1), 1, 1, bias=True)

    def forward(self, f_enc: torch.Tensor, f_dec: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        fm = self.enc_conv(f_enc) + self.dec_conv(f_dec)
        k = fm.shape[1]
        parts = [fm, *(branch(fm) for branch in self.branches)]
        w = self.fuse.weight  # sliced, not split: slices of a constant fold away at export
        logit = F.conv2d(torch.relu(parts[0]), w[:, :k], self.fuse.bias)
        for i, part in enumerate(parts[1:], start=1):
            logit = logit + F.conv2d(torch.relu(part), w[:, i * k:(i + 1) * k])
        attention = torch.sigmoid(logit)
        return f_enc * attention, attention
