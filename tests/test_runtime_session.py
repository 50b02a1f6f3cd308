"""DerainSession: frame kinds in and out, every bad input, contracts, fixed shapes, IO binding."""

from __future__ import annotations

import numpy as np
import pytest
from runtime_fixtures import blur_model, blur_reference, write_blur_model  # noqa: F401

from edgederain.contract import IOContract
from edgederain.errors import ConfigError, ContractError, InputError, ModelLoadError, ModelNotFoundError
from edgederain.runtime import DerainSession, ProviderConfig, SessionConfig, TileConfig


@pytest.fixture(scope="module")
def session(blur_model):
    return DerainSession(blur_model)


def _frame(h=37, w=53, seed=0):
    return np.random.default_rng(seed).integers(0, 256, (h, w, 3), dtype=np.uint8)


def test_uint8_frame_matches_the_graph(session):
    frame = _frame()
    out = session.run(frame)
    assert out.dtype == np.uint8 and out.shape == frame.shape
    x = frame.transpose(2, 0, 1)[None].astype(np.float32) / 255.0
    want = np.rint(np.clip(blur_reference(x)[0].transpose(1, 2, 0), 0, 1) * 255).astype(np.uint8)
    assert np.abs(out.astype(int) - want).max() <= 1


def test_float_frame_and_batches_keep_their_kind(session):
    frame = _frame()
    f = frame.astype(np.float32) / 255.0
    out_f = session.run(f)
    assert out_f.dtype == np.float32 and out_f.shape == f.shape
    batch = np.stack([frame, _frame(seed=1)])
    out_b = session(batch)
    assert out_b.shape == batch.shape and out_b.dtype == np.uint8
    np.testing.assert_array_equal(out_b[0], session.run(frame))


def test_max_batch_splits_without_changing_results(blur_model):
    s = DerainSession(blur_model, SessionConfig(max_batch=2))
    batch = np.stack([_frame(seed=i) for i in range(5)])
    np.testing.assert_array_equal(s.run(batch), DerainSession(blur_model).run(batch))


@pytest.mark.parametrize(
    "bad, match",
    [
        (np.zeros((20, 20, 3), np.float64), "uint8 or float32"),
        (np.zeros((20, 20, 3), np.int32), "uint8 or float32"),
        (np.zeros((3, 20, 20), np.uint8), "channel-first"),
        (np.zeros((2, 3, 20, 20), np.uint8), "channel-first"),
        (np.zeros((20, 20, 4), np.uint8), "3 channels"),
        (np.zeros((20, 20), np.uint8), "H x W x 3"),
        (np.zeros((0, 20, 3), np.uint8), "zero size"),
        (np.zeros((20, 0, 3), np.uint8), "zero size"),
        (np.zeros((4, 20, 3), np.uint8), "at least 8x8"),
        (np.full((20, 20, 3), 2.0, np.float32), r"\[0, 1\]"),
        ([[1, 2, 3]], "numpy array"),
    ],
)
def test_bad_inputs_raise_input_error(session, bad, match):
    with pytest.raises(InputError, match=match):
        session.run(bad)


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.float16])
@pytest.mark.parametrize("value", [np.nan, np.inf, -np.inf])
def test_non_finite_values_are_refused(session, value, dtype):
    frame = np.full((16, 16, 3), 0.5, dtype)
    frame[3, 4, 1] = value
    with pytest.raises(InputError, match=r"NaN or Inf values \(1 of 768, the first at index \[3, 4, 1\]\).*nan_to_num"):
        session.run(frame)


_RNG = np.random.default_rng(0)


@pytest.mark.parametrize(
    "bad, want, unwanted",
    [
        (_RNG.random((20, 20, 3)), r"float64; its values are in \[0, 1\] already: cast them with frames\.astype\(np\.float32\)$", "/ 255"),
        (_RNG.random((20, 20, 3)).astype(np.float16), r"float16; .*\[0, 1\] already", "/ 255"),
        (_RNG.random((20, 20, 3)) * 255, r"float64; its values are in \[0, 255\]: pass frames\.astype\(np\.float32\) / 255$", "np.uint8"),
        (_RNG.integers(0, 256, (20, 20, 3)), r"int64; its values are in \[0, 255\]: pass frames\.astype\(np\.uint8\)", None),
        (_RNG.integers(0, 65536, (20, 20, 3)).astype(np.uint16), r"uint16; its values look 16-bit.*/ 65535", "/ 255"),
        (_RNG.normal(0, 100, (20, 20, 3)), r"float64; its values span \[-?[\d.]+, [\d.]+\]: scale them to \[0, 1\]", "/ 255"),
    ],
)
def test_dtype_hint_follows_the_value_range(session, bad, want, unwanted):
    with pytest.raises(InputError, match=want) as info:
        session.run(bad)
    assert "uint8 or float32" in str(info.value)
    if unwanted:
        assert unwanted not in str(info.value)


