"""DerainNet: ECNet + CAB + MSPAM single-image deraining network (thesis chapter 3).

The network predicts the rain layer R^ from the rainy image I and returns B^ = I - R^
(docs/model.md#the-derain-network, layer by layer). Inputs and outputs are float RGB in [0, 1] of any height and width:
the model reflect-pads bottom/right to a multiple of ``config.size_multiple`` (8), runs, and
crops back. The [-1, 1] scaling ECNet works in is internal.

Two variants (``ModelConfig.variant``):

- ``single``: one pass; the encoder sees concat(I, RLCN(I)) (6 channels). The thesis model.
- ``single`` with ``veil``: the same plus :class:`VeilHead`, a smooth gain and offset applied to
  I - R^ (heavy rain's veil is multiplicative; docs/model.md#the-veil-head).
- ``lstm``: ECNet+LL; ``iterations`` passes with shared weights. The encoder sees
  concat(I, R_{t-1}, RLCN(I)) (9 channels) with R_0 = I, each encoder block carries a
  ConvLSTM whose (h, c) state persists across the passes, and the last pass's R gives B^.

Note:
    Attention maps are returned cropped to ceil(H / 2**s) x ceil(W / 2**s); the embedding is
    returned at the padded bottleneck resolution (it is compared with the autoencoder's embedding
    of an equally padded rain layer).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from edgederain.model.blocks import InputConv, ResidualBlock, Up, init_weights
from edgederain.model.config import ModelConfig
from edgederain.model.mspam import MSPAM
from edgederain.model.rlcn import RLCN


@dataclass
class StepOutput:
    """One pass of the network (the only one for ``single``)."""

    derained: torch.Tensor  # N x 3 x H x W, [0, 1] scale, not clamped (losses need gradients)
    rain: torch.Tensor  # N x 3 x H x W, predicted rain layer in [0, 1]-scale units
    embedding: torch.Tensor  # N x C4 x H/8 x W/8 (padded), bottleneck "rain embedding" Z
    attention: tuple[torch.Tensor, ...]  # MSPAM maps, finest first: N x 1 x ceil(H/2^s) x ...


@dataclass
class DerainOutput:
    """Forward result: the final pass's tensors plus every pass (for the per-iteration loss)."""

    derained: torch.Tensor
    rain: torch.Tensor
    embedding: torch.Tensor
    attention: tuple[torch.Tensor, ...]
    steps: list[StepOutput]

    @property
    def image(self) -> torch.Tensor:
        """The derained image clamped to [0, 1], what inference returns."""
        return self.derained.clamp(0.0, 1.0)


def pad_to_multiple(x: torch.Tensor, multiple: int) -> torch.Tensor:
    """Reflect-pad bottom and right so H and W become multiples of ``multiple``."""
    h, w = x.shape[-2:]
    if h < multiple or w < multiple:
        raise ValueError(
            f"input is {h}x{w}; DerainNet needs at least {multiple}x{multiple} pixels "
            "(reflection padding cannot extend a smaller image)"
        )
    pad_h = (multiple - h % multiple) % multiple
    pad_w = (multiple - w % multiple) % multiple
    return F.pad(x, (0, pad_w, 0, pad_h), mode="reflect")


class Encoder(nn.Module):
    """Input conv, then one residual block (with CA) per scale, max-pool 2x2 between scales."""

    def __init__(self, in_channels: int, config: ModelConfig, *, recurrent: bool = False) -> None:
        super().__init__()
        widths = config.widths
        self.recurrent = recurrent
        self.stem = InputConv(in_channels, widths[0])
        self.blocks = nn.ModuleList(
            ResidualBlock(
                widths[max(i - 1, 0)],
                widths[i],
                proj=i > 0,
                attention=True,
                reduction=config.ca_reduction,
                recurrent=recurrent,
            )
            for i in range(len(widths))
        )
        self.pool = nn.MaxPool2d(2, 2)

    def forward(self, x: torch.Tensor, states: list | None = None):
        """Return the per-scale features (finest first) and, if recurrent, the new LSTM states."""
        feats: list[torch.Tensor] = []
        new_states: list = []
        y = self.stem(x)
        for i, block in enumerate(self.blocks):
            if i > 0:
                y = self.pool(y)
            if self.recurrent:
                y, s = block(y, None if states is None else states[i])
                new_states.append(s)
            else:
                y = block(y)
            feats.append(y)
        return feats, new_states


class DecoderLevel(nn.Module):
    """Up, then RB_a on the upsampled path; with a skip: MSPAM(encoder, up) -> RB_b, summed."""

    def __init__(self, cin: int, cout: int, config: ModelConfig, *, mspam_k: int | None) -> None:
        super().__init__()
        ca = dict(attention=config.decoder_ca, reduction=config.ca_reduction)
        self.up = Up(cin, cout)
        self.rb_a = ResidualBlock(cout, cout, proj=True, **ca)
        self.mspam = MSPAM(cout, mspam_k) if mspam_k is not None else None
        self.rb_b = ResidualBlock(cout, cout, proj=True, **ca) if mspam_k is not None else None

    def forward(self, x: torch.Tensor, skip: torch.Tensor | None = None):
        u = self.up(x)
        if self.mspam is None:
            return self.rb_a(u), None
        gated, attention = self.mspam(skip, u)
        return self.rb_a(u) + self.rb_b(gated), attention


