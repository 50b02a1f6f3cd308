"""What an export returns, and the gate and output checks that every export path shares.

Below both :mod:`~edgederain.export.pipeline` (checkpoint -> ONNX) and
:mod:`~edgederain.export.int8` (FP32 ONNX -> INT8), so neither imports the other for them.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from edgederain.contract import IOContract
from edgederain.errors import ExportError, GateError
from edgederain.export.gates import GateReport


@dataclass(frozen=True)
class ExportResult:
    """What was written and the gates it passed."""

    path: Path
    contract: IOContract
    size_bytes: int
    nodes: int
    gates: tuple[GateReport, ...]
    kept_float: tuple[str, ...]
    simplified: bool
    seconds: float

    @property
    def passed(self) -> bool:
        return all(g.passed for g in self.gates)


def output_path(output: str | os.PathLike) -> Path:
    out = Path(output)
    if out.suffix.lower() != ".onnx":
        raise ExportError(f"{out}: the output must be a .onnx file")
    if not out.parent.is_dir():
        raise ExportError(f"{out}: output folder {out.parent} does not exist; create it first")
    return out


def enforce(gate: GateReport) -> GateReport:
    """Raise :class:`GateError` if ``gate`` failed; the model is then not written."""
    if not gate.passed:
        raise GateError(
            f"gate {gate.name} failed: {gate.failure()}; the model was not written "
            "(pass verify=False / --no-verify to write it anyway for debugging)",
            gates=(gate,),
        )
    return gate


def parity_record(gates, *, kept=(), extra: dict | None = None) -> dict | None:
    """The contract's ``parity`` field: each gate's summary (per-input figures left out)."""
    if not gates:
        return None
    record = {g.name: g.to_dict(per_input=False) for g in gates}
    record["inputs"] = sorted({r.label for g in gates for r in g.results})
    record["kept_float_nodes"] = len(kept)
    if extra:
        record.update(extra)
    return record
