"""INT8 calibration and quantization: frames through the runtime preprocessing, QDQ convs, cache."""

from __future__ import annotations

import numpy as np
import onnx
import pytest

from edgederain.onnxgraph.nodes import nodes_in_groups
from edgederain.calibration.quantize import QuantizeConfig, quantize_model, quantized_convs
from edgederain.calibration.reader import CalibrationFrames
from edgederain.errors import CalibrationError
from edgederain.export import quantize_onnx, read_contract
from edgederain.export.parity import OnnxRunner, compare_outputs, synthetic_frames
from export_fixtures import tiny_fp32, workdir, write_images, write_pairs


@pytest.fixture(scope="module")
def calib_dir():
    folder = workdir() / "calib"
    if not folder.is_dir():
        write_images(folder, 10, size=(72, 88))
    return folder


@pytest.fixture(scope="module")
def frames(calib_dir):
    return CalibrationFrames.from_folder(calib_dir, crop=64)


def _activation_zero_point_types(model: onnx.ModelProto) -> set[int]:
    inits = {t.name: t.data_type for t in model.graph.initializer}
    return {inits[n.input[2]] for n in model.graph.node if n.op_type == "QuantizeLinear" and len(n.input) > 2}


def test_frames_go_through_runtime_preprocessing(calib_dir, frames):
    from edgederain.io import read_rgb
    from edgederain.runtime.preprocess import to_model_input

    assert len(frames) == 10 and frames.crop == 64
    assert all(t.shape == (1, 3, 64, 64) and t.dtype == np.float32 for t in frames.tensors)
    full, _ = to_model_input(read_rgb(calib_dir / "0.png"))
    top, left = (72 - 64) // 2, (88 - 64) // 2
    np.testing.assert_array_equal(frames.tensors[0], full[:, :, top : top + 64, left : left + 64])


def test_paired_folder_calibrates_on_the_rainy_side(tmp_path):
    write_pairs(tmp_path, 8)
    frames = CalibrationFrames.from_folder(tmp_path, crop=None)
    assert len(frames) == 8 and frames.names[0] == "0.png"


def test_too_few_frames(tmp_path):
    write_images(tmp_path, 3)
    with pytest.raises(CalibrationError, match="3 calibration frame.*at least 8"):
        CalibrationFrames.from_folder(tmp_path)


def test_unreadable_image(tmp_path):
    write_images(tmp_path, 8)
    (tmp_path / "5.png").write_bytes(b"\x89PNG not really")
    with pytest.raises(CalibrationError, match="unreadable calibration image.*5.png"):
        CalibrationFrames.from_folder(tmp_path)


def test_missing_folder(tmp_path):
    with pytest.raises(CalibrationError, match="not found"):
        CalibrationFrames.from_folder(tmp_path / "nope")


def test_rlcn_cannot_be_quantized():
    with pytest.raises(CalibrationError, match="RLCN must stay in float"):
        QuantizeConfig(keep_float=("head",))
    with pytest.raises(CalibrationError, match="method"):
        QuantizeConfig(method="kl")  # type: ignore[arg-type]


def test_int8_has_qdq_around_convs_and_runs_on_cpu(frames):
    path, _ = tiny_fp32()
    fp32 = onnx.load(str(path))
    result = quantize_model(fp32, frames, config=QuantizeConfig(progress=False))
    model = result.model
    done, total = quantized_convs(model)
    rlcn = set(nodes_in_groups(fp32, ["rlcn"]))
    rlcn_convs = sum(1 for n in fp32.graph.node if n.name in rlcn and n.op_type == "Conv")
    assert done == total - rlcn_convs and done > 60  # every conv but RLCN box filters
    assert result.op_counts["QuantizeLinear"] > 0 and result.op_counts["DequantizeLinear"] > 0
    producer = {o: n.op_type for n in model.graph.node for o in n.output}
    for n in model.graph.node:
        if n.name in rlcn:  # RLCN computes on float tensors: no DequantizeLinear feeds it
            assert all(producer.get(i) != "DequantizeLinear" for i in n.input), n.name
    assert _activation_zero_point_types(model) == {onnx.TensorProto.UINT8}  # u8 activations (CPU)
    x = synthetic_frames(1, 101, 77)
    check = compare_outputs(OnnxRunner(fp32.SerializeToString())(x),
                            OnnxRunner(model.SerializeToString())(x), threshold_db=30.0)
    assert check.passed, check


def test_s8s8_scheme_uses_int8_activations(frames):
    path, _ = tiny_fp32()
    result = quantize_model(onnx.load(str(path)), frames,
                            config=QuantizeConfig(scheme="s8s8", progress=False))
    assert _activation_zero_point_types(result.model) == {onnx.TensorProto.INT8}
    assert result.settings["scheme"] == "s8s8" and result.settings["runtimes"] == ["tensorrt", "openvino-amx"]


def test_calibration_cache_is_reused_and_invalidated(frames, tmp_path):
    path, _ = tiny_fp32()
    fp32 = onnx.load(str(path))
    cache = tmp_path / "ranges.json"
    cfg = QuantizeConfig(cache=cache, progress=False)
    first = quantize_model(fp32, frames, config=cfg)
    second = quantize_model(fp32, frames, config=cfg)
    assert not first.cache_hit and second.cache_hit and cache.is_file()
    a = {t.name: onnx.numpy_helper.to_array(t) for t in first.model.graph.initializer if "scale" in t.name}
    b = {t.name: onnx.numpy_helper.to_array(t) for t in second.model.graph.initializer if "scale" in t.name}
    assert a.keys() == b.keys() and all(np.array_equal(a[k], b[k]) for k in a)
    fewer = CalibrationFrames(frames.tensors[:8], frames.names[:8], frames.source, frames.crop)
    assert not quantize_model(fp32, fewer, config=cfg).cache_hit  # other frames: recalibrated
    pct = QuantizeConfig(cache=cache, method="minmax", progress=False)
    assert not quantize_model(fp32, fewer, config=pct).cache_hit  # other method: recalibrated


def test_quantize_onnx_carries_the_contract(calib_dir, tmp_path):
    path, _ = tiny_fp32()
    pairs = write_pairs(tmp_path / "pairs", 2, size=(48, 56))
    result = quantize_onnx(path, tmp_path / "int8.onnx", calib_data=calib_dir, calib_crop=64,
                           verify_data=pairs, quantize=QuantizeConfig(progress=False))
    c = read_contract(result.path)
    assert c.precision == "int8" and c.checkpoint_sha256 == read_contract(path).checkpoint_sha256
    assert c.calibration["method"] == "percentile" and c.calibration["frames"] == 10
    assert c.calibration["scheme"] == "u8s8" and c.calibration["keep_float"] == ["rlcn", "io", "veil"]
    assert c.calibration["runtimes"] == ["onnxruntime-cpu", "openvino"]  # what the file is for
    gate = c.parity["int8_vs_fp32"]
    assert gate["passed"] and "ground_truth" in gate
    with pytest.raises(Exception, match="int8 model"):
        quantize_onnx(result.path, tmp_path / "again.onnx", calib_data=calib_dir)


def test_calibration_and_quantize_path_import_without_torch():
    from blocked_imports import run_without

    code = (
        "import edgederain.calibration.quantize, edgederain.calibration.reader, edgederain.export.parity\n"
        "from edgederain.export import attach_contract, quantize_onnx, verify_model, read_contract\n"
        "assert 'torch' not in sys.modules\n"
    )
    run = run_without(["torch"], code)
    assert run.returncode == 0, run.stderr