def test_float32_range_hint(session):
    with pytest.raises(InputError, match="divide 8-bit data by 255"):
        session.run(np.full((16, 16, 3), 200.0, np.float32))
    with pytest.raises(InputError, match=r"got \[-3, 0.5\]; scale them to \[0, 1\]"):
        session.run(np.concatenate([np.full((8, 16, 3), -3.0), np.full((8, 16, 3), 0.5)]).astype(np.float32))


def test_model_without_contract_is_refused(tmp_path):
    path = write_blur_model(tmp_path / "bare.onnx", contract=None)
    with pytest.raises(ContractError, match="carries no edgederain contract"):
        DerainSession(path)


def test_contract_naming_other_tensors_is_refused(tmp_path):
    path = write_blur_model(tmp_path / "x.onnx", contract=IOContract(input_name="frames"))
    with pytest.raises(ContractError, match="graph has inputs"):
        DerainSession(path)


def test_missing_and_unreadable_model_files(tmp_path):
    with pytest.raises(ModelNotFoundError, match="not found"):
        DerainSession(tmp_path / "nope.onnx")
    junk = tmp_path / "junk.onnx"
    junk.write_bytes(b"not a model at all")
    with pytest.raises(ModelLoadError, match="cannot load"):
        DerainSession(junk)


def test_fixed_size_model_needs_tiling_for_other_sizes(tmp_path):
    shape = (1, 3, 32, 48)
    path = write_blur_model(tmp_path / "fixed.onnx", contract=IOContract(input_shape=shape), shape=shape)
    s = DerainSession(path)
    assert s.run(_frame(32, 48)).shape == (32, 48, 3)
    with pytest.raises(InputError, match="accepts only 32x48"):
        s.run(_frame(40, 60))
    tiled = DerainSession(path, SessionConfig(tiling=TileConfig(tile=16, pad=4)))
    big = _frame(70, 100)
    out = tiled.run(big)
    assert out.shape == big.shape
    assert tiled.tile_plan(70, 100).win_h == 32
    with pytest.raises(InputError, match="smaller than the 32x48"):
        tiled.run(_frame(20, 100))


def test_fixed_batch_model_runs_any_batch(tmp_path):
    shape = (2, 3, "height", "width")
    path = write_blur_model(tmp_path / "b2.onnx", contract=IOContract(input_shape=shape), shape=shape)
    s = DerainSession(path)
    batch = np.stack([_frame(seed=i) for i in range(3)])
    out = s.run(batch)
    assert out.shape == batch.shape
    np.testing.assert_array_equal(out[2], s.run(np.stack([batch[2], batch[2]]))[0])
    assert s.run(batch[0]).shape == batch[0].shape


def test_io_binding_path_gives_the_same_output(blur_model, session):
    bound = DerainSession(blur_model, SessionConfig(providers=ProviderConfig(io_binding=True)))
    assert bound.info.io_binding
    frame = _frame()
    np.testing.assert_array_equal(bound.run(frame), session.run(frame))


def test_run_tensor_checks_its_argument(session):
    x = np.random.default_rng(0).random((1, 3, 16, 24), dtype=np.float32)
    np.testing.assert_allclose(session.run_tensor(x), blur_reference(x), atol=1e-6)
    with pytest.raises(InputError, match="N x 3 x H x W"):
        session.run_tensor(x[0])


def test_info_reports_what_runs(session):
    info = session.info
    assert info.active == ("CPUExecutionProvider",)
    assert info.requested == ("cpu",) and info.fallback_reasons == ()
    assert info.precision == "fp32" and info.creation_seconds > 0
    assert "CPUExecutionProvider" in repr(session)


def test_session_config_validation():
    with pytest.raises(ConfigError):
        SessionConfig(max_batch=0)
    with pytest.raises(ConfigError):
        SessionConfig(graph_optimization="max")
    with pytest.raises(ConfigError):
        SessionConfig(providers="cpu")
    cfg = SessionConfig.for_provider("cpu", threads=2, tile=256)
    assert cfg.providers.cpu.intra_op_threads == 2 and cfg.tiling == TileConfig(tile=256, pad=32)
