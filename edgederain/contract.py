"""The I/O contract an exported model carries (stdlib only).

Every ONNX file written by ``edgederain export`` or ``edgederain quantize`` stores one
:class:`IOContract` as JSON under the ``metadata_props`` key :data:`METADATA_KEY`. The runtime
reads it back (through ONNX Runtime's ``custom_metadata_map``, no ``onnx`` needed), refuses a model
without one, and uses it to know the tensor names, layout, value range, size multiple and
precision. The schema is versioned: a reader refuses versions it does not know, and unknown
fields are errors, so a contract never half-parses.

Fields
------
schema_version  int, currently 1
producer        "edgederain"
precision       "fp32" | "fp16" | "int8" (of the weights/compute; I/O is always float32)
input_name / output_name    graph tensor names
layout          "NCHW";  color: "RGB";  dtype: "float32";  value_range: [0.0, 1.0]
input_shape     4 entries, an int for a fixed dim, a name (str) for a dynamic one,
                e.g. ["batch", 3, "height", "width"]
size_multiple   the graph pads H and W to this multiple internally (8); any size >= min_size works
min_size        smallest H and W the graph accepts
variant         model variant ("single" / "lstm");  model_config: the ModelConfig dict
checkpoint_sha256, opset, versions {package: version}, created (ISO 8601 UTC)
calibration     INT8 calibration settings (method, frames, nodes kept in float...), else null
parity          figures measured at export (PSNR/max error against the reference...), else null

Parsing is strict, because the text comes from a file anyone can edit: every field is checked
for its JSON type (``true`` is not an integer, ``8.0`` is not an integer, ``"1"`` is not a number),
the free-form objects (``model_config``, ``calibration``, ``parity``) may hold only JSON values,
and the text is bounded (:data:`MAX_JSON_CHARS` characters, :data:`MAX_DEPTH` levels of nesting,
:data:`MAX_ITEMS` entries per object or array, :data:`MAX_STRING` characters per string), so a
hostile file gives :class:`~edgederain.errors.ContractError` naming the field, never another
exception.
"""

from __future__ import annotations

import dataclasses
import json
import re
from dataclasses import dataclass, field
from typing import Any, Mapping

from edgederain.choices import PRECISIONS, Precision
from edgederain.errors import ContractError

SCHEMA_VERSION = 1
SUPPORTED_SCHEMA_VERSIONS: tuple[int, ...] = (1,)
METADATA_KEY = "edgederain.contract"

MAX_JSON_CHARS = 1 << 20  # the packaged contracts are about 3 KB
MAX_DEPTH = 32  # levels of nested objects/arrays, the contract itself being level 1 (packaged: 4)
MAX_ITEMS = 4096  # entries of one object or array
MAX_STRING = 4096  # characters of one string or object key
MAX_INT = 2**31 - 1  # largest value of an integer field (dims, multiples, opset)

_HEX = frozenset("0123456789abcdef")
# A JSON string (to its end, or to the end of the text when unterminated) or one bracket. Every
# match either ends a string or is one character, so the scan is linear in the text's length.
_TOKENS = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*(?:"|\\?\Z)|[\[\]{}]', re.DOTALL)


def _invalid(msg: str) -> ContractError:
    return ContractError(f"invalid model contract: {msg}; re-export the model with `edgederain export`")


def _show(value: Any) -> str:
    """A short, always-printable description of a JSON value for error messages."""
    if isinstance(value, bool) or value is None:
        return json.dumps(value)
    if isinstance(value, int):
        return repr(value) if value.bit_length() <= 64 else f"an integer of {value.bit_length()} bits"
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, str):
        text = value[:40].encode("utf-8", "backslashreplace").decode("ascii", "backslashreplace")
        return json.dumps(text) + ("..." if len(value) > 40 else "")
    if isinstance(value, (list, tuple, Mapping)):
        kind = "an object" if isinstance(value, Mapping) else "an array"
        return f"{kind} of {len(value)} {'entry' if len(value) == 1 else 'entries'}"
    return f"a {type(value).__name__}"


