"""DerainNet, its variants and presets: parameter counts, shapes, gradients, padding."""

from __future__ import annotations

import pytest
import torch

from edgederain.errors import ConfigError
from edgederain.model import PRESETS, DerainNet, ModelConfig, build_model, get_preset
from edgederain.model.summary import conv_macs, count_parameters

THESIS_PARAMS = 2_883_000


def test_thesis_preset_within_two_percent_of_the_thesis_count():
    n = count_parameters(build_model("thesis"))
    assert abs(n - THESIS_PARAMS) / THESIS_PARAMS < 0.02
    assert n == 2_877_840  # docs/model.md#parameter-count: k = 32/48/64, CA in all ten RBs


def test_k32_and_lstm_counts_match_the_spec_arithmetic():
    single = count_parameters(build_model("thesis"))
    assert count_parameters(build_model("thesis-k32")) == 2_824_704  # docs/model.md#parameter-count
    # Variant R adds four ConvLSTMs (2C -> 4C 3x3 convs) and 3 more input-conv channels.
    lstm_extra = sum(2 * c * 4 * c * 9 + 4 * c for c in (32, 64, 128, 256))
    assert lstm_extra == 6_268_800
    input_extra = 3 * 32 * 9
    assert count_parameters(build_model("thesis-lstm")) == single + lstm_extra + input_extra


def _two_unlike_images(shape: tuple[int, ...]) -> torch.Tensor:
    """A batch whose images differ in structure: i.i.d. noise, then smooth blobs, alternating.

    Scaling or shifting one image would not do: the input InstanceNorm and RLCN normalise
    those differences away and the network would see the same image twice.
    """
    n, c, h, w = shape
    x = torch.rand(*shape)
    blobs = torch.rand(n, c, max(2, h // 16), max(2, w // 16))
    smooth = torch.nn.functional.interpolate(blobs, size=(h, w), mode="bilinear", align_corners=False)
    x[1::2] = smooth[1::2]
    return x


def _check_forward_backward(name: str, shape: tuple[int, ...]) -> None:
    """Shapes of every output, and a finite, non-zero gradient for every parameter.

    The batch holds two unlike images, and that is what makes the gradient check hold on any
    CPU. In training mode BatchNorm normalises each channel over the batch, so the per-image
    channel means that a channel-attention squeeze sees add up to N * beta = 0 at
    initialisation. With one image they are 0 up to rounding: the squeeze's pre-activations
    were about 1e-9 or exactly 0 and the CPU's rounding decided which ReLUs were dead (the
    ``tiny`` preset has one squeeze unit per block). With two images, the squeeze's
    pre-activations (bias 0 at initialisation) are opposite in sign for the two images, so
    every unit is alive for one of them (by 5e-5 or more for these presets and sizes, four
    orders of magnitude above the rounding).
    """
    n, _, h, w = shape
    assert n >= 2, "the gradient check needs two unlike images (see the docstring)"
    torch.manual_seed(0)
    net = build_model(name)
    x = _two_unlike_images(shape)
    out = net(x)
    assert out.derained.shape == x.shape
    assert out.rain.shape == x.shape
    widths = net.config.widths
    assert out.embedding.shape == (n, widths[-1], -(-h // 8), -(-w // 8))
    for s, att in enumerate(out.attention):
        assert att.shape == (n, 1, -(-h // 2**s), -(-w // 2**s))
    assert len(out.steps) == net.config.iterations
    loss = out.derained.mean() + out.embedding.mean() + sum(a.mean() for a in out.attention)
    loss.backward()
    params = dict(net.named_parameters())
    assert [k for k, p in params.items() if p.grad is None] == []
    assert [k for k, p in params.items() if not torch.isfinite(p.grad).all()] == []
    assert [k for k, p in params.items() if not p.grad.abs().sum() > 0] == []


@pytest.mark.parametrize("name", ["thesis", "thesis-lstm", "tiny", "tiny-lstm"])
@pytest.mark.parametrize("shape", [(2, 3, 64, 64), (2, 3, 69, 53)])
def test_forward_backward_small_and_odd_sizes(name, shape):
    _check_forward_backward(name, shape)


@pytest.mark.parametrize("name", ["thesis", "tiny-lstm"])
def test_forward_backward_batch_two_at_480x320(name):
    _check_forward_backward(name, (2, 3, 320, 480))


@pytest.mark.slow
def test_forward_backward_full_lstm_at_480x320():
    _check_forward_backward("thesis-lstm", (2, 3, 320, 480))


def test_infer_returns_clamped_image_of_input_shape():
    net = build_model("tiny").eval()
    x = torch.rand(2, 3, 37, 50)
    with torch.no_grad():
        y = net.infer(x)
    assert y.shape == x.shape
    assert float(y.min()) >= 0.0 and float(y.max()) <= 1.0


def test_padding_is_cropped_back_and_does_not_leak_into_the_image():
    """The derained output of the valid region equals the output on an already padded input."""
    torch.manual_seed(1)
    net = build_model("tiny").eval()
    x = torch.rand(1, 3, 45, 61)
    padded = torch.nn.functional.pad(x, (0, 3, 0, 3), mode="reflect")
    with torch.no_grad():
        a = net.infer(x)
        b = net.infer(padded)[..., :45, :61]
    torch.testing.assert_close(a, b)


def test_too_small_input_raises_with_the_minimum():
    with pytest.raises(ValueError, match="at least 8x8"):
        build_model("tiny")(torch.rand(1, 3, 7, 20))


def test_lstm_iterations_are_distinct_and_feed_back():
    torch.manual_seed(0)
    net = build_model("tiny-lstm").eval()
    with torch.no_grad():
        out = net(torch.rand(1, 3, 32, 32))
    assert len(out.steps) == 3
    assert not torch.allclose(out.steps[0].rain, out.steps[-1].rain)
    assert torch.equal(out.rain, out.steps[-1].rain)


def test_config_round_trip_and_rebuild_from_config_alone():
    for name, cfg in PRESETS.items():
        again = ModelConfig.from_dict(cfg.to_dict())
        assert again == cfg, name
    a = build_model("tiny")
    b = DerainNet(ModelConfig.from_dict(a.config.to_dict()))
    b.load_state_dict(a.state_dict())
    x = torch.rand(1, 3, 24, 24)
    a.eval(), b.eval()
    with torch.no_grad():
        torch.testing.assert_close(a.infer(x), b.infer(x))


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"variant": "recurrent"}, "variant"),
        ({"mspam_widths": (8, 8)}, "mspam_widths"),
        ({"rlcn_window": 8}, "rlcn_window"),
        ({"iterations": 6}, "lstm"),
        ({"widths": (16,)}, "widths"),
    ],
)
def test_invalid_configs_are_refused(kwargs, match):
    with pytest.raises(ConfigError, match=match):
        ModelConfig(**kwargs)


def test_unknown_config_keys_and_presets_are_errors():
    with pytest.raises(ConfigError, match="unknown model config keys"):
        ModelConfig.from_dict({"variant": "single", "width": [8, 16]})
    with pytest.raises(ConfigError, match="thesis"):
        get_preset("thesys")
    with pytest.raises(Exception):
        get_preset("thesis").variant = "lstm"  # frozen


def test_mac_count_at_480x320_is_near_the_spec():
    macs, _ = conv_macs(build_model("thesis-k32"), 320, 480)
    assert abs(macs / 1e9 - 48.2) / 48.2 < 0.05  # docs/model.md#mac-counts (k = 32/32/64)
