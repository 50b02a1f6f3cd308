"""Growing a trained network into a wider or extended one without changing what it computes.

A fine-tune (``init``) may start a network whose config differs from the checkpoint's in two
ways, both of which keep the init's outputs exactly (to float rounding) at step 0:

- **the veil head** (``veil`` False -> True): the head's output layer is zero-initialised, so
  B^ = (I - R^) * (1 + 0) + 0 (docs/model.md#the-veil-head);
- **wider MSPAM** (``mspam_widths`` each >= the checkpoint's): every MSPAM keeps its k channels and
  gains new ones. The new channels of the two input convolutions and of the dilated branches get
  small random weights, so that they carry a signal and can learn; the paths from new channels
  into old ones (branch inputs) and into the attention logit (the 1x1 fusion's new inputs) are
  zero, so the attention map, and with it the output, is the checkpoint's. The fusion's new
  inputs receive gradients from the first step (their inputs are non-zero), which is how the new
  channels come into use.

Why widen MSPAM: ONNX Runtime's and OpenVINO's int8 convolutions are slow at widths below 16
(docs/speed.md#where-orts-time-goes-per-op-type-and-convolution-width); ``lite``'s finest MSPAM
(k = 12) gains speed in INT8 from k = 16 despite more multiply-accumulates.

Anything else (encoder/decoder widths, variant, RLCN window) cannot be grown:
:func:`grow_network` raises :class:`~edgederain.errors.ConfigError`.
"""

from __future__ import annotations

import dataclasses

import torch

from edgederain.errors import ConfigError
from edgederain.model.config import ModelConfig
from edgederain.model.mspam import DILATIONS
from edgederain.model.net import DerainNet

NEW_WEIGHT_SCALE = 0.1  # new channels: the network's own random init, scaled by this


def growable(have: ModelConfig, want: ModelConfig) -> bool:
    """Whether :func:`grow_network` can turn a network of ``have`` into one of ``want``."""
    if have.veil and not want.veil:
        return False
    if len(have.mspam_widths) != len(want.mspam_widths):
        return False
    if any(w < h for h, w in zip(have.mspam_widths, want.mspam_widths)):
        return False
    rest = dataclasses.replace(have, veil=want.veil, mspam_widths=want.mspam_widths)
    return rest == want


def _grow_mspam_tensor(name: str, old: torch.Tensor, new: torch.Tensor) -> torch.Tensor:
    """The grown value of one MSPAM parameter: ``old`` embedded in ``new``'s shape."""
    out = new.detach().clone()
    if name.endswith("fuse.weight"):  # 1 x (1 + len(dilations)) k x 1 x 1: new inputs zero
        blocks = 1 + len(DILATIONS)
        k_old, k_new = old.shape[1] // blocks, new.shape[1] // blocks
        out.zero_()
        for i in range(blocks):
            out[:, i * k_new:i * k_new + k_old] = old[:, i * k_old:(i + 1) * k_old]
        return out
    if old.dim() == 1:  # biases: new channels start at zero
        out.zero_()
        out[: old.shape[0]] = old
        return out
    out.mul_(NEW_WEIGHT_SCALE)
    k_out, k_in = old.shape[:2]
    out[:k_out, :k_in] = old
    if ".branches." in name:
        out[:k_out, k_in:] = 0  # old branch outputs never see the new channels
    return out


def grow_network(net: DerainNet, want: ModelConfig, *, seed: int = 0) -> DerainNet:
    """A :class:`DerainNet` of config ``want`` computing what ``net`` computes (see the module doc).

    ``net`` itself is left unchanged. ``seed`` fixes the new channels' random weights.
    """
    have = net.config
    if have == want:
        return net
    if not growable(have, want):
        raise ConfigError(
            f"cannot grow a network of config {have.to_dict()} into {want.to_dict()}: only the veil "
            "head and wider MSPAM widths can be added to a trained network"
        )
    with torch.random.fork_rng(devices=[]):  # the caller's random stream is left as it was
        torch.manual_seed(seed)
        grown = DerainNet(want)
    old_state = net.state_dict()
    state = {}
    for name, value in grown.state_dict().items():
        if name not in old_state:
            state[name] = value  # the veil head: built zero-initialised at its output
            continue
        old = old_state[name]
        if old.shape == value.shape:
            state[name] = old.clone()
        elif ".mspam." in name:
            state[name] = _grow_mspam_tensor(name, old, value)
        else:  # growable() admits only MSPAM widths
            raise AssertionError(f"{name}: {tuple(old.shape)} -> {tuple(value.shape)}")
    grown.load_state_dict(state)
    return grown.train(net.training)


__all__ = ["NEW_WEIGHT_SCALE", "grow_network", "growable"]
