"""Export to ONNX FP32: the graph, the contract, dynamic shapes, gates and broken inputs."""

from __future__ import annotations

import json

import numpy as np
import onnx
import pytest
import torch

from edgederain.contract import IOContract
from edgederain.errors import CheckpointError, ContractError, ExportError
from edgederain.export import ExportConfig, Gates, attach_contract, export_onnx, read_contract
from edgederain.export.parity import OnnxRunner, psnr_between, synthetic_frames
from edgederain.train.checkpoint import load_derain_model, save_checkpoint, sha256_of
from export_fixtures import checkpoint, tiny_fp32, workdir


def test_fp32_file_is_one_self_contained_graph():
    path, result = tiny_fp32()
    assert path.is_file() and result.passed
    assert not list(path.parent.glob(path.name + ".data")) and not path.with_suffix(".data").exists()
    model = onnx.load(str(path))
    onnx.checker.check_model(model, full_check=True)
    assert all(t.data_location != onnx.TensorProto.EXTERNAL for t in model.graph.initializer)
    ops = {n.op_type for n in model.graph.node}
    assert {"Pad", "Slice", "Conv"} <= ops  # in-graph pad/crop, RLCN as convs
    assert "AveragePool" not in ops
    assert [o.version for o in model.opset_import if o.domain in ("", "ai.onnx")] == [18]
    dims = [d.dim_param or d.dim_value for d in model.graph.input[0].type.tensor_type.shape.dim]
    assert dims == ["batch", 3, "height", "width"]


def test_contract_records_checkpoint_versions_and_parity():
    path, result = tiny_fp32()
    c = read_contract(path)
    assert c == result.contract
    assert c.precision == "fp32" and c.opset == 18 and c.size_multiple == 8
    assert c.checkpoint_sha256 == sha256_of(checkpoint("tiny"))
    assert c.model_config == load_derain_model(checkpoint("tiny"))[0].config.to_dict()
    assert {"torch", "onnx", "onnxruntime", "edgederain"} <= set(c.versions)
    gate = c.parity["fp32_vs_pytorch"]
    assert gate["passed"] and gate["summary"]["threshold_db"] == 60.0
    assert float(gate["summary"]["psnr_db"]) >= 60.0
    assert gate["extreme_inputs"]["nan_count"] == 0
    assert "synthetic_1x101x77" in c.parity["inputs"]
    json.dumps(c.to_dict(), allow_nan=False)  # strict JSON, no Infinity/NaN literals


@pytest.mark.parametrize("shape", [(1, 96, 96), (2, 96, 96), (1, 101, 77), (2, 320, 480), (1, 720, 1280)])
def test_dynamic_shapes_match_pytorch(shape):
    path, _ = tiny_fp32()
    net, _ = load_derain_model(checkpoint("tiny"))
    x = synthetic_frames(*shape, seed=3)
    got = OnnxRunner(path)(x)
    with torch.inference_mode():
        want = net.infer(torch.from_numpy(x)).numpy()
    assert got.shape == x.shape
    assert psnr_between(want, got) >= 60.0
    assert np.abs(want - got).max() < 5e-3


def test_static_size_and_fixed_batch(tmp_path):
    config = ExportConfig(static_size=(64, 96), batch=1, simplify=False)
    result = export_onnx(checkpoint("tiny"), tmp_path / "static.onnx", config=config)
    model = onnx.load(str(result.path))
    dims = [d.dim_param or d.dim_value for d in model.graph.input[0].type.tensor_type.shape.dim]
    assert dims == [1, 3, 64, 96]
    assert result.contract.fixed_size == (64, 96) and result.contract.fixed_batch == 1
    assert OnnxRunner(result.path)(synthetic_frames(1, 64, 96)).shape == (1, 3, 64, 96)


def test_failed_gate_refuses_to_write(tmp_path):
    out = tmp_path / "refused.onnx"
    config = ExportConfig(gates=Gates(fp32_vs_torch_db=1000.0), simplify=False)
    with pytest.raises(ExportError, match="fp32_vs_pytorch failed.*not written"):
        export_onnx(checkpoint("tiny"), out, config=config)
    assert not out.exists()


def test_missing_checkpoint(tmp_path):
    with pytest.raises(CheckpointError, match="not found"):
        export_onnx(tmp_path / "nope.pt", tmp_path / "m.onnx")


def test_wrong_file_type(tmp_path):
    bogus = tmp_path / "model.pt"
    bogus.write_text("this is not a checkpoint")
    with pytest.raises(CheckpointError, match="not a readable PyTorch checkpoint"):
        export_onnx(bogus, tmp_path / "m.onnx")


def test_unknown_variant(tmp_path):
    ckpt = torch.load(checkpoint("tiny"), weights_only=False)
    ckpt["model_config"] = {**ckpt["model_config"], "variant": "transformer"}
    bad = tmp_path / "odd.pt"
    torch.save(ckpt, bad)
    with pytest.raises(CheckpointError, match="unknown model"):
        export_onnx(bad, tmp_path / "m.onnx")


def test_output_must_be_onnx_in_existing_folder(tmp_path):
    with pytest.raises(ExportError, match=r"\.onnx"):
        export_onnx(checkpoint("tiny"), tmp_path / "m.txt")
    with pytest.raises(ExportError, match="does not exist"):
        export_onnx(checkpoint("tiny"), tmp_path / "missing" / "m.onnx")


def test_dynamo_below_opset_18_is_refused_with_the_alternative(tmp_path):
    with pytest.raises(ExportError, match="torchscript"):
        export_onnx(checkpoint("tiny"), tmp_path / "m.onnx", config=ExportConfig(opset=17))


def test_int8_needs_calibration_data():
    with pytest.raises(ExportError, match="--calib-data"):
        ExportConfig(precision="int8")


def test_attach_contract_to_a_hand_built_graph(tmp_path):
    from onnx import TensorProto, helper

    x = helper.make_tensor_value_info("image", TensorProto.FLOAT, ["batch", 3, "height", "width"])
    y = helper.make_tensor_value_info("derained", TensorProto.FLOAT, ["batch", 3, "height", "width"])
    graph = helper.make_graph([helper.make_node("Identity", ["image"], ["derained"])], "g", [x], [y])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)])
    with pytest.raises(ContractError, match="carries no edgederain contract"):
        read_contract(model)
    attach_contract(model, IOContract(precision="fp32"), output=tmp_path / "id.onnx")
    attach_contract(tmp_path / "id.onnx", IOContract(precision="fp16"), output=tmp_path / "id.onnx")
    assert read_contract(tmp_path / "id.onnx").precision == "fp16"
    assert sum(p.key == "edgederain.contract" for p in onnx.load(str(tmp_path / "id.onnx")).metadata_props) == 1
    with pytest.raises(ContractError, match="graph has inputs"):
        attach_contract(model, IOContract(input_name="rgb"))
