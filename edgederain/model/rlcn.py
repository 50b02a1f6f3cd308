"""RLCN: rectified local contrast normalisation (thesis Eq. 3-1), as tensor ops.

For each colour channel independently, over a ``window x window`` neighbourhood with zero padding:

    S1 = box_sum(x),  S2 = box_sum(x**2),  N = box_sum(1)          (valid-pixel count)
    mean = S1 / N
    var  = max((S2 - S1**2 / N) / (N - 1), 0) + eps                 (unbiased)
    RLCN = clamp((x - mean) / (sqrt(var) + eps), 0, 1)

Box sums are depthwise convolutions with a constant all-ones kernel, so the whole map exports
to ONNX as plain ``Conv`` nodes (no AveragePool: at opset >= 19 ONNX Runtime's CPU provider runs
a 9x9 AveragePool on a slow generic kernel).

Note:
    The thesis formula is max(., 0) with the plain local standard deviation. We follow the
    official ECNet code instead: unbiased variance, eps = 1e-5 both inside the square root and in
    the denominator, count-normalised borders, and a clamp to [0, 1]. We also clamp the variance
    at 0 before adding eps: in FP32 this changes nothing, in FP16 the cancellation in
    ``S2 - S1**2 / N`` can go negative and ``sqrt`` would produce NaN.

    RLCN always runs in FP32: under autocast it disables autocast for itself (bf16 RLCN gave NaN),
    and exported FP16 graphs keep these nodes in FP32.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class RLCN(nn.Module):
    """Per-channel RLCN map of an image in [0, 1]; output has the input's shape, values in [0, 1]."""

    def __init__(self, window: int = 9, eps: float = 1e-5, channels: int = 3) -> None:
        super().__init__()
        if window < 3 or window % 2 == 0:
            raise ValueError(f"RLCN window must be an odd number >= 3, got {window}")
        self.window = window
        self.eps = eps
        self.channels = channels
        self.register_buffer("box", torch.ones(channels, 1, window, window), persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if torch.is_autocast_enabled(x.device.type):
            with torch.autocast(device_type=x.device.type, enabled=False):
                return self._rlcn(x.float())
        return self._rlcn(x.float())

    def _rlcn(self, x: torch.Tensor) -> torch.Tensor:
        pad = self.window // 2
        box = self.box.to(dtype=x.dtype)
        s1 = F.conv2d(x, box, padding=pad, groups=self.channels)
        s2 = F.conv2d(x * x, box, padding=pad, groups=self.channels)
        ones = torch.ones_like(x[:, :1])
        count = F.conv2d(ones, box[:1], padding=pad)
        mean = s1 / count
        var = ((s2 - s1 * mean) / (count - 1.0)).clamp(min=0.0) + self.eps
        out = (x - mean) / (torch.sqrt(var) + self.eps)
        return out.clamp(0.0, 1.0)

    def extra_repr(self) -> str:
        return f"window={self.window}, eps={self.eps}"
