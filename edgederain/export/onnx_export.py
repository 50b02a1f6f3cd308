"""Trace the inference network to an ONNX graph (FP32): the wrapper and the exporter call.

The graph is the inference path only: float32 RGB ``N x 3 x H x W`` in [0, 1] in, the clamped
derained image out. RLCN is in the graph as plain ops (depthwise all-ones ``Conv`` box filters),
and so are the reflect-pad of H and W to a multiple of 8 and the crop back (``Pad`` + ``Slice``):
without the in-graph pad the export succeeds and ONNX Runtime fails at run time on other sizes.

Exporter choice: the dynamo exporter (``torch.onnx.export(..., dynamo=True)``) at opset 18.

- It takes ``dynamic_shapes`` with named ``Dim`` objects, whose ``min=8`` matches the network's
  smallest input, so the pad's size checks are resolved at export time instead of silently
  specialising to the example size.
- It records each node's module path in the node metadata, which is how RLCN and other nodes
  are found to keep them in float for FP16 and INT8 (:mod:`edgederain.onnxgraph.nodes`).
- It folds BatchNorm into the convs and makes ~40 % fewer nodes than the TorchScript exporter.
- Opset 18, not the exporter's default 20: at opset >= 19 ONNX Runtime's CPU provider ran this
  network 1.6-1.7x slower, and dynamo cannot go below 18. The TorchScript exporter
  (``exporter="torchscript"``) remains available for opset 17 consumers.

Upsampling (``upsample``): ``resize`` traces the decoder's nearest x2 + 3x3 conv as they are;
``subpixel`` traces the same function computed at low resolution
(:class:`~edgederain.model.blocks.SubpixelUp`: four 2x2 convs + DepthToSpace, 4/9 of those
convs' MACs, BatchNorm folded). The export pipeline picks ``subpixel`` for FP32/FP16 and
``resize`` for INT8, where ONNX Runtime's uint8 kernels favour it.
"""

from __future__ import annotations

import copy
import io
import logging
import tempfile
import warnings
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import onnx
import torch
from torch import nn

from edgederain.choices import Exporter
from edgederain.errors import ExportError
from edgederain.export.config import UPSAMPLES, Upsample
from edgederain.onnxgraph.rewrite import global_average_pools
from edgederain.model.net import DerainNet

INPUT_NAME = "image"
OUTPUT_NAME = "derained"
MAX_SIDE = 16384


class InferenceWrapper(nn.Module):
    """``image`` (N x 3 x H x W, [0, 1]) -> ``derained``; pad, [-1, 1] scaling and crop inside.

    With ``upsample="subpixel"`` the wrapper holds a copy of ``net`` whose decoder
    :class:`~edgederain.model.blocks.Up` modules are replaced by their
    :class:`~edgederain.model.blocks.SubpixelUp` equivalents (``net`` itself is not changed).
    """

    def __init__(self, net: DerainNet, upsample: Upsample = "resize") -> None:
        super().__init__()
        if upsample not in UPSAMPLES:
            raise ExportError(f"upsample must be one of {UPSAMPLES}, got {upsample!r}")
        self.net = subpixel_copy(net) if upsample == "subpixel" else net

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        return self.net.infer(image)


def subpixel_copy(net: DerainNet) -> DerainNet:
    """An eval-mode copy of ``net`` with every decoder ``Up`` computed as a ``SubpixelUp``."""
    from edgederain.model.blocks import SubpixelUp, Up

    twin = copy.deepcopy(net).eval()
    for level in twin.decoder:
        if isinstance(level.up, Up):
            level.up = SubpixelUp(level.up)
    return twin


@contextmanager
def _quiet_exporter() -> Iterator[None]:
    """Silence the exporter's progress chatter for this call only (no process-wide filters)."""
    loggers = [logging.getLogger(n) for n in ("torch.onnx", "torch.export", "torch._dynamo")]
    levels = [lg.level for lg in loggers]
    for lg in loggers:
        lg.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        for lg, level in zip(loggers, levels):
            lg.setLevel(level)


def _example(net: DerainNet, static_size: tuple[int, int] | None, batch: int | None) -> torch.Tensor:
    m = net.config.size_multiple
    h, w = static_size or (4 * m + 3, 5 * m + 1)
    return torch.rand(batch or 2, 3, h, w, generator=torch.Generator().manual_seed(0))


