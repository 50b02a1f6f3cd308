"""The exported graph's form: spatial means as GlobalAveragePool, and sub-pixel upsampling.

Both are exact re-expressions of the PyTorch network; these tests check they are applied where
they should be, left alone where they should not, and give the network's outputs.
"""

from __future__ import annotations

from collections import Counter

import numpy as np
import onnx
import pytest
import torch
from onnx import TensorProto, helper

from edgederain.calibration.quantize import QuantizeConfig, upsample_form
from edgederain.errors import ExportError
from edgederain.export import ExportConfig, export_onnx
from edgederain.export.onnx_export import InferenceWrapper, export_graph
from edgederain.onnxgraph.rewrite import global_average_pools
from edgederain.model.blocks import SubpixelUp, Up
from edgederain.export.parity import OnnxRunner, synthetic_frames
from edgederain.train.checkpoint import load_derain_model
from export_fixtures import checkpoint, tiny_fp32, write_images


def _reduce_graph(axes: list[int], keepdims: int, rank: int = 4) -> onnx.ModelProto:
    shape = ["n", 5, "h", "w"][:rank]
    axes_init = helper.make_tensor("axes", TensorProto.INT64, [len(axes)], axes)
    node = helper.make_node("ReduceMean", ["x", "axes"], ["m"], keepdims=keepdims, name="mean")
    out = helper.make_node("Mul", ["x", "m"] if keepdims else ["m", "m"], ["y"], name="use")
    graph = helper.make_graph(
        [node, out], "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, shape)],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, shape if keepdims else None)], [axes_init],
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)])


def test_spatial_mean_becomes_global_average_pool_with_equal_outputs():
    model = _reduce_graph([2, 3], keepdims=1)
    before = model.SerializeToString()
    assert global_average_pools(model) == 1
    node = next(n for n in model.graph.node if n.name == "mean")
    assert node.op_type == "GlobalAveragePool" and list(node.input) == ["x"] and not node.attribute
    assert not model.graph.initializer  # the axes constant is gone with its only user
    onnx.checker.check_model(model, full_check=True)
    x = np.random.default_rng(0).random((2, 5, 7, 9), dtype=np.float32)
    import onnxruntime as ort

    run = lambda m: ort.InferenceSession(m, providers=["CPUExecutionProvider"]).run(None, {"x": x})[0]  # noqa: E731
    np.testing.assert_allclose(run(model.SerializeToString()), run(before), rtol=1e-6, atol=1e-6)
    assert global_average_pools(model) == 0  # idempotent


@pytest.mark.parametrize("axes, keepdims, rank", [([2, 3], 0, 4), ([1, 2], 1, 4), ([3], 1, 4), ([2, 3], 1, 5),
                                                  ([-2, -1], 1, 3)])
def test_other_reductions_are_left_alone(axes, keepdims, rank):
    model = _reduce_graph(axes, keepdims, rank=rank) if rank != 5 else _rank5(axes)
    assert global_average_pools(model) == 0
    assert any(n.op_type == "ReduceMean" for n in model.graph.node)


def _rank5(axes):
    model = _reduce_graph(axes, 1)
    model.graph.input[0].type.tensor_type.shape.dim.add().dim_value = 2
    return model


def test_negative_axes_are_recognised():
    model = _reduce_graph([-2, -1], keepdims=1)
    assert global_average_pools(model) == 1


def _up_with_statistics(cin: int, cout: int, seed: int) -> Up:
    torch.manual_seed(seed)
    up = Up(cin, cout)
    with torch.no_grad():
        up.bn.running_mean.normal_(0, 0.5)
        up.bn.running_var.uniform_(0.5, 2.0)
        up.bn.weight.normal_(1, 0.3)
        up.bn.bias.normal_(0, 0.3)
        up.conv.bias.normal_(0, 0.3)
    return up.eval()


@pytest.mark.parametrize("size", [(1, 1), (2, 3), (7, 5), (16, 24)])
def test_subpixel_up_computes_the_same_function(size):
    up = _up_with_statistics(12, 8, seed=sum(size))
    x = torch.randn(2, 12, *size)
    with torch.no_grad():
        want, got = up(x), SubpixelUp(up)(x)
    assert got.shape == want.shape == (2, 8, 2 * size[0], 2 * size[1])
    torch.testing.assert_close(got, want, rtol=1e-5, atol=1e-5)


def test_subpixel_up_needs_eval_statistics():
    with pytest.raises(ValueError, match="eval-mode"):
        SubpixelUp(Up(4, 4).train())


def test_wrapper_rejects_an_unknown_upsampling():
    net, _ = load_derain_model(checkpoint("tiny"))
    with pytest.raises(ExportError, match="upsample must be one of"):
        InferenceWrapper(net, "bilinear")  # type: ignore[arg-type]
    with pytest.raises(ExportError, match="upsample must be one of"):
        ExportConfig(upsample="bilinear")  # type: ignore[arg-type]


