"""Building blocks: channel attention (CAB, thesis Eqs. 3-2/3-3), residual blocks, up-sampling.

Shapes and parameter counts: docs/model.md#building-blocks. Every conv has a bias, also before BatchNorm (as ECNet).

Note:
    The thesis draws channel attention as part of the residual block but does not say where.
    We place it RCAB-style, after the second BatchNorm and before the residual add, and use it in
    every residual block (encoder always; decoder when ``ModelConfig.decoder_ca``).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


def conv3x3(cin: int, cout: int, *, dilation: int = 1) -> nn.Conv2d:
    """3x3 conv with bias and 'same' padding (padding = dilation)."""
    return nn.Conv2d(cin, cout, 3, padding=dilation, dilation=dilation, bias=True)


class ChannelAttention(nn.Module):
    """RCAN-style channel attention, r = 16 (thesis Eqs. 3-2, 3-3).

    g = mean over H, W (Eq. 3-2); CA = sigmoid(conv1x1(ReLU(conv1x1(g)))) (Eq. 3-3); x * CA.
    The global mean is written as ``mean(dim=(2, 3))`` so it exports as a shape-agnostic
    ReduceMean.
    """

    def __init__(self, channels: int, reduction: int = 16) -> None:
        super().__init__()
        hidden = max(1, channels // reduction)
        self.squeeze = nn.Conv2d(channels, hidden, 1, bias=True)
        self.excite = nn.Conv2d(hidden, channels, 1, bias=True)
        self.relu = nn.ReLU(inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        g = x.mean(dim=(2, 3), keepdim=True)
        return x * torch.sigmoid(self.excite(self.relu(self.squeeze(g))))


class ConvLSTM(nn.Module):
    """Convolutional LSTM cell: gates from one 3x3 conv over concat(x, h_prev), 2C -> 4C.

    c = sigmoid(f) * c_prev + sigmoid(i) * tanh(g);  h = sigmoid(o) * tanh(c).
    """

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.gates = conv3x3(2 * channels, 4 * channels)

    def forward(
        self, x: torch.Tensor, state: tuple[torch.Tensor, torch.Tensor] | None
    ) -> tuple[torch.Tensor, tuple[torch.Tensor, torch.Tensor]]:
        if state is None:
            zeros = torch.zeros_like(x)
            state = (zeros, zeros)
        h_prev, c_prev = state
        i, f, g, o = self.gates(torch.cat([x, h_prev], dim=1)).chunk(4, dim=1)
        c = torch.sigmoid(f) * c_prev + torch.sigmoid(i) * torch.tanh(g)
        h = torch.sigmoid(o) * torch.tanh(c)
        return h, (h, c)


class ResidualBlock(nn.Module):
    """conv3x3-BN-ReLU-[ConvLSTM]-conv3x3-BN-[CA] + shortcut, then ReLU (docs/model.md#residual-block).

    The shortcut is identity when ``proj`` is false (requires cin == cout), otherwise
    conv1x1 + BN. With ``recurrent=True`` a ConvLSTM sits between the two convs (ECNet+LL's
    recurrent block) and :meth:`forward` takes and returns the LSTM state.
    """

    def __init__(
        self,
        cin: int,
        cout: int,
        *,
        proj: bool,
        attention: bool = True,
        reduction: int = 16,
        recurrent: bool = False,
    ) -> None:
        super().__init__()
        if not proj and cin != cout:
            raise ValueError(f"an identity shortcut needs cin == cout, got {cin} -> {cout}")
        self.conv1 = conv3x3(cin, cout)
        self.bn1 = nn.BatchNorm2d(cout)
        self.relu = nn.ReLU(inplace=True)
        self.lstm = ConvLSTM(cout) if recurrent else None
        self.conv2 = conv3x3(cout, cout)
        self.bn2 = nn.BatchNorm2d(cout)
        self.ca = ChannelAttention(cout, reduction) if attention else None
        self.shortcut = (
            nn.Sequential(nn.Conv2d(cin, cout, 1, bias=True), nn.BatchNorm2d(cout)) if proj else None
        )

    def forward(self, x: torch.Tensor, state=None):
        y = self.relu(self.bn1(self.conv1(x)))
        if self.lstm is not None:
            y, state = self.lstm(y, state)
        y = self.bn2(self.conv2(y))
        if self.ca is not None:
            y = self.ca(y)
        skip = x if self.shortcut is None else self.shortcut(x)
        out = torch.relu(y + skip)
        return (out, state) if self.lstm is not None else out


class Up(nn.Module):
    """Nearest x2 upsample -> conv3x3 -> BN -> ReLU (ECNet's 'bilinear' option is nearest too)."""

    def __init__(self, cin: int, cout: int) -> None:
        super().__init__()
        self.up = nn.Upsample(scale_factor=2, mode="nearest")
        self.conv = conv3x3(cin, cout)
        self.bn = nn.BatchNorm2d(cout)
        self.relu = nn.ReLU(inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.relu(self.bn(self.conv(self.up(x))))


class SubpixelUp(nn.Module):
    """An eval-mode :class:`Up` computed at the low resolution: the same function, 4/9 of the MACs.

    Nearest x2 then a 3x3 conv (padding 1) gives each of the four output phases (row parity a,
    column parity b) a 2x2 conv of the low-resolution input: along each axis, phase 0 sees
    ``x[i-1]`` through tap -1 and ``x[i]`` through taps 0 + 1, phase 1 sees ``x[i]`` through taps
    -1 + 0 and ``x[i+1]`` through tap 1 (zero padding maps to zero padding). BatchNorm (eval
    statistics) is folded into the weights. The four phase maps are interleaved with
    ``pixel_shuffle`` (ONNX ``DepthToSpace``). Built from a trained :class:`Up` for export; not
    trainable.

    On the reference 2-core CPU, ONNX Runtime FP32 at 480x320: the three decoder up-convs took
    75 ms as Resize + 3x3 conv and 33 ms + 18 ms (DepthToSpace) this way. In an INT8 graph it is
    slower than Resize + conv (ONNX Runtime's uint8 2x2 convs and DepthToSpace), so INT8 exports
    keep :class:`Up`.
    """

    # Rows: taps (-1, 0, +1) of the 3x3 kernel summed into each 2x2 kernel row, per phase.
    _FOLD = ((1.0, 0.0, 0.0), (0.0, 1.0, 1.0)), ((1.0, 1.0, 0.0), (0.0, 0.0, 1.0))
    # F.pad order (left, right, top, bottom) for phases (a, b).
    _PADS = {(0, 0): (1, 0, 1, 0), (0, 1): (0, 1, 1, 0), (1, 0): (1, 0, 0, 1), (1, 1): (0, 1, 0, 1)}

    def __init__(self, up: Up) -> None:
        super().__init__()
        if up.training:
            raise ValueError("SubpixelUp folds BatchNorm's running statistics: build it from an eval-mode Up")
        conv, bn = up.conv, up.bn
        with torch.no_grad():
            scale = bn.weight / torch.sqrt(bn.running_var + bn.eps)
            w = conv.weight * scale[:, None, None, None]
            b = (conv.bias - bn.running_mean) * scale + bn.bias
            fold = torch.tensor(self._FOLD, dtype=w.dtype)  # (phase, 2, 3)
            kernels = [torch.einsum("ry,cx,oiyx->oirc", fold[a], fold[c], w) for a in (0, 1) for c in (0, 1)]
        for i, k in enumerate(kernels):  # phase 2a + b: (Cout, Cin, 2, 2)
            self.register_buffer(f"weight{i}", k.contiguous())
        self.register_buffer("bias", b.detach().clone())
        self.cout = w.shape[0]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        phases = [
            F.conv2d(F.pad(x, self._PADS[(a, c)]), getattr(self, f"weight{2 * a + c}"), self.bias)
            for a in (0, 1) for c in (0, 1)
        ]
        n, _, h, w = x.shape
        # (N, C, 4, H, W) -> channel index c * 4 + (2a + b): pixel_shuffle's order.
        y = torch.stack(phases, dim=2).reshape(n, 4 * self.cout, h, w)
        return torch.relu(F.pixel_shuffle(y, 2))


class InputConv(nn.Module):
    """conv3x3 -> InstanceNorm (affine=False, per-image statistics also at test time) -> ReLU."""

    def __init__(self, cin: int, cout: int) -> None:
        super().__init__()
        self.conv = conv3x3(cin, cout)
        self.norm = nn.InstanceNorm2d(cout, affine=False)
        self.relu = nn.ReLU(inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.relu(self.norm(self.conv(x)))


def init_weights(module: nn.Module, std: float = 0.02) -> None:
    """ECNet initialisation: conv weights N(0, std), biases 0, BN gamma N(1, std), beta 0."""
    for m in module.modules():
        if isinstance(m, nn.Conv2d):
            nn.init.normal_(m.weight, 0.0, std)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, nn.BatchNorm2d):
            nn.init.normal_(m.weight, 1.0, std)
            nn.init.zeros_(m.bias)
