"""INT8: the encoder's first max-pool stays float by default (ORT ran it NCHW in uint8 on a generic
kernel behind the stem's float InstanceNorm), the other pools stay quantized, and the contract
records the choice."""

from __future__ import annotations

import onnx
import pytest
from export_fixtures import tiny_fp32, workdir, write_images

from edgederain.onnxgraph.nodes import first_encoder_pool
from edgederain.calibration.quantize import QuantizeConfig, quantize_model
from edgederain.calibration.reader import CalibrationFrames


@pytest.fixture(scope="module")
def fp32_and_frames():
    pytest.importorskip("torch")
    folder = workdir() / "calib_pool"
    if not folder.is_dir():
        write_images(folder, 8, size=(64, 80))
    path, _ = tiny_fp32()
    return onnx.load(str(path)), CalibrationFrames.from_folder(folder, crop=64)


def _pool_inputs(model: onnx.ModelProto) -> dict[str, str]:
    """MaxPool node name -> op type of the node feeding it."""
    producer = {o: n.op_type for n in model.graph.node for o in n.output}
    return {n.name: producer.get(n.input[0], "?") for n in model.graph.node if n.op_type == "MaxPool"}


def test_first_encoder_pool_is_the_full_resolution_one(fp32_and_frames):
    fp32, _ = fp32_and_frames
    pools = [n.name for n in fp32.graph.node if n.op_type == "MaxPool"]
    assert len(pools) == 3 and first_encoder_pool(fp32) == pools[:1]


def test_default_keeps_only_the_first_pool_in_float(fp32_and_frames):
    fp32, frames = fp32_and_frames
    first = first_encoder_pool(fp32)[0]
    on = quantize_model(fp32, frames, config=QuantizeConfig(progress=False))
    off = quantize_model(fp32, frames, config=QuantizeConfig(progress=False, float_first_pool=False))
    assert first in on.kept_float and first not in off.kept_float
    assert on.settings["float_first_pool"] is True and off.settings["float_first_pool"] is False
    assert len(on.kept_float) == len(off.kept_float) + 1
    # in QDQ both pools read a DequantizeLinear; the difference is what the pool writes: the float
    # pool's output is quantized by a QuantizeLinear of its own, the quantized pool shares its
    # input's scale (ORT fuses DQ -> MaxPool -> Q into a uint8 pool)
    assert set(_pool_inputs(on.model).values()) == {"DequantizeLinear"}
    assert on.model.SerializeToString() != off.model.SerializeToString()
