"""RLCN: rectified local contrast normalisation (thesis Eq. 3-1), as tensor ops.

For each colour channel independently, over a ``window x window`` neighbourhood with zero padding:

    S1 = box_sum(x),  S2 = box_sum(x**2),  N = box_sum(1)          (valid-pixel count)
    mean = S1 / N
    var  = max((S2 - S1**2 / N) / (N - 1), 0) + eps                 (unbiased)
    RLCN = clamp((x - mean) / (sqrt(var) + eps), 0, 1)

Box sums are separable depthwise convolutions with constant all-ones kernels (``1 x window``
then ``window x 1``), so the whole map exports to ONNX as plain ``Conv`` nodes. Separable sums
cost 2 x 9 instead of 81 multiply-adds per pixel: at 480x320 on the 2-core reference CPU the
RLCN convs took 2.6 ms instead of 10.5 ms in ONNX Runtime. (No AveragePool: at opset >= 19
ONNX Runtime's CPU provider runs a 9x9 AveragePool on a slow generic kernel.)

Note:
    The thesis formula is max(., 0) with the plain local standard deviation. We follow the
    official ECNet code instead: unbiased variance, eps = 1e-5 both inside the square root and in
    the denominator, count-normalised borders, and a clamp to [0, 1]. We also clamp the variance
    at 0 before adding eps: in FP32 this changes nothing, in FP16 the cancellation in
    ``S2 - S1**2 / N`` can go negative and ``sqrt`` would produce NaN.

    RLCN always runs in FP32: under autocast it disables autocast for itself (bf16 RLCN gave NaN),
    and exported FP16 graphs keep these nodes in FP32 (docs/model.md#departures-from-the-thesis).
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
        # S1 and S2 are summed in one depthwise pass over cat(x, x*x): 2 * channels maps.
        self.register_buffer("row", torch.ones(2 * channels, 1, 1, window), persistent=False)
        self.register_buffer("col", torch.ones(2 * channels, 1, window, 1), persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if torch.is_autocast_enabled(x.device.type):
            with torch.autocast(device_type=x.device.type, enabled=False):
                return self._rlcn(x.float())
        return self._rlcn(x.float())

    def _box_sum(self, x: torch.Tensor) -> torch.Tensor:
        """Zero-padded ``window x window`` sum of each channel, as a row pass then a column pass."""
        pad, c = self.window // 2, x.shape[1]
        row, col = self.row[:c].to(dtype=x.dtype), self.col[:c].to(dtype=x.dtype)
        x = F.conv2d(x, row, padding=(0, pad), groups=c)
        return F.conv2d(x, col, padding=(pad, 0), groups=c)

    def _rlcn(self, x: torch.Tensor) -> torch.Tensor:
        s1, s2 = self._box_sum(torch.cat([x, x * x], dim=1)).split(self.channels, dim=1)
        count = self._box_sum(torch.ones_like(x[:, :1]))
        mean = s1 / count
        var = ((s2 - s1 * mean) / (count - 1.0)).clamp(min=0.0) + self.eps
        out = (x - mean) / (torch.sqrt(var) + self.eps)
        return out.clamp(0.0, 1.0)

    def extra_repr(self) -> str:
        return f"window={self.window}, eps={self.eps}"
