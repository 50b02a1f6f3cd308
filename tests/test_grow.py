"""Growing a trained network (edgederain.model.grow): wider MSPAM keeps the outputs, then learns."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from edgederain.errors import ConfigError
from edgederain.model import ModelConfig, build_model
from edgederain.model.grow import grow_network, growable
from edgederain.model.summary import count_parameters
from edgederain.train.checkpoint import save_checkpoint
from edgederain.train.config import TrainConfig
from edgederain.train.loop import _init_network
from export_fixtures import write_pairs

TINY = build_model("tiny").config  # mspam_widths (8, 8, 16)
WIDER = ModelConfig(**{**TINY.to_dict(), "mspam_widths": (12, 8, 16)})


def _trained_like(seed: int = 0) -> torch.nn.Module:
    """A tiny network whose MSPAM fusion weights are all non-zero (as after training)."""
    torch.manual_seed(seed)
    net = build_model("tiny")
    with torch.no_grad():
        for name, p in net.named_parameters():
            if "fuse" in name:
                p.normal_(0.0, 0.5)
    return net.eval()


def test_wider_mspam_keeps_outputs_and_attention_maps():
    net = _trained_like()
    grown = grow_network(net, WIDER, seed=1).eval()
    assert grown.config == WIDER
    assert count_parameters(grown) > count_parameters(net)
    x = torch.rand(2, 3, 48, 56)
    with torch.no_grad():
        a, b = net(x), grown(x)
    torch.testing.assert_close(b.derained, a.derained, rtol=0, atol=1e-5)
    for m_old, m_new in zip(a.attention, b.attention):
        torch.testing.assert_close(m_new, m_old, rtol=0, atol=1e-6)
    # the source network is left as it was
    assert net.config == TINY


def test_the_new_channels_carry_a_signal_and_learn():
    grown = grow_network(_trained_like(), WIDER, seed=1).train()
    mspams = [m for m in grown.modules() if type(m).__name__ == "MSPAM"]
    widest = next(m for m in mspams if m.enc_conv.out_channels == 12)
    # the new enc/dec conv rows are random (non-zero), the fusion's new inputs start at zero
    assert float(widest.enc_conv.weight[8:].detach().abs().sum()) > 0
    fuse = widest.fuse.weight
    assert float(fuse[:, 8:12].detach().abs().sum()) == 0.0
    out = grown(torch.rand(2, 3, 48, 56))
    (out.derained.mean() + sum(m.mean() for m in out.attention)).backward()
    assert float(widest.fuse.weight.grad[:, 8:12].abs().sum()) > 0  # the new inputs get gradients


def test_growth_is_seeded():
    net = _trained_like()
    a = grow_network(net, WIDER, seed=4).state_dict()
    b = grow_network(net, WIDER, seed=4).state_dict()
    c = grow_network(net, WIDER, seed=5).state_dict()
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert any(not torch.equal(a[k], c[k]) for k in a)


@pytest.mark.parametrize("want", [
    ModelConfig(**{**TINY.to_dict(), "mspam_widths": (4, 8, 16)}),   # narrower
    ModelConfig(**{**TINY.to_dict(), "widths": (8, 16, 32, 72)}),    # other encoder widths
    ModelConfig(**{**TINY.to_dict(), "ca_reduction": 4}),
])
def test_only_the_veil_head_and_wider_mspam_can_be_grown(want):
    assert not growable(TINY, want)
    with pytest.raises(ConfigError, match="cannot grow"):
        grow_network(_trained_like(), want)


def test_veil_and_wider_mspam_together():
    want = ModelConfig(**{**WIDER.to_dict(), "veil": True})
    assert growable(TINY, want)
    net = _trained_like()
    grown = grow_network(net, want).eval()
    x = torch.rand(1, 3, 40, 40)
    with torch.no_grad():
        torch.testing.assert_close(grown(x).derained, net(x).derained, rtol=0, atol=1e-5)


def test_a_finetune_with_wider_mspam_starts_from_the_init(tmp_path: Path):
    init = save_checkpoint(tmp_path / "tiny.pt", _trained_like(2))
    data = write_pairs(tmp_path / "pairs", 2)
    cfg = TrainConfig(model=WIDER.to_dict(), stage="derain", init=str(init), data=(str(data),),
                      val_data=str(data), out_dir=str(tmp_path / "run"), w_embedding=0.0)
    net = _init_network(cfg)
    assert net.config == WIDER
    x = torch.rand(1, 3, 40, 48)
    with torch.no_grad():
        torch.testing.assert_close(net.infer(x), _trained_like(2).infer(x), rtol=0, atol=1e-5)
