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
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from typing import Any, Literal, Mapping

from edgederain.errors import ContractError

SCHEMA_VERSION = 1
SUPPORTED_SCHEMA_VERSIONS: tuple[int, ...] = (1,)
METADATA_KEY = "edgederain.contract"

Precision = Literal["fp32", "fp16", "int8"]
PRECISIONS: tuple[str, ...] = ("fp32", "fp16", "int8")


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
        object.__setattr__(self, "value_range", tuple(float(v) for v in self.value_range))
        object.__setattr__(self, "input_shape", tuple(self.input_shape))
        self._validate()

    def _validate(self) -> None:
        def bad(msg: str) -> ContractError:
            return ContractError(f"invalid model contract: {msg}")

        if self.schema_version not in SUPPORTED_SCHEMA_VERSIONS:
            raise ContractError(
                f"model contract schema_version {self.schema_version!r} is not supported by this "
                f"edgederain (supports {SUPPORTED_SCHEMA_VERSIONS}); upgrade edgederain or re-export"
            )
        if self.precision not in PRECISIONS:
            raise bad(f"precision must be one of {PRECISIONS}, got {self.precision!r}")
        for name, want in (("layout", "NCHW"), ("color", "RGB"), ("dtype", "float32")):
            if getattr(self, name) != want:
                raise bad(f"{name} must be {want!r}, got {getattr(self, name)!r}")
        if self.value_range != (0.0, 1.0):
            raise bad(f"value_range must be [0, 1], got {list(self.value_range)}")
        if not self.input_name or not self.output_name or self.input_name == self.output_name:
            raise bad("input_name and output_name must be distinct non-empty strings")
        shape = self.input_shape
        if len(shape) != 4 or shape[1] != 3:
            raise bad(f"input_shape must be [N, 3, H, W], got {list(shape)}")
        for dim in shape:
            if not (isinstance(dim, str) and dim) and not (
                isinstance(dim, int) and not isinstance(dim, bool) and dim > 0
            ):
                raise bad(f"input_shape entries must be positive ints or names, got {dim!r}")
        if not isinstance(self.size_multiple, int) or self.size_multiple < 1:
            raise bad(f"size_multiple must be a positive int, got {self.size_multiple!r}")
        if not isinstance(self.min_size, int) or self.min_size < 1:
            raise bad(f"min_size must be a positive int, got {self.min_size!r}")
        if self.checkpoint_sha256 is not None and (
            len(self.checkpoint_sha256) != 64
            or any(c not in "0123456789abcdef" for c in self.checkpoint_sha256)
        ):
            raise bad("checkpoint_sha256 must be 64 lowercase hex digits")
        if self.producer != "edgederain":
            raise bad(f"producer must be 'edgederain', got {self.producer!r}")

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
            raise ContractError(f"model contract must be a JSON object, got {type(data).__name__}")
        version = data.get("schema_version")
        if version not in SUPPORTED_SCHEMA_VERSIONS:
            raise ContractError(
                f"model contract schema_version {version!r} is not supported by this edgederain "
                f"(supports {SUPPORTED_SCHEMA_VERSIONS}); upgrade edgederain or re-export the model"
            )
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ContractError(f"invalid model contract: unknown fields {unknown}")
        try:
            return cls(**dict(data))
        except TypeError as exc:
            raise ContractError(f"invalid model contract: {exc}") from None

    @classmethod
    def from_json(cls, text: str) -> "IOContract":
        try:
            data = json.loads(text)
        except (json.JSONDecodeError, TypeError) as exc:
            raise ContractError(f"model contract is not valid JSON: {exc}") from None
        return cls.from_dict(data)

    def to_metadata(self) -> dict[str, str]:
        """The ``metadata_props`` entries to store in an ONNX model."""
        return {METADATA_KEY: self.to_json()}

    @classmethod
    def from_metadata(cls, props: Mapping[str, str], *, source: str = "model") -> "IOContract":
        """Read the contract from ONNX ``metadata_props`` (or ORT's ``custom_metadata_map``)."""
        if METADATA_KEY not in props:
            raise ContractError(
                f"{source} carries no edgederain contract (metadata key {METADATA_KEY!r}); "
                "export it with `edgederain export`, or attach one with "
                "edgederain.export.attach_contract if you built the graph yourself"
            )
        return cls.from_json(props[METADATA_KEY])

    def replace(self, **changes: Any) -> "IOContract":
        """A copy with some fields changed (validated again)."""
        return dataclasses.replace(self, **changes)
