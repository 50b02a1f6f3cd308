"""IOContract: JSON round trip, validation, schema versions, metadata helpers."""

from __future__ import annotations

import json

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
