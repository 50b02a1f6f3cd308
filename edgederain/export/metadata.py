"""The contract inside an ONNX file: attach it, read it back, and build one for an export.

The contract (:class:`edgederain.contract.IOContract`) is stored as JSON in the model's
``metadata_props`` under :data:`edgederain.contract.METADATA_KEY`. :func:`attach_contract` is
the public way to add one to a graph built by other means (then check the graph really follows
it: float32 N x 3 x H x W RGB in [0, 1], pad to the size multiple inside).
"""

from __future__ import annotations

import datetime as _dt
import importlib.metadata
import os
from pathlib import Path
from typing import Any

import onnx

from edgederain.contract import METADATA_KEY, IOContract
from edgederain.errors import ContractError, ExportError

VERSIONED_PACKAGES: tuple[str, ...] = ("edgederain", "torch", "onnx", "onnxruntime", "onnxsim")


def tool_versions(packages: tuple[str, ...] = VERSIONED_PACKAGES) -> dict[str, str]:
    """Installed versions of the packages that shaped an export (missing ones are skipped)."""
    found: dict[str, str] = {}
    for name in packages:
        try:
            found[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            continue
    return found


def utc_now() -> str:
    """ISO 8601 UTC timestamp, seconds precision."""
    return _dt.datetime.now(_dt.timezone.utc).replace(microsecond=0).isoformat()


def _load(model: onnx.ModelProto | str | os.PathLike) -> onnx.ModelProto:
    if isinstance(model, onnx.ModelProto):
        return model
    path = Path(model)
    if not path.is_file():
        raise ExportError(f"{path}: no such ONNX file")
    try:
        return onnx.load(str(path), load_external_data=False)
    except Exception as exc:  # noqa: BLE001 - protobuf raises several types for non-ONNX files
        raise ExportError(f"{path}: not a readable ONNX model ({type(exc).__name__})") from None


def attach_contract(
    model: onnx.ModelProto | str | os.PathLike,
    contract: IOContract,
    *,
    output: str | os.PathLike | None = None,
) -> onnx.ModelProto:
    """Store ``contract`` in the model's ``metadata_props`` (replacing an earlier one).

    ``model`` is a ModelProto (changed in place) or a path. The graph's first input/output names
    must match the contract. With ``output`` the model is also saved there as one file.
    """
    proto = _load(model)
    graph_in = [i.name for i in proto.graph.input]
    graph_out = [o.name for o in proto.graph.output]
    if contract.input_name not in graph_in or contract.output_name not in graph_out:
        raise ContractError(
            f"contract names input {contract.input_name!r} / output {contract.output_name!r} but "
            f"the graph has inputs {graph_in} and outputs {graph_out}; fix the contract's names"
        )
    kept = [p for p in proto.metadata_props if p.key != METADATA_KEY]
    del proto.metadata_props[:]
    proto.metadata_props.extend(kept)
    for key, value in contract.to_metadata().items():
        proto.metadata_props.add(key=key, value=value)
    if output is not None:
        save_single_file(proto, output)
    return proto


def read_contract(model: onnx.ModelProto | str | os.PathLike) -> IOContract:
    """The contract stored in a model; :class:`ContractError` if it has none."""
    proto = _load(model)
    props = {p.key: p.value for p in proto.metadata_props}
    return IOContract.from_metadata(props, source=str(model) if not isinstance(model, onnx.ModelProto) else "model")


def save_single_file(proto: onnx.ModelProto, path: str | os.PathLike) -> Path:
    """Save as one self-contained file (atomically) and check no external-data file appeared."""
    p = Path(path)
    if not p.parent.is_dir():
        raise ExportError(f"{p}: output folder {p.parent} does not exist; create it first")
    tmp = p.with_name(f".{p.name}.tmp")
    onnx.save_model(proto, str(tmp), save_as_external_data=False)
    os.replace(tmp, p)
    side = [q for q in (p.with_name(p.name + ".data"), p.with_suffix(".data")) if q.exists()]
    if any(init.data_location == onnx.TensorProto.EXTERNAL for init in proto.graph.initializer):
        raise ExportError(f"{p}: model references external data; it must be one file")
    if side and side[0].stat().st_mtime >= p.stat().st_mtime:
        raise ExportError(f"{p}: an external-data file {side[0]} was written next to the model")
    return p


def build_contract(
    *,
    precision: str,
    model_config: dict[str, Any],
    checkpoint_sha256: str | None,
    opset: int,
    input_shape: tuple[int | str, ...],
    size_multiple: int,
    calibration: dict[str, Any] | None = None,
    parity: dict[str, Any] | None = None,
) -> IOContract:
    """The contract for a model exported by this package, with versions and a timestamp."""
    return IOContract(
        precision=precision,  # type: ignore[arg-type]
        input_shape=input_shape,
        size_multiple=size_multiple,
        min_size=size_multiple,
        variant=str(model_config.get("variant", "single")),
        model_config=dict(model_config),
        checkpoint_sha256=checkpoint_sha256,
        opset=opset,
        versions=tool_versions(),
        created=utc_now(),
        calibration=calibration,
        parity=parity,
    )
