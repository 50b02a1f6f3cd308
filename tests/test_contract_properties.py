"""Property-based tests of the contract parser: any input is a valid IOContract or a ContractError.

Hypothesis draws arbitrary JSON values, arbitrary text and bytes, valid contracts with one field
replaced, removed or added, and valid contract text with character edits. Whatever it draws,
``IOContract.from_json`` must either raise :class:`ContractError` or return a contract whose
fields have their documented types and that survives a JSON round trip. The atheris harness in
``tests/fuzz/`` explores the same property for longer.
"""

from __future__ import annotations

import dataclasses
import json

import pytest

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import example, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from edgederain.contract import MAX_DEPTH, PRECISIONS, IOContract  # noqa: E402
from edgederain.errors import ContractError  # noqa: E402

FAST = settings(max_examples=100, deadline=None)
FIELDS = tuple(f.name for f in dataclasses.fields(IOContract))

scalars = (
    st.none() | st.booleans() | st.integers() | st.integers(-3, 2**31)
    | st.floats() | st.text(max_size=12) | st.sampled_from(["NCHW", "RGB", "float32", "fp16", "batch", "ab" * 32])
)
json_values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=5)
    | st.dictionaries(st.sampled_from(FIELDS) | st.text(max_size=8), inner, max_size=5),
    max_leaves=10,
)

_BASE = IOContract(
    precision="int8", model_config={"variant": "single", "widths": [32, 64, 128, 256]},
    checkpoint_sha256="0f" * 32, opset=18, versions={"onnx": "1.23.2"}, created="2026-11-25T22:51:43+00:00",
    calibration={"method": "percentile", "percentile": 99.999, "keep_float": ["rlcn", "io"], "op_types": None},
    parity={"int8_vs_fp32": {"summary": {"psnr_db": 51.9, "passed": True, "threshold_db": "nan"}}},
)
VALID = [IOContract().to_dict(), _BASE.to_dict(), IOContract(input_shape=(1, 3, 320, 480)).to_dict()]


def _is_int(v) -> bool:
    return type(v) is int


def check_contract(c: IOContract) -> None:
    """What every accepted contract guarantees, whatever text it came from."""
    assert _is_int(c.schema_version) and c.schema_version == 1 and c.producer == "edgederain"
    assert c.precision in PRECISIONS and (c.layout, c.color, c.dtype) == ("NCHW", "RGB", "float32")
    assert c.value_range == (0.0, 1.0) and all(type(v) is float for v in c.value_range)
    assert len(c.input_shape) == 4 and _is_int(c.input_shape[1]) and c.input_shape[1] == 3
    assert all((_is_int(d) and d > 0) or (type(d) is str and d) for d in c.input_shape)
    assert _is_int(c.size_multiple) and c.size_multiple >= 1 and _is_int(c.min_size) and c.min_size >= 1
    assert c.opset is None or (_is_int(c.opset) and c.opset >= 1)
    assert type(c.input_name) is str and type(c.output_name) is str and c.input_name != c.output_name
    assert type(c.variant) is str and type(c.model_config) is dict
    assert all(type(k) is str and type(v) is str for k, v in c.versions.items())
    assert c.checkpoint_sha256 is None or (type(c.checkpoint_sha256) is str and len(c.checkpoint_sha256) == 64)
    assert c.calibration is None or type(c.calibration) is dict
    assert c.parity is None or type(c.parity) is dict
    text = c.to_json()
    assert IOContract.from_json(text).to_json() == text


def parse(text) -> IOContract | None:
    """``from_json``: a checked contract, or None for a ContractError; anything else propagates."""
    try:
        c = IOContract.from_json(text)
    except ContractError as exc:
        assert str(exc)
        return None
    check_contract(c)
    return c


@FAST
@given(json_values)
@example({"schema_version": 1, "value_range": {"": None}})
@example({"schema_version": True})
@example({"schema_version": 1, "checkpoint_sha256": list("ab" * 32)})
def test_any_json_value(value):
    parse(json.dumps(value))


@FAST
@given(st.text(max_size=200) | st.binary(max_size=200))
def test_any_text_or_bytes(text):
    parse(text)


@FAST
@given(st.sampled_from(VALID), st.sampled_from(FIELDS), json_values, st.sampled_from(["set", "drop"]))
@example(VALID[0], "min_size", True, "set")
@example(VALID[0], "value_range", "01", "set")
@example(VALID[0], "model_config", 5, "set")
def test_valid_contract_with_one_field_changed(base, name, value, how):
    d = dict(base)
    if how == "set":
        d[name] = value
    else:
        d.pop(name)
    c = parse(json.dumps(d))
    if c is not None and how == "set" and name not in ("value_range", "input_shape"):
        assert json.loads(json.dumps(getattr(c, name))) == json.loads(json.dumps(value))
        assert type(getattr(c, name)) is type(value)  # accepted as given: no bool-for-int, no coercion


@FAST
@given(st.sampled_from(VALID), st.text(min_size=1, max_size=10), json_values)
def test_an_added_unknown_field_is_refused(base, name, value):
    if name in FIELDS:
        return
    with pytest.raises(ContractError, match="unknown fields"):
        IOContract.from_json(json.dumps({**base, name: value}))


edits = st.lists(
    st.tuples(st.integers(0, 4000), st.sampled_from(["insert", "delete", "replace"]),
              st.sampled_from(list('{}[]",:0123456789.-+eEtrufalsn \\')) | st.characters(max_codepoint=0xFFFF)),
    min_size=1, max_size=6,
)


@FAST
@given(st.sampled_from(VALID), edits)
def test_valid_contract_text_with_character_edits(base, changes):
    text = json.dumps(base)
    for pos, op, char in changes:
        pos %= len(text) + 1
        if op == "insert":
            text = text[:pos] + char + text[pos:]
        elif op == "delete":
            text = text[:pos] + text[pos + 1:]
        else:
            text = text[:pos] + char + text[pos + 1:]
    parse(text)


@FAST
@given(st.integers(1, 3000), st.sampled_from(['{"k": ', "["]))
def test_nesting_is_accepted_up_to_the_limit_and_refused_beyond(depth, opener):
    closer = "}" if opener.startswith("{") else "]"
    parity = '{"p": ' + opener * depth + "1" + closer * depth + "}"
    text = json.dumps(VALID[0])[:-1] + ', "parity": ' + parity + "}"
    text = text.replace('"parity": null, ', "")
    c = parse(text)
    assert (c is not None) == (2 + depth <= MAX_DEPTH)  # the contract, parity, then `depth` levels


@FAST
@given(
    precision=st.sampled_from(PRECISIONS),
    dims=st.tuples(st.integers(1, 8) | st.just("batch"), st.integers(8, 4096) | st.text(min_size=1, max_size=8)),
    multiple=st.integers(1, 64),
    parity=st.none() | st.dictionaries(st.text(max_size=8), json_values, max_size=4),
)
def test_contracts_we_can_build_round_trip(precision, dims, multiple, parity):
    c = IOContract(precision=precision, input_shape=(dims[0], 3, dims[1], dims[1]),
                   size_multiple=multiple, min_size=multiple, parity=parity)
    again = IOContract.from_json(c.to_json())
    assert again.to_json() == c.to_json()
    check_contract(again)
