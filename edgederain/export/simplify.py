"""onnxsim simplification, kept only when it leaves the outputs equal.

onnxsim 0.8.1 keeps dynamic dims and, on a dynamo graph, changes little (the exporter already
folds constants and BatchNorm). The simplified graph is accepted only if ONNX Runtime gives the
same outputs as the input graph on probe inputs (within :data:`TOLERANCE`); otherwise the
original is kept and the result says why.

onnxsim's ``fuse_consecutive_slices`` pass is skipped: on the sub-pixel graph it merged the
crop's two Slices into one, which ONNX Runtime's CPU provider accepts but the OpenVINO execution
provider (onnxruntime-openvino 1.24.1) refused ("the graph is not acyclic"). It saved one node.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping

import numpy as np
import onnx

TOLERANCE = 1e-5
SKIPPED_PASSES: tuple[str, ...] = ("fuse_consecutive_slices",)


@dataclass(frozen=True)
class SimplifyResult:
    """The graph to use and what simplification did to it."""

    model: onnx.ModelProto
    applied: bool
    nodes_before: int
    nodes_after: int
    max_abs_change: float | None
    reason: str


def _max_change(a: onnx.ModelProto, b: onnx.ModelProto, inputs: Mapping[str, np.ndarray]) -> float:
    from edgederain.export.parity import OnnxRunner

    ra, rb = OnnxRunner(a.SerializeToString()), OnnxRunner(b.SerializeToString())
    return max(float(np.max(np.abs(ra(x) - rb(x)))) for x in inputs.values())


def _restore_node_metadata(source: onnx.ModelProto, target: onnx.ModelProto) -> None:
    """onnxsim drops node ``metadata_props`` (the module paths); copy them back by node name."""
    props = {n.name: list(n.metadata_props) for n in source.graph.node if n.metadata_props}
    for node in target.graph.node:
        if node.name in props and not node.metadata_props:
            node.metadata_props.extend(props[node.name])


def simplify_if_equal(
    model: onnx.ModelProto, probe_inputs: Mapping[str, np.ndarray], *, tolerance: float = TOLERANCE
) -> SimplifyResult:
    """Run onnxsim; return the simplified graph only if outputs stay within ``tolerance``."""
    import onnxsim

    before = len(model.graph.node)
    try:
        simplified, ok = onnxsim.simplify(model, skipped_optimizers=list(SKIPPED_PASSES))
    except Exception as exc:  # noqa: BLE001 - onnxsim raises plain RuntimeErrors from C++
        return SimplifyResult(model, False, before, before, None, f"onnxsim failed: {exc}")
    if not ok:
        return SimplifyResult(model, False, before, before, None, "onnxsim's own check failed")
    _restore_node_metadata(model, simplified)
    change = _max_change(model, simplified, probe_inputs)
    after = len(simplified.graph.node)
    if change > tolerance:
        reason = f"outputs changed by {change:.2e} > {tolerance:.0e}; kept the unsimplified graph"
        return SimplifyResult(model, False, before, after, change, reason)
    return SimplifyResult(simplified, True, before, after, change, "outputs equal")
