"""Finding graph nodes by the PyTorch module they came from (onnx only, no torch).

FP16 conversion and INT8 quantization both keep some nodes in float: RLCN always (its variance
``S2 - S1**2 / N`` cancels catastrophically at low precision), and for INT8 whatever measurement
shows to be sensitive. The dynamo exporter records each node's module path in the node's
``metadata_props["namespace"]`` (``": W/net.rlcn: edgederain.model.rlcn.RLCN/..."``); the
TorchScript exporter encodes it in the node name (``/net/rlcn/Conv``). Both are read here, so
the node lists do not depend on generated node names.

Groups: ``rlcn``; ``io`` (the wrapper's own ops outside the network's layers: reflect-pad,
[-1, 1] scaling, crop, B = I - R and the final clamp; quantizing the padded input would put an
8-bit rounding of the input straight into the output through I - R); ``stem`` (first conv +
InstanceNorm); ``head`` (last conv); ``sigmoid`` (channel- and pixel-attention gates); ``mspam``;
``channel_attention``.
"""

from __future__ import annotations

from collections import Counter
from typing import Iterable, Sequence

import onnx

from edgederain.choices import KEEP_GROUPS, KeepGroup

# Module paths inside the exported wrapper (its network attribute is called ``net``).
_GROUP_MODULES: dict[str, tuple[str, ...]] = {
    "rlcn": ("net.rlcn",),
    "stem": ("net.encoder.stem",),
    "head": ("net.head",),
    "veil": ("net.veil",),
}
_GROUP_SUFFIXES: dict[str, str] = {"mspam": ".mspam", "channel_attention": ".ca"}


def module_paths(node: onnx.NodeProto) -> tuple[str, ...]:
    """Module paths (outermost first) that ``node`` was exported from; empty if unknown."""
    for prop in node.metadata_props:
        if prop.key == "namespace":
            parts = [seg.split(":")[0].strip() for seg in prop.value.split("/")]
            return tuple(p for p in parts if p)
    if node.name.startswith("/"):
        pieces = node.name.strip("/").split("/")[:-1]
        return tuple(".".join(pieces[: i + 1]) for i in range(len(pieces)))
    return ()


def in_module(node: onnx.NodeProto, module: str) -> bool:
    """Whether ``node`` belongs to ``module`` (a dotted path such as ``net.rlcn``) or a child."""
    return any(p == module or p.startswith(module + ".") for p in module_paths(node))


def has_module_info(model: onnx.ModelProto) -> bool:
    """True when the graph's nodes carry module paths (exported by dynamo or TorchScript)."""
    return any(module_paths(n) for n in model.graph.node)


def _in_group(node: onnx.NodeProto, group: str) -> bool:
    if group == "io":  # outside the network's layers: pad, [-1, 1] scaling, crop, I - R, clamp
        return not any(p.startswith("net.") for p in module_paths(node))
    if group == "sigmoid":
        return node.op_type == "Sigmoid"
    if group in _GROUP_SUFFIXES:
        suffix = _GROUP_SUFFIXES[group]
        return any(p.endswith(suffix) or (suffix + ".") in p for p in module_paths(node))
    return any(in_module(node, m) for m in _GROUP_MODULES[group])


def nodes_in_groups(model: onnx.ModelProto, groups: Iterable[str]) -> list[str]:
    """Names of the nodes in any of ``groups`` (see :data:`KEEP_GROUPS`), in graph order."""
    groups = list(groups)
    unknown = sorted(set(groups) - set(KEEP_GROUPS))
    if unknown:
        raise ValueError(f"unknown node groups {unknown}; choose from {KEEP_GROUPS}")
    return [n.name for n in model.graph.node if any(_in_group(n, g) for g in groups)]


def first_encoder_pool(model: onnx.ModelProto) -> list[str]:
    """Name of the encoder's first (full-resolution) max-pool, as a list (empty if none).

    Behind the stem's float InstanceNorm, ONNX Runtime's CPU provider lays this pool out NCHW
    and runs it in uint8 on a generic kernel; kept in float it runs on MLAS's pooling kernel
    (see :class:`edgederain.calibration.quantize.QuantizeConfig`, ``float_first_pool``).
    """
    pools = [n.name for n in model.graph.node if n.op_type == "MaxPool" and in_module(n, "net.encoder")]
    return pools[:1]


def op_counts(model: onnx.ModelProto) -> dict[str, int]:
    """Node count per op type, most frequent first."""
    return dict(Counter(n.op_type for n in model.graph.node).most_common())


def require_names(model: onnx.ModelProto, names: Sequence[str]) -> None:
    """Raise ``ValueError`` naming any node name that is not in the graph."""
    present = {n.name for n in model.graph.node}
    missing = [n for n in names if n not in present]
    if missing:
        raise ValueError(f"nodes not in the graph: {missing[:5]}{' ...' if len(missing) > 5 else ''}")