def _field_name(key: Any) -> str:
    """A field name as unknown-field messages show it: quoted, cut after 80 characters."""
    if not isinstance(key, str):
        return _show(key)
    return repr(key) if len(key) <= 80 else repr(key[:80]) + "..."


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _check_str(value: Any, where: str, *, non_empty: bool = False) -> str:
    if not isinstance(value, str):
        raise _invalid(f"{where} must be a string, got {_show(value)}")
    if non_empty and not value:
        raise _invalid(f"{where} must be a non-empty string")
    if len(value) > MAX_STRING:
        raise _invalid(f"{where} is {len(value)} characters long (at most {MAX_STRING})")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise _invalid(f"{where} is not valid Unicode (lone surrogate escape)") from None
    return value


def _check_int(value: Any, where: str, *, minimum: int = 1) -> int:
    if not _is_int(value):
        raise _invalid(f"{where} must be an integer, got {_show(value)}")
    if not minimum <= value <= MAX_INT:
        raise _invalid(f"{where} must be an integer from {minimum} to {MAX_INT}, got {_show(value)}")
    return value


def _check_sequence(value: Any, where: str) -> list | tuple:
    if not isinstance(value, (list, tuple)):
        raise _invalid(f"{where} must be an array, got {_show(value)}")
    return value


def _check_json(value: Any, where: str, depth: int) -> None:
    """``value`` must be a JSON value (str/int/float/bool/null/array/object) within the bounds."""
    if value is None or isinstance(value, (bool, int, float)):
        return
    if isinstance(value, str):
        _check_str(value, where)
        return
    if not isinstance(value, (list, tuple, dict)):
        raise _invalid(f"{where} must hold only JSON values, got {_show(value)}")
    if depth > MAX_DEPTH:
        raise _invalid(f"{where} is nested deeper than {MAX_DEPTH} levels")
    if len(value) > MAX_ITEMS:
        raise _invalid(f"{where} has {len(value)} entries (at most {MAX_ITEMS})")
    if isinstance(value, dict):
        for key, item in value.items():
            _check_str(key, f"a key of {where}")
            _check_json(item, f"{where}.{key}", depth + 1)
    else:
        for i, item in enumerate(value):
            _check_json(item, f"{where}[{i}]", depth + 1)


def _check_object(value: Any, where: str, *, optional: bool = False) -> None:
    if value is None and optional:
        return
    if not isinstance(value, dict):
        want = "an object or null" if optional else "an object"
        raise _invalid(f"{where} must be {want}, got {_show(value)}")
    _check_json(value, where, 2)


def _check_value_range(value: Any) -> tuple[float, float]:
    seq = _check_sequence(value, "value_range")
    if len(seq) != 2 or not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in seq):
        raise _invalid(f"value_range must be an array of two numbers [0, 1], got {_show(value)}")
    if seq[0] != 0 or seq[1] != 1:  # compared unconverted: a 400-digit integer overflows float()
        raise _invalid(f"value_range must be [0, 1], got [{_show(seq[0])}, {_show(seq[1])}]")
    return 0.0, 1.0


def _check_input_shape(value: Any) -> tuple[int | str, ...]:
    seq = _check_sequence(value, "input_shape")
    if len(seq) != 4:
        raise _invalid(f"input_shape must be [N, 3, H, W] (4 entries), got {_show(value)}")
    for i, dim in enumerate(seq):
        if isinstance(dim, str):
            _check_str(dim, f"input_shape[{i}]", non_empty=True)
        elif not _is_int(dim) or not 1 <= dim <= MAX_INT:
            raise _invalid(
                f"input_shape entries must be positive integers or dimension names, "
                f"got {_show(dim)} at input_shape[{i}]"
            )
    if seq[1] != 3 or not _is_int(seq[1]):
        raise _invalid(f"input_shape must be [N, 3, H, W], got channel entry {_show(seq[1])}")
    return tuple(seq)


