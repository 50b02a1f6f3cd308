"""The veil head (``thesis-veil``): size, identity start, growth from a checkpoint, export."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from edgederain.errors import ConfigError
from edgederain.export import ExportConfig, export_onnx
from edgederain.export.parity import OnnxRunner, psnr_between, synthetic_frames
from edgederain.model import ModelConfig, build_model, get_preset
from edgederain.model.grow import growable
from edgederain.model.summary import conv_macs, count_parameters
from edgederain.train.checkpoint import load_derain_model, save_checkpoint
from edgederain.train.config import TrainConfig
from edgederain.train.loop import _init_network
from export_fixtures import write_pairs


def _active(name: str, seed: int = 0) -> torch.nn.Module:
    """A network of ``name`` whose veil head is no longer the identity."""
    torch.manual_seed(seed)
    net = build_model(name)
    with torch.no_grad():
        net.veil.fc2.weight.normal_(0.0, 0.05)
        net.veil.fc2.bias.normal_(0.0, 0.05)
    return net.eval()


def test_veil_head_adds_8422_parameters_to_thesis():
    extra = count_parameters(build_model("thesis-veil")) - count_parameters(build_model("thesis"))
    assert extra == (256 * 32 + 32) + (32 * 6 + 6) == 8_422


def test_lite_veil_is_lite_plus_a_4326_parameter_head_within_the_edge_mac_budget():
    lite_veil = build_model("lite-veil")
    extra = count_parameters(lite_veil) - count_parameters(build_model("lite"))
    assert extra == (128 * 32 + 32) + (32 * 6 + 6) == 4_326
    assert growable(get_preset("lite"), get_preset("lite-veil"))
    # the edge variant's budget: at least 4x fewer multiply-accumulates than thesis at 480 x 320
    lite_macs, _ = conv_macs(lite_veil, 320, 480)
    thesis_macs, _ = conv_macs(build_model("thesis"), 320, 480)
    assert 4 * lite_macs <= thesis_macs


def test_veil_head_needs_the_single_variant():
    with pytest.raises(ConfigError, match="veil"):
        ModelConfig(variant="lstm", iterations=2, veil=True)


def test_a_new_veil_head_is_the_identity():
    torch.manual_seed(0)
    plain = build_model("tiny").eval()
    veil = build_model("tiny-veil").eval()
    veil.load_state_dict(plain.state_dict(), strict=False)
    x = torch.rand(2, 3, 45, 61)
    with torch.no_grad():
        torch.testing.assert_close(veil(x).derained, plain(x).derained, rtol=0, atol=0)


def test_an_active_head_changes_the_output_smoothly_and_every_weight_learns():
    net = _active("tiny-veil").train()
    x = torch.rand(2, 3, 64, 80)
    out = net(x)
    plain = build_model("tiny")
    plain.load_state_dict({k: v for k, v in net.state_dict().items() if not k.startswith("veil.")})
    plain.train()
    delta = (out.derained - plain(x).derained).detach()
    assert float(delta.abs().mean()) > 1e-3
    # B = I - R returns in the rain output: derained + rain is the input
    torch.testing.assert_close(out.derained + out.rain, x, rtol=0, atol=1e-6)
    out.derained.mean().backward()
    grads = {k: p.grad for k, p in net.named_parameters() if k.startswith("veil.")}
    assert grads and all(g is not None and float(g.abs().sum()) > 0 for g in grads.values())


def test_a_veil_run_grows_the_head_onto_a_plain_checkpoint(tmp_path: Path):
    torch.manual_seed(3)
    init = save_checkpoint(tmp_path / "tiny.pt", build_model("tiny"))
    data = write_pairs(tmp_path / "pairs", 2)
    cfg = TrainConfig(model="tiny-veil", stage="derain", init=str(init), data=(str(data),), val_data=str(data),
                      out_dir=str(tmp_path / "run"), w_embedding=0.0)
    net = _init_network(cfg)
    assert net.config.veil and net.veil is not None
    plain, _ = load_derain_model(init)
    x = torch.rand(1, 3, 40, 48)
    with torch.no_grad():
        torch.testing.assert_close(net.infer(x), plain.infer(x), rtol=0, atol=0)
    # the other way round is refused: a veil checkpoint cannot start a plain run
    veil = save_checkpoint(tmp_path / "veil.pt", _active("tiny-veil"))
    with pytest.raises(ConfigError, match="preset"):
        _init_network(TrainConfig(**{**cfg.__dict__, "model": "tiny", "init": str(veil)}))


def test_veil_network_exports_with_dynamic_shapes(tmp_path: Path):
    ckpt = save_checkpoint(tmp_path / "veil.pt", _active("tiny-veil", seed=1))
    result = export_onnx(ckpt, tmp_path / "veil.onnx", config=ExportConfig())
    assert result.passed
    net, _ = load_derain_model(ckpt)
    for shape in [(1, 96, 96), (2, 101, 77), (1, 320, 480)]:
        x = synthetic_frames(*shape, seed=2)
        with torch.inference_mode():
            want = net.infer(torch.from_numpy(x)).numpy()
        got = OnnxRunner(result.path)(x)
        assert got.shape == x.shape
        assert psnr_between(want, got) >= 60.0, shape
    assert np.isfinite(got).all()


def test_int8_keeps_the_veil_head_in_float(tmp_path: Path):
    import onnx

    from edgederain.calibration.quantize import QuantizeConfig, quantize_model, quantized_convs
    from edgederain.calibration.reader import CalibrationFrames
    from edgederain.export.parity import compare_outputs
    from edgederain.onnxgraph.nodes import nodes_in_groups
    from export_fixtures import write_images

    ckpt = save_checkpoint(tmp_path / "veil.pt", _active("tiny-veil", seed=2))
    fp32 = onnx.load(str(export_onnx(ckpt, tmp_path / "veil.onnx", config=ExportConfig()).path))
    veil = set(nodes_in_groups(fp32, ["veil"]))
    assert {"Conv", "Resize"} <= {n.op_type for n in fp32.graph.node if n.name in veil}
    write_images(tmp_path / "calib", 8, size=(72, 88))
    frames = CalibrationFrames.from_folder(tmp_path / "calib", crop=64)
    model = quantize_model(fp32, frames, config=QuantizeConfig(progress=False)).model
    done, total = quantized_convs(model)
    kept = set(nodes_in_groups(fp32, ["rlcn", "veil"]))
    assert done == total - sum(1 for n in fp32.graph.node if n.name in kept and n.op_type == "Conv") > 60
    producer = {o: n.op_type for n in model.graph.node for o in n.output}
    for n in model.graph.node:
        if n.name in veil:  # float tensors in, no DequantizeLinear feeds the head's nodes
            assert all(producer.get(i) != "DequantizeLinear" for i in n.input[1:]), n.name
    x = synthetic_frames(1, 101, 77)
    check = compare_outputs(OnnxRunner(fp32.SerializeToString())(x), OnnxRunner(model.SerializeToString())(x),
                            threshold_db=30.0)
    assert check.passed, check
