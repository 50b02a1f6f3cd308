"""What an ONNX file is: its contract, inputs/outputs, opset, IR version and op counts (onnx only)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import onnx

from edgederain.onnxgraph.nodes import op_counts
from edgederain.contract import IOContract
from edgederain.errors import ContractError, ExportError


@dataclass(frozen=True)
class TensorInfo:
    """A graph input or output: name, element type and shape (names for dynamic dims)."""

    name: str
    dtype: str
    shape: tuple[int | str, ...]


@dataclass(frozen=True)
class ModelSummary:
    """The inspectable facts about a model file."""

    path: str
    size_bytes: int
    ir_version: int
    opsets: dict[str, int]
    producer: str
    inputs: tuple[TensorInfo, ...]
    outputs: tuple[TensorInfo, ...]
    nodes: int
    op_counts: dict[str, int]
    contract: IOContract | None
    contract_error: str | None

    def to_dict(self) -> dict[str, Any]:
        return {
            "path": self.path, "size_bytes": self.size_bytes, "ir_version": self.ir_version,
            "opsets": self.opsets, "producer": self.producer,
            "inputs": [vars(t) | {"shape": list(t.shape)} for t in self.inputs],
            "outputs": [vars(t) | {"shape": list(t.shape)} for t in self.outputs],
            "nodes": self.nodes, "op_counts": self.op_counts,
            "contract": None if self.contract is None else self.contract.to_dict(),
            "contract_error": self.contract_error,
        }


def _tensor(v: onnx.ValueInfoProto) -> TensorInfo:
    t = v.type.tensor_type
    shape = tuple(d.dim_param or d.dim_value for d in t.shape.dim)
    return TensorInfo(v.name, onnx.helper.tensor_dtype_to_np_dtype(t.elem_type).name, shape)


def inspect_model(path: str | os.PathLike) -> ModelSummary:
    """Summarise an ONNX file; a missing or invalid contract is reported, not raised."""
    p = Path(path)
    if not p.is_file():
        raise ExportError(f"{p}: no such file")
    try:
        model = onnx.load(str(p), load_external_data=False)
    except Exception as exc:  # noqa: BLE001 - protobuf errors vary
        raise ExportError(f"{p}: not an ONNX model ({type(exc).__name__}); pass a .onnx file") from None
    contract, error = None, None
    try:
        props = {m.key: m.value for m in model.metadata_props}
        contract = IOContract.from_metadata(props, source=str(p))
    except ContractError as exc:
        error = str(exc)
    return ModelSummary(
        str(p), p.stat().st_size, model.ir_version,
        {o.domain or "ai.onnx": o.version for o in model.opset_import},
        f"{model.producer_name} {model.producer_version}".strip(),
        tuple(_tensor(v) for v in model.graph.input), tuple(_tensor(v) for v in model.graph.output),
        len(model.graph.node), op_counts(model), contract, error,
    )
