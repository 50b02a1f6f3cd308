"""Parameter and MAC counts and a per-layer summary of a network (used by ``model-info``)."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from edgederain.model.mspam import MSPAM


@dataclass(frozen=True)
class LayerRow:
    name: str
    kind: str
    params: int
    macs: int


def count_parameters(module: nn.Module) -> int:
    """Trainable parameters (BatchNorm running statistics are buffers and not counted)."""
    return sum(p.numel() for p in module.parameters() if p.requires_grad)


def conv_macs(model: nn.Module, height: int, width: int) -> tuple[int, list[LayerRow]]:
    """Multiply-accumulates of every Conv2d for one 1 x 3 x height x width forward pass.

    Counts each Conv2d call (so recurrent passes count every iteration); BN and element-wise ops
    are excluded (docs/model.md#mac-counts). Returns the total and per-conv-module rows.
    """
    totals: dict[str, int] = {}
    hooks = []

    def make_hook(name: str):
        def hook(mod: nn.Conv2d, _inp, out: torch.Tensor) -> None:
            kh, kw = mod.kernel_size
            per_out = (mod.in_channels // mod.groups) * kh * kw
            totals[name] = totals.get(name, 0) + out.numel() * per_out

        return hook

    def mspam_hook(name: str):
        # MSPAM applies its 1x1 ``fuse`` conv by weight blocks (F.conv2d), not by calling it.
        def hook(mod: nn.Module, _inp, out) -> None:
            totals[name] = totals.get(name, 0) + out[1].numel() * mod.fuse.in_channels

        return hook

    for name, mod in model.named_modules():
        if isinstance(mod, nn.Conv2d):
            hooks.append(mod.register_forward_hook(make_hook(name)))
        elif isinstance(mod, MSPAM):
            hooks.append(mod.register_forward_hook(mspam_hook(f"{name}.fuse")))
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            model(torch.rand(1, 3, height, width))
    finally:
        for h in hooks:
            h.remove()
        model.train(was_training)
    rows = [
        LayerRow(name, "Conv2d", count_parameters(model.get_submodule(name)), macs)
        for name, macs in totals.items()
    ]
    return sum(totals.values()), rows


def _group(name: str) -> str:
    parts = name.split(".")
    depth = 3 if name.startswith("encoder.blocks.") else 2 if parts[0] in ("encoder", "decoder") else 1
    return ".".join(parts[:depth])


def block_rows(model: nn.Module, macs_by_conv: list[LayerRow]) -> list[LayerRow]:
    """Parameters and conv MACs per block (encoder.stem, encoder.blocks.i, decoder.i, head)."""
    params: dict[str, int] = {}
    for name, p in model.named_parameters():
        params[_group(name)] = params.get(_group(name), 0) + p.numel()
    macs: dict[str, int] = {}
    for row in macs_by_conv:
        macs[_group(row.name)] = macs.get(_group(row.name), 0) + row.macs
    return [
        LayerRow(key, type(model.get_submodule(key)).__name__, params[key], macs.get(key, 0))
        for key in params
    ]
