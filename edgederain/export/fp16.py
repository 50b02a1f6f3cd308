"""FP16 conversion: weights and compute in FP16, I/O float32, RLCN and overflowing nodes in FP32.

Two converters exist and both are supported (``Fp16Backend``): ``"ort"``
(``onnxruntime.transformers.float16``) and ``"onnxconverter"`` (``onnxconverter_common.float16``).
Both run with ``keep_io_types=True`` (the contract's I/O stays float32) and a node block list.
Measured on this network (onnxruntime 1.32, onnxconverter-common 1.16): ``ort`` gives a valid
graph (59-78 dB against FP32; 65.5 dB on the trained thesis network); ``onnxconverter`` leaves
a ``Sub`` with one FP16 and one FP32 input at the boundary of the blocked RLCN nodes, which ONNX
Runtime refuses to load. So ``ort`` is the default, and every converted graph is loaded once in
ONNX Runtime before it is returned.

What stays FP32:

- RLCN, always: its variance ``S2 - S1**2 / N`` cancels catastrophically in FP16 (NaN on this
  network).
- Any node whose FP32 output exceeds :data:`OVERFLOW_LIMIT` in magnitude on the probe inputs
  (natural-looking frames and the extreme inputs), found by :func:`overflowing_nodes`. FP16's
  largest finite value is 65504; the limit leaves headroom for inputs not probed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping, Sequence

import numpy as np
import onnx

from edgederain.onnxgraph.nodes import nodes_in_groups
from edgederain.choices import FP16_BACKENDS, Fp16Backend
from edgederain.errors import ExportError
from edgederain.export.gates import GateReport, Gates, run_gate
from edgederain.export.parity import OnnxRunner
from edgederain.export.results import enforce

OVERFLOW_LIMIT = 4096.0


@dataclass(frozen=True)
class Fp16Result:
    """An FP16 model and how it was made (``settings`` goes into the contract), as QuantizeResult for INT8."""

    model: onnx.ModelProto
    kept_float: tuple[str, ...]
    settings: dict[str, Any]


def fp16_from_fp32(fp32: onnx.ModelProto, *, backend: Fp16Backend, gates: Gates, inputs: dict,
                   extremes: dict, verify: bool = True) -> tuple[Fp16Result, tuple[GateReport, ...]]:
    """Convert and (if ``verify``) gate against FP32; raises :class:`GateError` when the gate fails."""
    overflow = overflowing_nodes(fp32, {**inputs, **extremes})
    fp16 = convert_fp16(fp32, keep_fp32=overflow, backend=backend)
    kept = tuple(sorted(set(nodes_in_groups(fp32, ["rlcn"])) | set(overflow)))
    result = Fp16Result(fp16, kept, {"fp16_backend": backend, "overflow_nodes": overflow})
    if not verify:
        return result, ()
    gate = run_gate("fp16_vs_fp32", OnnxRunner(fp32.SerializeToString()), OnnxRunner(fp16.SerializeToString()),
                    inputs, threshold_db=gates.fp16_vs_fp32_db, reference_label="onnx-fp32", extremes=extremes)
    return result, (enforce(gate),)


def _float_tensors(model: onnx.ModelProto) -> dict[str, onnx.ValueInfoProto]:
    inferred = onnx.shape_inference.infer_shapes(model)
    infos = list(inferred.graph.value_info) + list(inferred.graph.output)
    return {v.name: v for v in infos if v.type.tensor_type.elem_type == onnx.TensorProto.FLOAT}


def node_output_peaks(model: onnx.ModelProto, inputs: Mapping[str, np.ndarray]) -> dict[str, float]:
    """Largest |value| each float node output reaches over ``inputs`` (by node name)."""
    probe = onnx.ModelProto()
    probe.CopyFrom(model)
    floats = _float_tensors(model)
    existing = {o.name for o in probe.graph.output}
    watched = {o: n.name for n in probe.graph.node for o in n.output if o in floats}
    probe.graph.output.extend(floats[o] for o in watched if o not in existing)
    runner = OnnxRunner(probe.SerializeToString())
    session, input_name = runner.session, runner.input_name
    names = [o.name for o in session.get_outputs()]
    peaks: dict[str, float] = {}
    for x in inputs.values():
        for tensor_name, value in zip(names, session.run(names, {input_name: x})):
            if tensor_name in watched and value.size:
                node = watched[tensor_name]
                peak = float(np.nanmax(np.abs(value)))
                peaks[node] = max(peaks.get(node, 0.0), peak)
    return peaks


def overflowing_nodes(
    model: onnx.ModelProto, inputs: Mapping[str, np.ndarray], *, limit: float = OVERFLOW_LIMIT
) -> list[str]:
    """Nodes whose FP32 outputs exceed ``limit`` in magnitude on ``inputs``."""
    return sorted(name for name, peak in node_output_peaks(model, inputs).items() if peak > limit)


def topological_sort(graph: onnx.GraphProto) -> None:
    """Reorder ``graph.node`` so every node comes after its inputs' producers (in place).

    The converters append their input/output Casts at the end of the node list; ONNX Runtime
    sorts at load time, but the ONNX checker and other consumers require a sorted graph.
    """
    available = {i.name for i in graph.input} | {t.name for t in graph.initializer} | {""}
    pending, ordered = list(graph.node), []
    while pending:
        ready = [n for n in pending if all(i in available for i in n.input)]
        if not ready:
            raise ExportError("FP16 graph has a cycle or an input no node produces")
        for n in ready:
            available.update(n.output)
        ordered.extend(ready)
        pending = [n for n in pending if not all(i in available for i in n.input) or n not in ready]
    new = [onnx.NodeProto() for _ in ordered]
    for dst, src in zip(new, ordered):
        dst.CopyFrom(src)
    del graph.node[:]
    graph.node.extend(new)


def convert_fp16(
    model: onnx.ModelProto,
    *,
    keep_fp32: Sequence[str] = (),
    backend: Fp16Backend = "ort",
) -> onnx.ModelProto:
    """FP16 copy of ``model`` with float32 I/O; RLCN and the ``keep_fp32`` nodes stay FP32."""
    if backend not in FP16_BACKENDS:
        raise ExportError(f"unknown FP16 converter {backend!r}; choose one of {FP16_BACKENDS}")
    rlcn = nodes_in_groups(model, ["rlcn"])
    if not rlcn:
        raise ExportError(
            "no RLCN nodes found in the graph (no module information on its nodes); "
            "export it with edgederain export so RLCN can be kept in FP32"
        )
    block = sorted(set(rlcn) | set(keep_fp32))
    source = onnx.ModelProto()
    source.CopyFrom(model)
    if backend == "ort":
        from onnxruntime.transformers.float16 import convert_float_to_float16
    else:
        from onnxconverter_common.float16 import convert_float_to_float16
    try:
        converted = convert_float_to_float16(source, keep_io_types=True, node_block_list=block)
    except Exception as exc:  # noqa: BLE001 - converters raise assorted errors on odd graphs
        raise ExportError(f"FP16 conversion with the {backend!r} converter failed: {exc}") from None
    topological_sort(converted.graph)
    onnx.checker.check_model(converted)
    _check_loads(converted, backend)
    return converted


def _check_loads(model: onnx.ModelProto, backend: str) -> None:
    """ONNX Runtime must accept the converted graph (type-mismatched Casts are caught here)."""
    try:
        OnnxRunner(model.SerializeToString())
    except Exception as exc:  # noqa: BLE001 - ORT's load errors have several types
        raise ExportError(
            f"the {backend!r} FP16 converter produced a graph ONNX Runtime rejects ({exc}); "
            "use the 'ort' converter (--fp16-converter ort)"
        ) from None
