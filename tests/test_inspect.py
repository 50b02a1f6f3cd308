"""``edgederain inspect``: contract, inputs/outputs, opset, IR version and op counts."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from edgederain.cli import app
from edgederain.export.inspect_model import inspect_model
from export_fixtures import tiny_fp32

runner = CliRunner()


def test_inspect_prints_contract_io_and_ops():
    path, _ = tiny_fp32()
    out = runner.invoke(app, ["inspect", str(path)])
    assert out.exit_code == 0, out.output
    assert "input image: float32 ['batch', 3, 'height', 'width']" in out.output
    assert "output derained: float32" in out.output
    assert "opsets {'ai.onnx': 18}" in out.output and "IR " in out.output
    assert "Conv " in out.output and '"precision": "fp32"' in out.output


def test_inspect_json_matches_the_file():
    path, result = tiny_fp32()
    out = runner.invoke(app, ["inspect", str(path), "--json"])
    data = json.loads(out.output)
    assert data["contract"]["checkpoint_sha256"] == result.contract.checkpoint_sha256
    assert data["nodes"] == result.nodes and sum(data["op_counts"].values()) == result.nodes
    assert data["opsets"] == {"ai.onnx": 18}


def test_model_without_contract_is_reported(tmp_path):
    import onnx

    path, _ = tiny_fp32()
    bare = onnx.load(str(path))
    del bare.metadata_props[:]
    onnx.save(bare, str(tmp_path / "bare.onnx"))
    summary = inspect_model(tmp_path / "bare.onnx")
    assert summary.contract is None and "attach_contract" in summary.contract_error
    out = runner.invoke(app, ["inspect", str(tmp_path / "bare.onnx")])
    assert out.exit_code == 0 and "contract: none" in out.output


def test_not_an_onnx_file(tmp_path):
    (tmp_path / "x.onnx").write_text("hello")
    out = runner.invoke(app, ["inspect", str(tmp_path / "x.onnx")])
    assert out.exit_code == 2 and "not an ONNX model" in out.output
    out = runner.invoke(app, ["inspect", str(tmp_path / "missing.onnx")])
    assert out.exit_code == 2 and "no such file" in out.output