def test_default_fp32_export_is_subpixel_without_reduce_mean():
    path, result = tiny_fp32()
    model = onnx.load(str(path))
    ops = Counter(n.op_type for n in model.graph.node)
    net, _ = load_derain_model(checkpoint("tiny"))
    attention = sum(1 for m in net.modules() if type(m).__name__ == "ChannelAttention")
    assert ops["GlobalAveragePool"] == attention > 0 and "ReduceMean" not in ops
    assert ops["DepthToSpace"] == len(net.decoder) and "Resize" not in ops
    assert result.contract.parity["upsample"] == "subpixel"
    assert net.decoder[0].up.__class__ is Up  # the checkpoint's network is not modified


def test_every_conv_weight_is_an_initializer():
    """Weights computed at run time (a Split or Slice of a constant) would be quantized as
    activations in INT8 and recomputed on every frame."""
    model = onnx.load(str(tiny_fp32()[0]))
    inits = {t.name for t in model.graph.initializer}
    convs = [n for n in model.graph.node if n.op_type == "Conv"]
    assert convs and all(n.input[1] in inits for n in convs)
    assert all(n.input[2] in inits for n in convs if len(n.input) > 2 and n.input[2])


def test_no_build_paths_in_node_metadata():
    from export_fixtures import REPO

    model = onnx.load(str(tiny_fp32()[0]))
    keys = {p.key for n in model.graph.node for p in n.metadata_props}
    assert "namespace" in keys and not keys & {"pkg.torch.onnx.stack_trace", "pkg.torch.onnx.fx_node"}
    assert not any(str(REPO) in p.value for n in model.graph.node for p in n.metadata_props)


def test_resize_and_subpixel_graphs_agree():
    net, _ = load_derain_model(checkpoint("tiny"))
    resize = export_graph(net, upsample="resize")
    assert Counter(n.op_type for n in resize.graph.node)["Resize"] == len(net.decoder)
    x = synthetic_frames(1, 101, 77, seed=5)
    a = OnnxRunner(resize.SerializeToString())(x)
    b = OnnxRunner(tiny_fp32()[0])(x)
    assert np.abs(a - b).max() < 1e-5


def test_int8_export_traces_resize_upsampling(tmp_path):
    write_images(tmp_path / "calib", 8, size=(48, 64))
    config = ExportConfig(precision="int8", calib_data=tmp_path / "calib", calib_crop=None,
                          quantize=QuantizeConfig(progress=False))
    result = export_onnx(checkpoint("tiny"), tmp_path / "int8.onnx", config=config)
    model = onnx.load(str(result.path))
    ops = Counter(n.op_type for n in model.graph.node)
    levels = len(load_derain_model(checkpoint("tiny"))[0].decoder)
    assert ops["Resize"] == levels and "DepthToSpace" not in ops and "ReduceMean" not in ops
    assert result.contract.calibration["upsample"] == "resize" == upsample_form(model)
    assert result.contract.parity["upsample"] == "resize"


def test_cli_quantize_of_a_subpixel_fp32_file_says_how_to_get_a_faster_int8(tmp_path):
    from typer.testing import CliRunner

    from edgederain.cli import app

    write_images(tmp_path / "calib", 8, size=(48, 64))
    out = CliRunner().invoke(app, ["quantize", str(tiny_fp32()[0]), "-o", str(tmp_path / "q.onnx"),
                                   "--calib-data", str(tmp_path / "calib"), "--calib-crop", "0"])
    assert out.exit_code == 0, out.output
    assert "upsamples as subpixel" in out.output and "--upsample resize" in out.output
    model = onnx.load(str(tmp_path / "q.onnx"))
    assert upsample_form(model) == "subpixel" and "ReduceMean" not in {n.op_type for n in model.graph.node}


def test_quantizing_an_older_graph_with_reduce_mean_rewrites_it_first(tmp_path):
    from edgederain.calibration.quantize import quantize_model
    from edgederain.calibration.reader import CalibrationFrames

    model = onnx.load(str(tiny_fp32()[0]))
    model.graph.initializer.append(helper.make_tensor("hw_axes", TensorProto.INT64, [2], [2, 3]))
    for node in model.graph.node:
        if node.op_type == "GlobalAveragePool":
            node.op_type = "ReduceMean"
            node.input.append("hw_axes")
            node.attribute.append(helper.make_attribute("keepdims", 1))
    assert sum(n.op_type == "ReduceMean" for n in model.graph.node) > 0
    write_images(tmp_path / "calib", 8, size=(48, 64))
    frames = CalibrationFrames.from_folder(tmp_path / "calib", max_frames=8, crop=None, min_frames=8)
    result = quantize_model(model, frames, config=QuantizeConfig(progress=False))
    assert "ReduceMean" not in result.op_counts and result.op_counts["GlobalAveragePool"] > 0