def _check_versions(value: Any) -> None:
    if not isinstance(value, dict):
        raise _invalid(f"versions must be an object of package names to version strings, got {_show(value)}")
    if len(value) > MAX_ITEMS:
        raise _invalid(f"versions has {len(value)} entries (at most {MAX_ITEMS})")
    for package, version in value.items():
        _check_str(package, "a package name in versions")
        _check_str(version, f"versions.{package}")


def _check_schema_version(version: Any) -> None:
    if not _is_int(version) or version not in SUPPORTED_SCHEMA_VERSIONS:
        supported = ", ".join(str(v) for v in SUPPORTED_SCHEMA_VERSIONS)
        raise ContractError(
            f"model contract schema_version {_show(version)} is not supported by this edgederain "
            f"(supported: {supported}); upgrade edgederain or re-export the model"
        )


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """``json.loads`` object hook: a key given twice is an error, not "the last one wins"."""
    data: dict[str, Any] = {}
    for key, value in pairs:
        if key in data:
            raise _invalid(f"key {_show(key)} appears more than once in one object")
        data[key] = value
    return data


def _check_nesting(text: str) -> None:
    """Refuse JSON text nested deeper than :data:`MAX_DEPTH` before ``json.loads`` recurses into it."""
    depth = 0
    for match in _TOKENS.finditer(text):
        token = match.group()
        if token in "[{":
            depth += 1
            if depth > MAX_DEPTH:
                raise _invalid(f"JSON is nested deeper than {MAX_DEPTH} levels")
        elif token in "]}":
            depth -= 1