def build_decoder(config: ModelConfig, *, skips: bool) -> nn.ModuleList:
    """Decoder levels ordered coarse to fine (same names in DerainNet and the autoencoder)."""
    w = config.widths
    return nn.ModuleList(
        DecoderLevel(w[s + 1], w[s], config, mspam_k=config.mspam_widths[s] if skips else None)
        for s in reversed(range(len(w) - 1))
    )


class VeilHead(nn.Module):
    """Smooth per-pixel gain g and offset b (3 channels each) from the bottleneck features.

    A 9 x 9 mean over the 1/8-scale bottleneck (72 px of the input), two 1 x 1 convolutions, and a
    bilinear x``scale`` upsampling: the maps vary slowly, as a veil's transmission and airlight do,
    and depend on a bounded neighbourhood only (tiles with an overlap over ~100 px see the same
    maps). The last convolution is zero-initialised, so the head starts as the identity.
    """

    def __init__(self, channels: int, scale: int, hidden: int = 32) -> None:
        super().__init__()
        self.scale = scale
        self.pool = nn.AvgPool2d(9, stride=1, padding=4, count_include_pad=False)
        self.fc1 = nn.Conv2d(channels, hidden, 1)
        self.fc2 = nn.Conv2d(hidden, 6, 1)

    def reset_identity(self) -> None:
        nn.init.kaiming_normal_(self.fc1.weight, nonlinearity="relu")
        nn.init.zeros_(self.fc2.weight)
        nn.init.zeros_(self.fc2.bias)

    def forward(self, z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        t = self.fc2(F.relu(self.fc1(self.pool(z))))
        t = F.interpolate(t, scale_factor=self.scale, mode="bilinear", align_corners=False)
        # float32 before 1 + g: under bf16 autocast 1 + g would round to steps of 1/128 (2 levels)
        return t[:, :3].float(), t[:, 3:].float()


class DerainNet(nn.Module):
    """The deraining network. ``forward`` returns a :class:`DerainOutput`; ``infer`` the image."""

    def __init__(self, config: ModelConfig | None = None) -> None:
        super().__init__()
        self.config = config or ModelConfig()
        c = self.config
        recurrent = c.variant == "lstm"
        self.rlcn = RLCN(c.rlcn_window)
        self.encoder = Encoder(9 if recurrent else 6, c, recurrent=recurrent)
        self.decoder = build_decoder(c, skips=True)
        self.head = nn.Conv2d(c.widths[0], 3, 1, bias=True)
        self.veil = VeilHead(c.widths[-1], c.size_multiple) if c.veil else None
        init_weights(self)
        if self.veil is not None:
            self.veil.reset_identity()

    def _pass(self, x: torch.Tensor, states: list | None):
        feats, states = self.encoder(x, states)
        y = feats[-1]
        maps: list[torch.Tensor] = []
        for level, skip in zip(self.decoder, reversed(feats[:-1])):
            y, attention = level(y, skip)
            maps.append(attention)
        return self.head(y), feats[-1], tuple(reversed(maps)), states

    def forward(self, x: torch.Tensor) -> DerainOutput:
        """Run on ``x``: N x 3 x H x W float RGB in [0, 1]."""
        h, w = x.shape[-2:]
        xp = pad_to_multiple(x, self.config.size_multiple)
        image = xp * 2.0 - 1.0
        lcn = self.rlcn(xp)
        steps: list[StepOutput] = []
        if self.config.variant == "single":
            rain, emb, maps, _ = self._pass(torch.cat([image, lcn], dim=1), None)
            veil = self.veil(emb) if self.veil is not None else None
            steps.append(self._step(xp, rain, emb, maps, h, w, veil))
        else:
            rain, states = image, None
            for _ in range(self.config.iterations):
                rain, emb, maps, states = self._pass(torch.cat([image, rain, lcn], dim=1), states)
                steps.append(self._step(xp, rain, emb, maps, h, w))
        last = steps[-1]
        return DerainOutput(last.derained, last.rain, last.embedding, last.attention, steps)

    @staticmethod
    def _step(xp, rain, emb, maps, h, w, veil=None) -> StepOutput:
        rain01 = rain[..., :h, :w] * 0.5
        derained = xp[..., :h, :w] - rain01
        if veil is not None:
            gain, offset = (t[..., :h, :w] for t in veil)
            derained = derained * (1.0 + gain) + offset
            rain01 = xp[..., :h, :w] - derained
        cropped = tuple(
            m[..., : (h + 2**s - 1) // 2**s, : (w + 2**s - 1) // 2**s] for s, m in enumerate(maps)
        )
        return StepOutput(derained, rain01, emb, cropped)

    def infer(self, x: torch.Tensor) -> torch.Tensor:
        """Inference path: the derained image only, clamped to [0, 1]."""
        return self.forward(x).image


def build_model(config: ModelConfig | str = "thesis") -> DerainNet:
    """Build a DerainNet from a config or a preset name."""
    from edgederain.model.config import get_preset

    return DerainNet(get_preset(config) if isinstance(config, str) else config)
