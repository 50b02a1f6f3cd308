"""Small ONNX models for the runtime tests, built here so the tests do not depend on the exporter.

- :func:`write_blur_model`: a hand-built graph (``onnx.helper``): derained = 0.5 x + 0.5 box3(x),
  any N, H, W (or fixed ones), with or without a contract. Fast to build and to run, and local
  (a 3x3 receptive field) so tiled output equals untiled output away from rounding.
- :func:`write_net_model`: a real DerainNet preset (random weights, seeded) exported with the
  dynamo exporter at opset 18, for tests that need the network's behaviour (tiling PSNR).

Import the pytest fixtures into a test module with ``from runtime_fixtures import blur_model``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from edgederain.contract import IOContract


def write_blur_model(
    path: Path,
    *,
    contract: IOContract | None = IOContract(),
    shape: tuple = ("batch", 3, "height", "width"),
) -> Path:
    """Write the blur graph; ``contract=None`` writes a model without a contract."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    w = np.full((3, 1, 3, 3), 1.0 / 9.0, np.float32)
    nodes = [
        helper.make_node("Conv", ["image", "w"], ["blurred"], group=3, pads=[1, 1, 1, 1]),
        helper.make_node("Mul", ["blurred", "half"], ["a"]),
        helper.make_node("Mul", ["image", "half"], ["b"]),
        helper.make_node("Add", ["a", "b"], ["derained"]),
    ]
    graph = helper.make_graph(
        nodes,
        "blur",
        [helper.make_tensor_value_info("image", TensorProto.FLOAT, list(shape))],
        [helper.make_tensor_value_info("derained", TensorProto.FLOAT, list(shape))],
        [numpy_helper.from_array(w, "w"), numpy_helper.from_array(np.array(0.5, np.float32), "half")],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)])
    model.ir_version = 9
    if contract is not None:
        helper.set_model_props(model, contract.to_metadata())
    onnx.checker.check_model(model)
    onnx.save(model, str(path))
    return path


def blur_reference(x: np.ndarray) -> np.ndarray:
    """What the blur graph computes, in numpy (float32 N x 3 x H x W, zero padding)."""
    p = np.pad(x, ((0, 0), (0, 0), (1, 1), (1, 1)))
    h, w = x.shape[-2:]
    box = sum(p[..., i : i + h, j : j + w] for i in range(3) for j in range(3)) / 9.0
    return (0.5 * x + 0.5 * box).astype(np.float32)


def _lively_weights(net, rain_std: float) -> None:
    """Re-draw conv weights (He init) and scale the head so the predicted rain layer is far
    from zero: with the ECNet init (std 0.02) an untrained net returns its input almost exactly,
    which would make any tiled-vs-untiled comparison meaningless."""
    import torch

    for m in net.modules():
        if isinstance(m, torch.nn.Conv2d):
            torch.nn.init.kaiming_normal_(m.weight, nonlinearity="relu")
    with torch.no_grad():
        x = torch.rand(1, 3, 64, 64)
        rain = net(x).rain
        net.head.weight.mul_(rain_std / float(rain.std()))
        net.head.bias.zero_()


def write_net_model(
    path: Path, *, preset: str = "tiny", seed: int = 0, rain_std: float | None = 0.05
) -> Path:
    """Export a seeded DerainNet preset (random weights) to ONNX with a contract attached.

    ``rain_std``: re-draw weights so the predicted rain layer has about this std (None keeps the
    ECNet init, whose output is nearly the input)."""
    import onnx
    import torch
    from torch.export import Dim

    from edgederain.model import build_model

    torch.manual_seed(seed)
    net = build_model(preset).eval()
    if rain_std is not None:
        _lively_weights(net, rain_std)

    class Infer(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.net = net

        def forward(self, image: torch.Tensor) -> torch.Tensor:
            return self.net.infer(image)

    x = torch.rand(1, 3, 35, 41)
    dims = {"image": {0: Dim("batch", min=1, max=64), 2: Dim("height", min=8, max=8192),
                      3: Dim("width", min=8, max=8192)}}
    with torch.no_grad():
        prog = torch.onnx.export(Infer().eval(), (x,), dynamo=True, opset_version=18, dynamic_shapes=dims,
                                 input_names=["image"], output_names=["derained"], verbose=False)
    model = prog.model_proto
    contract = IOContract(variant=net.config.variant, model_config=net.config.to_dict(), opset=18)
    for key, value in contract.to_metadata().items():
        entry = model.metadata_props.add()
        entry.key, entry.value = key, value
    onnx.save(model, str(path), save_as_external_data=False)
    return path


@pytest.fixture(scope="session")
def blur_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A dynamic-size blur model with a contract."""
    return write_blur_model(tmp_path_factory.mktemp("models") / "blur.onnx")


@pytest.fixture(scope="session")
def tiny_net_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The ``tiny`` DerainNet preset exported to ONNX (seeded random weights)."""
    pytest.importorskip("torch")
    return write_net_model(tmp_path_factory.mktemp("models") / "tiny.onnx")
