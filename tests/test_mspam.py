"""MSPAM (thesis Eqs. 3-4 to 3-6): maps in [0, 1], shapes, gating, dilations."""

from __future__ import annotations

import torch

from edgederain.model import MSPAM, build_model


def test_mspam_gates_the_encoder_feature_with_a_one_channel_map():
    torch.manual_seed(0)
    m = MSPAM(16, 8)
    fe, fd = torch.randn(2, 16, 20, 24), torch.randn(2, 16, 20, 24)
    out, att = m(fe, fd)
    assert att.shape == (2, 1, 20, 24)
    assert float(att.min()) >= 0.0 and float(att.max()) <= 1.0
    torch.testing.assert_close(out, fe * att)
    assert [b.dilation for b in m.branches] == [(3, 3), (5, 5), (7, 7)]
    assert m.fuse.in_channels == 4 * 8


def test_network_attention_maps_are_probabilities_at_three_scales():
    net = build_model("thesis").eval()
    with torch.no_grad():
        out = net(torch.rand(1, 3, 64, 96))
    assert [tuple(a.shape) for a in out.attention] == [(1, 1, 64, 96), (1, 1, 32, 48), (1, 1, 16, 24)]
    for a in out.attention:
        assert float(a.min()) >= 0.0 and float(a.max()) <= 1.0


def test_split_fuse_equals_the_concatenated_1x1_conv():
    """Eq. 3-6 as written: one 1x1 conv over ReLU of the 4k-channel concatenation."""
    torch.manual_seed(3)
    m = MSPAM(16, 8).eval()
    f_enc, f_dec = torch.randn(2, 16, 21, 34), torch.randn(2, 16, 21, 34)
    with torch.no_grad():
        out, att = m(f_enc, f_dec)
        fm = m.enc_conv(f_enc) + m.dec_conv(f_dec)
        feats = torch.cat([fm, *(b(fm) for b in m.branches)], dim=1)
        want = torch.sigmoid(m.fuse(torch.relu(feats)))
    torch.testing.assert_close(att, want, rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(out, f_enc * want, rtol=1e-5, atol=1e-6)
