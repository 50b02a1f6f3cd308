"""Rain autoencoder and the transfer of its decoder into DerainNet."""

from __future__ import annotations

import torch

from edgederain.model import RainAutoencoder, build_model, get_preset, transfer_decoder


def test_autoencoder_shapes_and_bottleneck():
    cfg = get_preset("tiny")
    ae = RainAutoencoder(cfg)
    r = torch.rand(2, 3, 32, 48) * 4 - 2
    recon, z = ae(r)
    assert recon.shape == r.shape
    assert z.shape == (2, cfg.widths[-1], 4, 6)
    assert not any(n.startswith("decoder.") and ".mspam." in n for n, _ in ae.named_parameters())


def test_transfer_copies_exactly_the_decoder_main_path_and_head():
    cfg = get_preset("tiny")
    torch.manual_seed(0)
    ae = RainAutoencoder(cfg)
    with torch.no_grad():  # make every AE tensor distinguishable from a fresh init
        for p in ae.parameters():
            p.add_(torch.randn_like(p))
        for name, b in ae.named_buffers():
            if b.is_floating_point():
                b.add_(1.5)
    net = build_model(cfg)
    before = {k: v.clone() for k, v in net.state_dict().items()}
    copied = transfer_decoder(ae, net)

    ae_sd, net_sd = ae.state_dict(), net.state_dict()
    expected = sorted(k for k in ae_sd if k.startswith(("decoder.", "head.")))
    assert sorted(copied) == expected
    assert all(".up." in k or ".rb_a." in k or k.startswith("head.") for k in copied)
    for k in copied:
        assert torch.equal(net_sd[k], ae_sd[k]), k
    untouched = [k for k in net_sd if k not in copied]
    assert any(".mspam." in k for k in untouched) and any(".rb_b." in k for k in untouched)
    assert any(k.startswith("encoder.") for k in untouched)
    for k in untouched:
        assert torch.equal(net_sd[k], before[k]), k


def test_transfer_refuses_mismatched_widths():
    ae = RainAutoencoder(get_preset("tiny"))
    net = build_model("thesis")
    try:
        transfer_decoder(ae, net)
    except ValueError as exc:
        assert "widths" in str(exc)
    else:
        raise AssertionError("transfer between different widths must fail")


def test_transfer_works_for_the_lstm_variant():
    ae = RainAutoencoder(get_preset("tiny-lstm"))
    net = build_model("tiny-lstm")
    copied = transfer_decoder(ae, net)
    assert copied and all(torch.equal(net.state_dict()[k], ae.state_dict()[k]) for k in copied)