@dataclass(frozen=True)
class IOContract:
    """What an exported model consumes and produces; see the module docstring for the fields."""

    precision: Precision = "fp32"
    input_name: str = "image"
    output_name: str = "derained"
    layout: str = "NCHW"
    color: str = "RGB"
    dtype: str = "float32"
    value_range: tuple[float, float] = (0.0, 1.0)
    input_shape: tuple[int | str, ...] = ("batch", 3, "height", "width")
    size_multiple: int = 8
    min_size: int = 8
    variant: str = "single"
    model_config: dict[str, Any] = field(default_factory=dict)
    checkpoint_sha256: str | None = None
    opset: int | None = None
    versions: dict[str, str] = field(default_factory=dict)
    created: str | None = None
    calibration: dict[str, Any] | None = None
    parity: dict[str, Any] | None = None
    producer: str = "edgederain"
    schema_version: int = SCHEMA_VERSION

    def __post_init__(self) -> None:
        _check_schema_version(self.schema_version)
        object.__setattr__(self, "value_range", _check_value_range(self.value_range))
        object.__setattr__(self, "input_shape", _check_input_shape(self.input_shape))
        self._validate()

    def _validate(self) -> None:
        if _check_str(self.producer, "producer") != "edgederain":
            raise _invalid(f"producer must be 'edgederain', got {_show(self.producer)}")
        if _check_str(self.precision, "precision") not in PRECISIONS:
            raise _invalid(f"precision must be one of {PRECISIONS}, got {_show(self.precision)}")
        for name, want in (("layout", "NCHW"), ("color", "RGB"), ("dtype", "float32")):
            if _check_str(getattr(self, name), name) != want:
                raise _invalid(f"{name} must be {want!r}, got {_show(getattr(self, name))}")
        _check_str(self.input_name, "input_name", non_empty=True)
        _check_str(self.output_name, "output_name", non_empty=True)
        if self.input_name == self.output_name:
            raise _invalid("input_name and output_name must be distinct non-empty strings")
        _check_int(self.size_multiple, "size_multiple")
        _check_int(self.min_size, "min_size")
        _check_str(self.variant, "variant")
        _check_object(self.model_config, "model_config")
        if self.checkpoint_sha256 is not None and (
            len(_check_str(self.checkpoint_sha256, "checkpoint_sha256")) != 64
            or not _HEX.issuperset(self.checkpoint_sha256)
        ):
            raise _invalid("checkpoint_sha256 must be 64 lowercase hex digits or null")
        if self.opset is not None:
            _check_int(self.opset, "opset")
        _check_versions(self.versions)
        if self.created is not None:
            _check_str(self.created, "created")
        _check_object(self.calibration, "calibration", optional=True)
        _check_object(self.parity, "parity", optional=True)

    # --- shape helpers -------------------------------------------------------------------
    @property
    def fixed_batch(self) -> int | None:
        """The batch size if the graph fixes it, else None."""
        return self.input_shape[0] if isinstance(self.input_shape[0], int) else None

    @property
    def fixed_size(self) -> tuple[int, int] | None:
        """(H, W) if the graph has a static spatial size, else None."""
        h, w = self.input_shape[2], self.input_shape[3]
        return (h, w) if isinstance(h, int) and isinstance(w, int) else None

    # --- serialisation -------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        d["value_range"] = list(self.value_range)
        d["input_shape"] = list(self.input_shape)
        return d

    def to_json(self, *, indent: int | None = None) -> str:
        return json.dumps(self.to_dict(), indent=indent, sort_keys=True)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "IOContract":
        if not isinstance(data, Mapping):
            raise ContractError(f"model contract must be a JSON object, got {_show(data)}")
        _check_schema_version(data.get("schema_version"))
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(_field_name(k) for k in data if k not in known)
        if unknown:
            shown = ", ".join(unknown[:10]) + (f" and {len(unknown) - 10} more" if unknown[10:] else "")
            raise _invalid(f"unknown fields {shown} (known: {', '.join(sorted(known))})")
        return cls(**dict(data))

    @classmethod
    def from_json(cls, text: str | bytes) -> "IOContract":
        if isinstance(text, (bytes, bytearray)):
            if len(text) > MAX_JSON_CHARS * 4:  # 4 bytes per character at most in UTF-8
                raise ContractError(
                    f"model contract is {len(text)} bytes long (at most {MAX_JSON_CHARS} characters)"
                )
            try:
                text = bytes(text).decode("utf-8")
            except UnicodeDecodeError as exc:
                raise ContractError(f"model contract is not valid JSON: not UTF-8 ({exc.reason})") from None
        if not isinstance(text, str):
            raise ContractError(f"model contract must be JSON text, got {_show(text)}")
        if len(text) > MAX_JSON_CHARS:
            raise ContractError(f"model contract is {len(text)} characters long (at most {MAX_JSON_CHARS})")
        _check_nesting(text)
        try:
            data = json.loads(text, object_pairs_hook=_unique_keys)
        except ContractError:  # from _unique_keys
            raise
        except ValueError as exc:  # JSONDecodeError, and integers longer than Python converts
            raise ContractError(f"model contract is not valid JSON: {exc}") from None
        return cls.from_dict(data)

    def to_metadata(self) -> dict[str, str]:
        """The ``metadata_props`` entries to store in an ONNX model."""
        return {METADATA_KEY: self.to_json()}

    @classmethod
    def from_metadata(cls, props: Mapping[str, str], *, source: str = "model") -> "IOContract":
        """Read the contract from ONNX ``metadata_props`` (or ORT's ``custom_metadata_map``).

        Every :class:`ContractError` names ``source`` (the model file's path when there is one).
        """
        if METADATA_KEY not in props:
            raise ContractError(
                f"{source} carries no edgederain contract (metadata key {METADATA_KEY!r}); "
                "export it with `edgederain export`, or attach one with "
                "edgederain.export.attach_contract if you built the graph yourself"
            )
        try:
            return cls.from_json(props[METADATA_KEY])
        except ContractError as exc:
            raise ContractError(f"{source}: {exc}") from None

    def replace(self, **changes: Any) -> "IOContract":
        """A copy with some fields changed (validated again)."""
        return dataclasses.replace(self, **changes)
