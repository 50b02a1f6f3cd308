"""The C++ runtime and command-line example (examples/cpp) against the Python DerainSession.

Built once per test session (scripts/fetch_ort_cpp.sh, then CMake) with the onnxruntime library of
the Python running the tests, so both sides run the same ONNX Runtime build. Skipped when there is
no C++ compiler or CMake, or when the package archives cannot be reached. The packaged models are
compared as they are at test time (copied first, so a model replaced mid-test cannot mix two
files), never against stored figures.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from runtime_fixtures import write_blur_model

from edgederain.contract import METADATA_KEY, IOContract
from edgederain.errors import EdgeDerainError
from edgederain.io import read_rgb
from edgederain.metrics import psnr
from edgederain.runtime import DerainSession, SessionConfig

REPO = Path(__file__).resolve().parents[1]
BUILD = REPO / "build" / "cpp"
WEIGHTS = REPO / "edgederain" / "weights"
THREADS = 2  # the same intra-op thread count on both sides
MIN_PSNR_DB = 60.0


def _run(cmd: list, **env: str) -> subprocess.CompletedProcess:
    full_env = dict(os.environ, OMP_NUM_THREADS="1", **env)
    return subprocess.run([str(c) for c in cmd], capture_output=True, text=True, env=full_env, cwd=REPO)


@pytest.fixture(scope="session")
def cpp_cli() -> Path:
    """Fetch the dependencies and build examples/cpp (incremental, under a lock); the CLI's path."""
    missing = [t for t in ("c++", "cmake") if shutil.which(t) is None]
    if missing:
        pytest.skip(f"C++ example not built: {' and '.join(missing)} not found on PATH")
    BUILD.mkdir(parents=True, exist_ok=True)
    out = BUILD / "example"
    gen = ["-G", "Ninja"] if shutil.which("ninja") else []
    with open(BUILD / "build.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # other test runs in this checkout share the folder
        fetch = _run(["nice", "-n", "15", "bash", "scripts/fetch_ort_cpp.sh", BUILD / "deps"],
                     EDGEDERAIN_PYTHON=sys.executable)
        if fetch.returncode == 3:
            pytest.skip(f"C++ example not built: {fetch.stderr.strip().splitlines()[-1]}")
        assert fetch.returncode == 0, fetch.stderr
        if out.is_dir() and not (out / ("build.ninja" if gen else "Makefile")).exists():
            shutil.rmtree(out)  # configured earlier with another generator
        for cmd in (
            ["cmake", "-S", "examples/cpp", "-B", out, "-C", BUILD / "deps" / "deps.cmake", *gen],
            ["nice", "-n", "15", "cmake", "--build", out, "-j2"],
        ):
            r = _run(cmd)
            assert r.returncode == 0, f"{cmd}\n{r.stdout[-4000:]}\n{r.stderr[-4000:]}"
    return out / "edgederain-derain"


@pytest.fixture(scope="module")
def models(tmp_path_factory) -> dict[str, Path]:
    """The packaged FP32 and INT8 files, copied as they are now."""
    d = tmp_path_factory.mktemp("models")
    return {p: Path(shutil.copy(WEIGHTS / f"derain_{p}.onnx", d / f"derain_{p}.onnx")) for p in ("fp32", "int8")}


@pytest.fixture(scope="module")
def py_sessions(models) -> dict[str, DerainSession]:
    cfg = SessionConfig.for_provider("cpu", threads=THREADS)
    return {p: DerainSession(path, cfg) for p, path in models.items()}


def _derain_cpp(cli: Path, model: Path, frame: np.ndarray, tmp: Path, *extra: str) -> np.ndarray:
    src, dst = tmp / "in.png", tmp / "out.png"
    Image.fromarray(frame).save(src)
    r = _run([cli, model, src, dst, "--threads", THREADS, *extra])
    assert r.returncode == 0, r.stderr
    return read_rgb(dst)


def _fails(cli: Path, *args) -> str:
    """Run the CLI expecting a user error: exit 2 and one 'error: ...' line; returns stderr."""
    r = _run([cli, *args])
    assert r.returncode == 2, (r.returncode, r.stdout, r.stderr)
    assert r.stderr.startswith("error: "), r.stderr
    return r.stderr


def _python_error(fn) -> str:
    with pytest.raises(EdgeDerainError) as info:
        fn()
    return str(info.value)


# --- the same pixels as DerainSession ---------------------------------------------------------------
@pytest.mark.parametrize("precision", ["fp32", "int8"])
@pytest.mark.parametrize("name", ["1.png", "37.png"])
def test_rain100l_frames_match_python(cpp_cli, models, py_sessions, rain100l_dir, tmp_path, precision, name):
    frame = read_rgb(rain100l_dir / "rainy" / name)
    got = _derain_cpp(cpp_cli, models[precision], frame, tmp_path)
    want = py_sessions[precision].run(frame)
    assert got.shape == frame.shape
    assert not np.array_equal(want, frame)  # the model changed the frame: a comparison that can fail
    db = psnr(got, want)
    assert db >= MIN_PSNR_DB, f"{precision} {name}: C++ vs Python {db:.2f} dB"


@pytest.mark.parametrize("precision", ["fp32", "int8"])
@pytest.mark.parametrize("size", [(37, 53), (8, 8), (8, 61), (45, 9)])
def test_odd_sizes_match_python(cpp_cli, models, py_sessions, rain100l_dir, tmp_path, precision, size):
    h, w = size
    frame = np.ascontiguousarray(read_rgb(rain100l_dir / "rainy" / "1.png")[40 : 40 + h, 100 : 100 + w])
    got = _derain_cpp(cpp_cli, models[precision], frame, tmp_path)
    want = py_sessions[precision].run(frame)
    assert got.shape == (h, w, 3)
    db = psnr(got, want)
    assert db >= MIN_PSNR_DB, f"{precision} {h}x{w}: C++ vs Python {db:.2f} dB"


def _affine_model(path: Path, scale, shift) -> Path:
    """derained = image * scale + shift per channel, with a contract (any size)."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    dims = ["batch", 3, "height", "width"]
    a = np.asarray(scale, np.float32).reshape(1, 3, 1, 1)
    b = np.asarray(shift, np.float32).reshape(1, 3, 1, 1)
    graph = helper.make_graph(
        [helper.make_node("Mul", ["image", "a"], ["scaled"]), helper.make_node("Add", ["scaled", "b"], ["derained"])],
        "affine",
        [helper.make_tensor_value_info("image", TensorProto.FLOAT, dims)],
        [helper.make_tensor_value_info("derained", TensorProto.FLOAT, dims)],
        [numpy_helper.from_array(a, "a"), numpy_helper.from_array(b, "b")],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)])
    model.ir_version = 9
    helper.set_model_props(model, IOContract().to_metadata())
    onnx.save(model, str(path))
    return path


def _half_way(k: int) -> np.float32:
    """A float32 c with c * 255 == k + 0.5 exactly in float32 (a rounding tie)."""
    c = np.float32((k + 0.5) / 255)
    for cand in (c, np.nextafter(c, np.float32(1)), np.nextafter(c, np.float32(0))):
        if cand * np.float32(255) == np.float32(k + 0.5):
            return cand
    raise AssertionError(f"no float32 tie for {k}")


def test_conversions_match_python_bit_for_bit(cpp_cli, tmp_path):
    """Every 8-bit value in, clipping at both ends, a rounding tie (2.5 -> 2, half to even), and a
    scale that puts outputs near .5: the C++ frames equal DerainSession's exactly."""
    model = _affine_model(tmp_path / "affine.onnx", [1.25, 0.0, 0.7], [-0.1, float(_half_way(2)), 0.0])
    ramp = np.arange(256, dtype=np.uint8).reshape(16, 16)
    frame = np.stack([ramp, ramp.T, ramp[::-1]], axis=-1)
    want = DerainSession(model).run(frame)
    assert (want[..., 1] == 2).all() and want[..., 0].min() == 0 and want[..., 0].max() == 255
    assert np.array_equal(_derain_cpp(cpp_cli, model, frame, tmp_path), want)
    # a camera buffer with padded rows goes through the pointer + stride API
    assert np.array_equal(_derain_cpp(cpp_cli, model, frame, tmp_path, "--row-padding", "13"), want)


def test_runtime_reports_the_library_it_runs_on(cpp_cli, models):
    import onnxruntime

    r = _run([cpp_cli, models["fp32"], "--info", "--json"])
    assert r.returncode == 0, r.stderr
    info = json.loads(r.stdout)
    header = (BUILD / "deps" / "ort" / "include" / "onnxruntime_c_api.h").read_text()
    assert f"#define ORT_API_VERSION {info['api_version']}" in header
    assert info["onnxruntime"] == onnxruntime.__version__
    assert info["available_providers"] == onnxruntime.get_available_providers()
    assert info["providers"] == ["CPUExecutionProvider"]
    assert info["contract"] == DerainSession(models["fp32"]).contract.to_dict()


# --- bad inputs: a clear error, exit 2, the Python runtime's message ---------------------------------
def test_model_without_contract(cpp_cli, models, tmp_path):
    import onnx

    proto = onnx.load(str(models["fp32"]))
    del proto.metadata_props[:]
    bare = tmp_path / "bare.onnx"
    onnx.save(proto, str(bare))
    frame = tmp_path / "f.png"
    Image.fromarray(np.zeros((16, 16, 3), np.uint8)).save(frame)
    err = _fails(cpp_cli, bare, frame, tmp_path / "out.png")
    assert "carries no edgederain contract (metadata key 'edgederain.contract')" in err
    assert _python_error(lambda: DerainSession(bare)) in err
    assert not (tmp_path / "out.png").exists()


def _contract_model(path: Path, contract: dict | str) -> Path:
    """The blur graph with a contract (a dict of changes, or the raw JSON text) stored past
    IOContract's own validation."""
    import onnx

    write_blur_model(path)
    proto = onnx.load(str(path))
    text = contract if isinstance(contract, str) else json.dumps({**IOContract().to_dict(), **contract})
    for prop in proto.metadata_props:
        if prop.key == METADATA_KEY:
            prop.value = text
    onnx.save(proto, str(path))
    return path


def _nested(depth: int) -> dict:
    inner: dict = {}
    for _ in range(depth):
        inner = {"a": inner}
    return inner


@pytest.mark.parametrize(
    "contract, expect",
    [
        ({"schema_version": 2}, "model contract schema_version 2 is not supported by this edgederain"),
        ({"schema_version": True}, "model contract schema_version true is not supported"),
        ({"zzz": 1, "colour": "RGB"}, "invalid model contract: unknown fields 'colour', 'zzz' (known: calibration,"),
        ({"precision": "bf16"}, "precision must be one of ('fp32', 'fp16', 'int8'), got \"bf16\""),
        ({"layout": "NHWC"}, "layout must be 'NCHW', got \"NHWC\""),
        ({"value_range": [0, 255]}, "value_range must be [0, 1], got [0, 255]"),
        ({"value_range": [0, 1, 2]}, "value_range must be an array of two numbers [0, 1], got an array of 3 entries"),
        ({"input_shape": ["batch", 1, "h", "w"]}, "input_shape must be [N, 3, H, W], got channel entry 1"),
        ({"input_shape": ["batch", 3, "", "w"]}, "input_shape[2] must be a non-empty string"),
        ({"size_multiple": 0}, "size_multiple must be an integer from 1 to 2147483647, got 0"),
        ({"min_size": 8.0}, "min_size must be an integer, got 8.0"),
        ({"checkpoint_sha256": "ABC"}, "checkpoint_sha256 must be 64 lowercase hex digits or null"),
        ({"versions": {"onnx": 5}}, "versions.onnx must be a string, got 5"),
        ({"versions": {f"p{i}": "1" for i in range(4097)}}, "versions has 4097 entries (at most 4096)"),
        ({"x" * 90: 1}, "unknown fields '" + "x" * 80 + "'... (known:"),
        ({"model_config": _nested(40)}, "JSON is nested deeper than 32 levels"),
        ({"producer": "someone-else" * 5}, "producer must be 'edgederain', got \"someone-elsesomeone-elsesomeone-elsesome\"..."),
        ('{"schema_version": 1, "precision": "fp32", "precision": "int8"}', "key \"precision\" appears more than once"),
        ("[1, 2]", "model contract must be a JSON object, got an array of 2 entries"),
        ({"input_name": "frame"}, "contract names input 'frame' / output 'derained' but the graph has inputs ['image']"),
    ],
)
def test_bad_contracts_fail_as_in_python(cpp_cli, tmp_path, contract, expect):
    model = _contract_model(tmp_path / "m.onnx", contract)
    frame = tmp_path / "f.png"
    Image.fromarray(np.zeros((16, 16, 3), np.uint8)).save(frame)
    err = _fails(cpp_cli, model, frame, tmp_path / "out.png")
    assert expect in err
    assert f"error: {_python_error(lambda: DerainSession(model))}\n" == err


def test_contract_not_json(cpp_cli, tmp_path):
    model = _contract_model(tmp_path / "m.onnx", '{"schema_version": 1, ')
    frame = tmp_path / "f.png"
    Image.fromarray(np.zeros((16, 16, 3), np.uint8)).save(frame)
    head = f"{model}: model contract is not valid JSON: "
    assert head in _fails(cpp_cli, model, frame, tmp_path / "out.png")
    assert _python_error(lambda: DerainSession(model)).startswith(head)  # the parsers' own words differ


def test_contract_with_python_json_extensions(cpp_cli, tmp_path):
    """Python's json writes and reads NaN / Infinity (an export's parity figures may hold them)."""
    model = _contract_model(tmp_path / "m.onnx", {"parity": {"psnr_db": float("inf"), "max_abs": float("nan")}})
    frame = np.random.default_rng(0).integers(0, 256, (12, 20, 3), dtype=np.uint8)
    assert np.array_equal(_derain_cpp(cpp_cli, model, frame, tmp_path), DerainSession(model).run(frame))


def test_missing_files(cpp_cli, models, tmp_path):
    frame = tmp_path / "f.png"
    Image.fromarray(np.zeros((16, 16, 3), np.uint8)).save(frame)
    missing = tmp_path / "nope.onnx"
    err = _fails(cpp_cli, missing, frame, tmp_path / "out.png")
    assert f"{missing}: model file not found" in err
    assert _python_error(lambda: DerainSession(missing)) in err
    err = _fails(cpp_cli, models["fp32"], tmp_path / "nope.png", tmp_path / "out.png")
    assert f"{tmp_path / 'nope.png'}: no such file" in err
    err = _fails(cpp_cli, models["fp32"], frame, tmp_path / "no" / "dir" / "out.png")
    assert "output folder" in err and "does not exist" in err


def test_wrong_model_files_as_in_python(cpp_cli, tmp_path):
    """A folder, an empty file, a PyTorch checkpoint and a file that is not ONNX: the Python
    runtime's messages (for the last, up to ONNX Runtime's own words)."""
    frame = tmp_path / "f.png"
    Image.fromarray(np.zeros((16, 16, 3), np.uint8)).save(frame)
    folder = tmp_path / "models"
    folder.mkdir()
    (folder / "b.onnx").write_bytes(b"x")
    (folder / "a.onnx").write_bytes(b"x")
    empty = tmp_path / "empty.onnx"
    empty.write_bytes(b"")
    legacy = tmp_path / "derain.pt"
    legacy.write_bytes(b"\x80\x02}q\x00.")  # the start of a legacy torch.save pickle
    for path, expect in [
        (folder, "is a folder, not a model file; pass one of the .onnx files in it: a.onnx, b.onnx"),
        (empty, "the model file is empty (0 bytes)"),
        (legacy, "this is a PyTorch checkpoint, not an ONNX model: export it first"),
    ]:
        err = _fails(cpp_cli, path, frame, tmp_path / "out.png")
        assert expect in err
        assert err == f"error: {_python_error(lambda: DerainSession(path))}\n"
    junk = tmp_path / "junk.onnx"
    junk.write_bytes(b"this is not a protobuf" * 10)
    err = _fails(cpp_cli, junk, frame, tmp_path / "out.png")
    head = f"{junk}: ONNX Runtime cannot load this model ("
    assert err.startswith(f"error: {head}") and "pass an .onnx file written by `edgederain export`" in err
    assert _python_error(lambda: DerainSession(junk)).startswith(head)


def test_grayscale_and_non_png_inputs(cpp_cli, models, tmp_path):
    gray = tmp_path / "gray.png"
    Image.fromarray(np.full((16, 16), 128, np.uint8)).save(gray)
    err = _fails(cpp_cli, models["fp32"], gray, tmp_path / "out.png")
    assert f"{gray}: grayscale PNG; the model takes 8-bit RGB frames" in err
    jpeg = tmp_path / "frame.jpg"
    Image.fromarray(np.zeros((16, 16, 3), np.uint8)).save(jpeg)
    assert f"{jpeg}: not a PNG file" in _fails(cpp_cli, models["fp32"], jpeg, tmp_path / "out.png")
    assert not (tmp_path / "out.png").exists()


def test_too_small_frame(cpp_cli, models, py_sessions, tmp_path):
    tiny = np.full((1, 1, 3), 200, np.uint8)
    src = tmp_path / "tiny.png"
    Image.fromarray(tiny).save(src)
    err = _fails(cpp_cli, models["fp32"], src, tmp_path / "out.png")
    assert "frames are 1x1; the model needs at least 8x8" in err
    assert _python_error(lambda: py_sessions["fp32"].run(tiny)) in err


def test_refuses_to_overwrite_its_input(cpp_cli, models, tmp_path):
    src = tmp_path / "f.png"
    Image.fromarray(np.zeros((16, 16, 3), np.uint8)).save(src)
    before = src.read_bytes()
    assert "refusing to overwrite an input file" in _fails(cpp_cli, models["int8"], src, src)
    assert src.read_bytes() == before


def test_providers_as_in_python(cpp_cli, models, tmp_path):
    import onnxruntime

    src = tmp_path / "f.png"
    Image.fromarray(np.zeros((16, 16, 3), np.uint8)).save(src)
    err = _fails(cpp_cli, models["int8"], src, tmp_path / "out.png", "--provider", "warp-drive")
    assert "unknown execution provider 'warp-drive'" in err
    assert "choose one of ['tensorrt', 'cuda', 'openvino', 'cpu']" in err
    if "CUDAExecutionProvider" in onnxruntime.get_available_providers():
        pytest.skip("this onnxruntime has CUDA; the missing-provider error cannot be shown")
    err = _fails(cpp_cli, models["int8"], src, tmp_path / "out.png", "--provider", "cuda")
    py = _python_error(lambda: DerainSession(models["int8"], SessionConfig.for_provider("cuda")))
    same = py.split("); ")[0]  # up to the fix, which names a Python package on that side
    assert same.startswith("requested execution provider 'cuda' is not available: CUDAExecutionProvider")
    assert same in err
    r = _run([cpp_cli, models["int8"], src, tmp_path / "out.png", "--provider", "cuda", "--allow-fallback", "--json"])
    assert r.returncode == 0, r.stderr
    report = json.loads(r.stdout)
    assert report["providers"] == ["CPUExecutionProvider"]
    assert report["fallback_reasons"][0].startswith("cuda: CUDAExecutionProvider is not available")


# --- docs/embedding.md: both camera-loop examples run as written --------------------------------------
EMBEDDING_DOC = REPO / "docs" / "embedding.md"


def _doc_block(lang: str) -> str:
    import re

    blocks = re.findall(rf"```{lang}\n(.*?)```", EMBEDDING_DOC.read_text(encoding="utf-8"), flags=re.S)
    assert len(blocks) == 1, f"expected one {lang} block in {EMBEDDING_DOC}"
    return blocks[0]


def test_embedding_doc_python_example_runs(tmp_path):
    model = write_blur_model(tmp_path / "blur.onnx")
    namespace = {"MODEL_PATH": str(model), "__name__": "docs_example"}
    exec(compile(_doc_block("python"), str(EMBEDDING_DOC), "exec"), namespace)
    assert namespace["session"].contract.input_name == "image"


def test_embedding_doc_cpp_example_runs(cpp_cli, tmp_path):
    src = tmp_path / "camera_loop.cpp"
    src.write_text(_doc_block("cpp"))
    exe = tmp_path / "camera_loop"
    lib_dir = BUILD / "deps" / "ort" / "lib"
    r = _run(["nice", "-n", "15", "c++", "-std=c++17", "-O1", "-Wall", "-Werror", "-I", REPO / "examples/cpp/include",
              src, cpp_cli.parent / "libedgederain_cpp.a", "-L", lib_dir, "-l:libonnxruntime.so.1",
              f"-Wl,-rpath,{lib_dir}", "-o", exe])
    assert r.returncode == 0, r.stderr
    r = _run([exe], MODEL_PATH=str(write_blur_model(tmp_path / "blur.onnx")))
    assert r.returncode == 0, r.stderr
    assert [line.split(":")[0] for line in r.stdout.splitlines()] == ["frame 0", "frame 1", "frame 2"]
    r = _run([exe], MODEL_PATH=str(tmp_path / "missing.onnx"))
    assert r.returncode == 2 and "model file not found" in r.stderr
