"""IOContract: JSON round trip, validation, schema versions, metadata helpers."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest

from edgederain.contract import METADATA_KEY, IOContract
from edgederain.errors import ContractError


def _contract(**kw):
    base = dict(
        precision="fp16",
        variant="single",
        model_config={"variant": "single", "widths": [32, 64, 128, 256]},
        checkpoint_sha256="ab" * 32,
        opset=18,
        versions={"torch": "2.13.0", "onnx": "1.23.2"},
        parity={"psnr_db": 61.2, "max_abs": 1e-3, "passed": True},
    )
    base.update(kw)
    return IOContract(**base)


def test_json_round_trip_is_lossless():
    c = _contract(input_shape=(1, 3, 320, 480), calibration={"method": "minmax", "frames": 32})
    again = IOContract.from_json(c.to_json())
    assert again == c
    assert again.fixed_size == (320, 480) and again.fixed_batch == 1
    assert IOContract().fixed_size is None and IOContract().fixed_batch is None


def test_metadata_round_trip_and_missing_contract():
    c = _contract()
    props = c.to_metadata()
    assert list(props) == [METADATA_KEY]
    assert IOContract.from_metadata(props) == c
    with pytest.raises(ContractError, match="no edgederain contract"):
        IOContract.from_metadata({"other": "1"}, source="x.onnx")


@pytest.mark.parametrize("version", [2, 0, "1", None])
def test_unknown_schema_versions_are_rejected(version):
    d = _contract().to_dict()
    d["schema_version"] = version
    with pytest.raises(ContractError, match="schema_version"):
        IOContract.from_dict(d)


@pytest.mark.parametrize(
    "field, value, match",
    [
        ("precision", "bf16", "precision"),
        ("layout", "NHWC", "layout"),
        ("color", "BGR", "color"),
        ("value_range", [0, 255], "value_range"),
        ("input_shape", ["batch", 1, "height", "width"], "input_shape"),
        ("input_shape", ["batch", 3, 0, "width"], "input_shape"),
        ("size_multiple", 0, "size_multiple"),
        ("checkpoint_sha256", "xyz", "sha256"),
        ("output_name", "image", "distinct"),
    ],
)
def test_invalid_fields_are_rejected(field, value, match):
    d = _contract().to_dict()
    d[field] = value
    with pytest.raises(ContractError, match=match):
        IOContract.from_dict(d)


def test_unknown_fields_and_bad_json_are_rejected():
    d = _contract().to_dict()
    d["colour"] = "RGB"
    with pytest.raises(ContractError, match="unknown fields"):
        IOContract.from_dict(d)
    with pytest.raises(ContractError, match="not valid JSON"):
        IOContract.from_json("{nope")
    with pytest.raises(ContractError, match="JSON object"):
        IOContract.from_json(json.dumps([1, 2]))


# --- strict parsing: every malformed field is a ContractError naming the field ----------------

_VALID = _contract().to_dict()


def _with(**changes):
    d = dict(_VALID)
    d.update(changes)
    return json.dumps(d)


@pytest.mark.parametrize(
    "text, match",
    [
        (_with(value_range={"": None}), "value_range must be an array"),
        (_with(value_range="01"), "value_range must be an array"),
        (_with(value_range=[0, "1"]), "value_range must be an array of two numbers"),
        (_with(value_range=[False, True]), "value_range must be an array of two numbers"),
        (_with(value_range=[0, 1, 2]), "value_range must be an array of two numbers"),
        (_with(value_range=[0, float("nan")]), r"value_range must be \[0, 1\]"),
        (_with(schema_version=True), "schema_version true is not supported.*supported: 1"),
        (_with(schema_version=1.0), "schema_version 1.0 is not supported.*supported: 1"),
        (_with(min_size=True), "min_size must be an integer, got true"),
        (_with(min_size=8.0), "min_size must be an integer, got 8.0"),
        (_with(size_multiple="8"), 'size_multiple must be an integer, got "8"'),
        (_with(size_multiple=2**31), "size_multiple must be an integer from 1 to"),
        (_with(opset=True), "opset must be an integer"),
        (_with(opset=18.5), "opset must be an integer"),
        (_with(model_config=5), "model_config must be an object, got 5"),
        (_with(model_config=None), "model_config must be an object, got null"),
        (_with(model_config=[1]), "model_config must be an object"),
        (_with(checkpoint_sha256=list("ab" * 32)), "checkpoint_sha256 must be a string, got an array"),
        (_with(checkpoint_sha256="AB" * 32), "checkpoint_sha256 must be 64 lowercase hex"),
        (_with(input_shape=["batch", 3.0, "height", "width"]), r"input_shape .*3.0"),
        (_with(input_shape=[True, 3, "height", "width"]), r"input_shape\[0\]"),
        (_with(input_shape=["batch", 3, "", "width"]), r"input_shape\[2\] must be a non-empty string"),
        (_with(input_shape="batch,3,h,w"), "input_shape must be an array"),
        (_with(input_name=7), "input_name must be a string, got 7"),
        (_with(output_name=""), "output_name must be a non-empty string"),
        (_with(precision=["fp16"]), "precision must be a string"),
        (_with(variant=None), "variant must be a string, got null"),
        (_with(versions={"torch": 2.13}), "versions.torch must be a string, got 2.13"),
        (_with(versions=["torch"]), "versions must be an object"),
        (_with(created=20261125), "created must be a string"),
        (_with(calibration=[]), "calibration must be an object or null"),
        (_with(parity="61 dB"), "parity must be an object or null"),
        (_with(variant="x" * 5000), "variant is 5000 characters long"),
        (_with(parity={"inputs": list(range(5000))}), r"parity.inputs has 5000 entries"),
        (_with(model_config={"k" * 5000: 1}), "a key of model_config is 5000 characters long"),
        (_with(variant="\ud800"), "variant is not valid Unicode"),
        ('{"schema_version": 1, "precision": "fp16", "precision": "int8"}', 'key "precision" appears more than once'),
        ('{"schema_version": 1, "opset": ' + "9" * 5000 + "}", "not valid JSON.*digits"),
        ("[" * 100_000, "nested deeper than 32 levels"),
        ('{"a":' * 100_000, "nested deeper than 32 levels"),
        (_with(parity=json.loads('{"a":' * 32 + "1" + "}" * 32)), "nested deeper than 32 levels"),
        (" " * (2**20 + 1), "characters long"),
        (b"\xff{}", "not UTF-8"),
        (None, "must be JSON text"),
    ],
)
def test_malformed_contracts_are_contract_errors_naming_the_field(text, match):
    with pytest.raises(ContractError, match=match):
        IOContract.from_json(text)


def test_nesting_up_to_the_limit_is_accepted():
    deepest = json.loads('{"a":' * 31 + "1" + "}" * 31)  # the contract, then parity's 31 levels: 32
    assert IOContract.from_json(_with(parity=deepest)).parity == deepest


def test_numbers_of_either_json_kind_and_json_values_in_free_form_fields_are_accepted():
    c = IOContract.from_json(_with(value_range=[0, 1], parity={"psnr_db": 61, "nan": float("nan"), "l": [None, True]}))
    assert c.value_range == (0.0, 1.0) and all(type(v) is float for v in c.value_range)
    assert c.parity["psnr_db"] == 61 and c.parity["l"] == [None, True]


@pytest.mark.parametrize(
    "changes, match",
    [
        (dict(min_size=True), "min_size must be an integer"),
        (dict(value_range="01"), "value_range must be an array"),
        (dict(value_range={"": None}), "value_range must be an array"),
        (dict(model_config=5), "model_config must be an object"),
        (dict(parity={"x": object()}), "parity.x must hold only JSON values"),
        (dict(calibration={1: "a"}), "a key of calibration must be a string"),
        (dict(schema_version=True), "schema_version true"),
    ],
)
def test_the_constructor_and_replace_are_as_strict_as_the_parser(changes, match):
    with pytest.raises(ContractError, match=match):
        IOContract(**changes)
    with pytest.raises(ContractError, match=match):
        _contract().replace(**changes)


def test_a_cyclic_free_form_field_is_refused_not_recursed_into():
    cyclic: dict = {}
    cyclic["self"] = cyclic
    with pytest.raises(ContractError, match="nested deeper"):
        IOContract(parity=cyclic)


def test_unknown_fields_are_listed_with_the_known_ones():
    d = dict(_VALID, colour="RGB", **{"": 1})
    with pytest.raises(ContractError, match=r"unknown fields '', 'colour' \(known: calibration, checkpoint_sha256"):
        IOContract.from_dict(d)
    with pytest.raises(ContractError, match="unknown fields 3"):
        IOContract.from_dict({**_VALID, 3: "x"})
    with pytest.raises(ContractError, match=r"unknown fields 'kkkk\w{76}'\.\.\. \(known"):
        IOContract.from_dict({**_VALID, "k" * 5000: 1})


# --- contracts in model files: errors name the file; what we ship keeps loading -------------

_WEIGHTS = sorted((Path(__file__).resolve().parents[1] / "edgederain" / "weights").glob("*.onnx"))


@pytest.mark.parametrize("path", _WEIGHTS, ids=lambda p: p.name)
def test_packaged_model_contracts_load_and_round_trip(path):
    ort = pytest.importorskip("onnxruntime")
    opts = ort.SessionOptions()
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    sess = ort.InferenceSession(str(path), sess_options=opts, providers=["CPUExecutionProvider"])
    props = sess.get_modelmeta().custom_metadata_map
    c = IOContract.from_metadata(props, source=str(path))
    assert c.precision == path.stem.split("_")[-1] and c.checkpoint_sha256 and c.parity
    assert IOContract.from_json(c.to_json()) == c
    assert json.loads(c.to_json()) == json.loads(props[METADATA_KEY])


def test_packaged_models_are_present():
    assert {p.stem for p in _WEIGHTS} == {"derain_fp32", "derain_fp16", "derain_int8"}


def _model_with_contract_text(path: Path, text: str) -> Path:
    onnx = pytest.importorskip("onnx")
    from runtime_fixtures import write_blur_model

    write_blur_model(path, contract=None)
    model = onnx.load(str(path))
    onnx.helper.set_model_props(model, {METADATA_KEY: text})
    onnx.save(model, str(path))
    return path


_BAD_FILES = {
    "not-json": ("{nope", "not valid JSON"),
    "value-range": ('{"schema_version": 1, "value_range": {"": null}}', "value_range must be an array"),
    "deep": ("[" * 5000, "nested deeper"),
}


@pytest.mark.parametrize("case", sorted(_BAD_FILES))
def test_bad_contract_in_a_model_file_names_the_file(tmp_path, case):
    pytest.importorskip("onnxruntime")
    from edgederain.export.inspect_model import inspect_model
    from edgederain.runtime import DerainSession

    text, match = _BAD_FILES[case]
    path = _model_with_contract_text(tmp_path / f"{case}.onnx", text)
    with pytest.raises(ContractError, match=re.escape(str(path)) + ".*" + match):
        DerainSession(path)
    summary = inspect_model(path)
    assert summary.contract is None and str(path) in summary.contract_error and re.search(match, summary.contract_error)


def test_bad_contract_exits_2_from_derain_inspect_and_verify(tmp_path):
    pytest.importorskip("onnxruntime")
    from PIL import Image
    from typer.testing import CliRunner

    from edgederain.cli import app

    path = _model_with_contract_text(tmp_path / "bad.onnx", _BAD_FILES["value-range"][0])
    frame = tmp_path / "in.png"
    Image.fromarray(np.zeros((16, 16, 3), np.uint8)).save(frame)
    pairs = tmp_path / "pairs"
    for sub in ("rainy", "clean"):
        (pairs / sub).mkdir(parents=True)
        Image.fromarray(np.zeros((16, 16, 3), np.uint8)).save(pairs / sub / "1.png")
    runner = CliRunner()
    derain = runner.invoke(app, ["derain", str(frame), "-o", str(tmp_path / "out.png"), "-m", str(path)])
    assert derain.exit_code == 2 and "value_range must be an array" in derain.output and str(path) in derain.output
    inspect = runner.invoke(app, ["inspect", str(path)])
    assert inspect.exit_code == 0 and "value_range must be an array" in inspect.output
    verify = runner.invoke(app, ["verify", str(path), "--reference", str(path), "--data", str(pairs)])
    assert verify.exit_code == 2 and not isinstance(verify.exception, ValueError), verify.output


def test_metadata_errors_name_the_source():
    with pytest.raises(ContractError, match=r"^cam\.onnx: model contract is not valid JSON"):
        IOContract.from_metadata({METADATA_KEY: "{nope"}, source="cam.onnx")
    with pytest.raises(ContractError, match=r"^cam\.onnx: invalid model contract: min_size"):
        IOContract.from_metadata({METADATA_KEY: _with(min_size=True)}, source="cam.onnx")