def _dynamo(wrapper, x, *, opset, static_size, batch) -> onnx.ModelProto:
    from torch.export import Dim

    dims: dict[int, Dim] = {}
    if batch is None:
        dims[0] = Dim("batch", min=1, max=1024)
    if static_size is None:
        min_side = wrapper.net.config.size_multiple
        dims[2] = Dim("height", min=min_side, max=MAX_SIDE)
        dims[3] = Dim("width", min=min_side, max=MAX_SIDE)
    program = torch.onnx.export(
        wrapper, (x,), dynamo=True, opset_version=opset, input_names=[INPUT_NAME],
        output_names=[OUTPUT_NAME], dynamic_shapes={"image": dims} if dims else None,
        external_data=False, optimize=True, verbose=False,
    )
    return program.model_proto


def _torchscript(wrapper, x, *, opset, static_size, batch) -> onnx.ModelProto:
    axes = {0: "batch"} if batch is None else {}
    if static_size is None:
        axes.update({2: "height", 3: "width"})
    buf = io.BytesIO()
    torch.onnx.export(
        wrapper, (x,), buf, dynamo=False, opset_version=opset, input_names=[INPUT_NAME],
        output_names=[OUTPUT_NAME], dynamic_axes={INPUT_NAME: axes, OUTPUT_NAME: axes} if axes else None,
    )
    return onnx.load_from_string(buf.getvalue())


def export_graph(
    net: DerainNet,
    *,
    opset: int = 18,
    static_size: tuple[int, int] | None = None,
    batch: int | None = None,
    exporter: Exporter = "dynamo",
    upsample: Upsample = "resize",
) -> onnx.ModelProto:
    """FP32 ONNX graph of ``net.infer``; dims left ``None`` are dynamic (named batch/height/width).

    Exact rewrites from :mod:`edgederain.onnxgraph.rewrite` are applied to the traced graph.
    """
    if exporter == "dynamo" and opset < 18:
        raise ExportError(
            f"the dynamo exporter writes opset >= 18 only (asked for {opset}); use opset 18, or "
            "exporter='torchscript' (--exporter torchscript) for an opset-17 consumer"
        )
    wrapper = InferenceWrapper(net.eval(), upsample).eval()
    x = _example(net, static_size, batch)
    run = _dynamo if exporter == "dynamo" else _torchscript
    try:
        with torch.no_grad(), _quiet_exporter():
            proto = run(wrapper, x, opset=opset, static_size=static_size, batch=batch)
    except ExportError:
        raise
    except Exception as exc:  # noqa: BLE001 - the exporters raise many types
        raise ExportError(f"ONNX export ({exporter}, opset {opset}) failed: {exc}") from exc
    got = next((o.version for o in proto.opset_import if o.domain in ("", "ai.onnx")), None)
    if got != opset:
        raise ExportError(f"asked for opset {opset} but the exporter wrote opset {got}")
    _check_self_contained(proto)
    global_average_pools(proto)
    strip_trace_metadata(proto)
    return proto


# Node metadata the dynamo exporter writes that describes the build machine, not the model:
# Python stack traces (absolute source paths) and FX node dumps. Module paths (``namespace``,
# ``pkg.torch.onnx.name_scopes``, ``pkg.torch.onnx.class_hierarchy``) are kept: node groups use them.
TRACE_KEYS: frozenset[str] = frozenset({"pkg.torch.onnx.stack_trace", "pkg.torch.onnx.fx_node"})


def strip_trace_metadata(proto: onnx.ModelProto) -> int:
    """Remove :data:`TRACE_KEYS` from every node's metadata; returns how many entries went."""
    removed = 0
    for node in proto.graph.node:
        drop = [p for p in node.metadata_props if p.key in TRACE_KEYS]
        for prop in drop:
            node.metadata_props.remove(prop)
        removed += len(drop)
    return removed


def _check_self_contained(proto: onnx.ModelProto) -> None:
    """The graph must carry its weights (no external data) and round-trip through one file."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "graph.onnx"
        onnx.save_model(proto, str(path), save_as_external_data=False)
        extra = [p.name for p in Path(tmp).iterdir() if p.name != "graph.onnx"]
    if extra or any(t.data_location == onnx.TensorProto.EXTERNAL for t in proto.graph.initializer):
        raise ExportError(f"export produced external data {extra}; it must be one file")
