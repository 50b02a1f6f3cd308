"""Export: PyTorch checkpoint -> ONNX (FP32 / FP16 / INT8) carrying its contract, verified.

Public API (imported on first use, so ``import edgederain.export`` stays cheap and
:func:`attach_contract` works without torch)::

    export_onnx(checkpoint, output, *, config=ExportConfig()) -> ExportResult
    quantize_onnx(fp32_path, output, *, calib_data, ...)      -> ExportResult
    attach_contract(model, contract, *, output=None)          -> onnx.ModelProto
    read_contract(model)                                      -> IOContract
    verify_model(model, *, reference, data, ...)              -> VerifyReport
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS: dict[str, str] = {
    "ExportConfig": "edgederain.export.config",
    "ExportResult": "edgederain.export.pipeline",
    "export_onnx": "edgederain.export.pipeline",
    "quantize_onnx": "edgederain.export.pipeline",
    "attach_contract": "edgederain.export.metadata",
    "read_contract": "edgederain.export.metadata",
    "Gates": "edgederain.export.gates",
    "GateReport": "edgederain.export.gates",
    "VerifyReport": "edgederain.export.verify",
    "verify_model": "edgederain.export.verify",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module 'edgederain.export' has no attribute {name!r}")
    return getattr(importlib.import_module(_EXPORTS[name]), name)
