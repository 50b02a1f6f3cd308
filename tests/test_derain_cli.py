"""``edgederain derain``: folders, globs, odd images, corrupt files, outputs never over inputs."""

from __future__ import annotations

import os

import numpy as np
import pytest
from PIL import Image
from runtime_fixtures import blur_model  # noqa: F401
from typer.testing import CliRunner

from edgederain.cli import app


def _rgb(h=24, w=32, seed=0):
    return np.random.default_rng(seed).integers(0, 256, (h, w, 3), dtype=np.uint8)


@pytest.fixture()
def folder(tmp_path):
    d = tmp_path / "in"
    d.mkdir()
    Image.fromarray(_rgb(seed=1)).save(d / "a.png")
    Image.fromarray(_rgb(seed=2)).save(d / "b.jpg", quality=95)
    Image.fromarray(_rgb(30, 20, seed=3)).save(d / "c.bmp")
    (d / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 40)
    return d


def _derain(*args):
    return CliRunner().invoke(app, ["derain", *map(str, args)])


def test_folder_with_a_corrupt_file_writes_the_others(folder, tmp_path, blur_model):
    out = tmp_path / "out"
    r = _derain(folder, "-o", out, "-m", blur_model, "-q")
    assert r.exit_code == 1, r.output
    assert sorted(p.name for p in out.iterdir()) == ["a.png", "b.jpg", "c.bmp"]
    assert "done 3 (3 frames), skipped 0, failed 1" in r.output
    assert "broken.png" in r.output and "corrupt" in r.output
    for name in ("a.png", "b.jpg", "c.bmp"):
        src, dst = Image.open(folder / name), Image.open(out / name)
        assert dst.format == src.format and dst.size == src.size
    assert not [p for p in out.iterdir() if p.name.startswith(".edgederain-")]


def test_all_good_inputs_exit_zero_and_rerun_skips(folder, tmp_path, blur_model):
    (folder / "broken.png").unlink()
    out = tmp_path / "out"
    assert _derain(folder, "-o", out, "-m", blur_model, "--batch", "2").exit_code == 0
    again = _derain(folder, "-o", out, "-m", blur_model, "-q")
    assert again.exit_code == 0 and "skipped 3" in again.output and "--overwrite" in again.output
    assert "done 3" in _derain(folder, "-o", out, "-m", blur_model, "-q", "--overwrite").output


def test_never_overwrites_an_input(folder, blur_model):
    before = (folder / "a.png").read_bytes()
    r = _derain(folder / "a.png", "-o", folder, "-m", blur_model, "-q")
    assert r.exit_code == 1 and "overwrite an input" in r.output
    r = _derain(folder / "a.png", "-o", folder / "a.png", "-m", blur_model, "-q", "--overwrite")
    assert r.exit_code == 1 and "overwrite an input" in r.output
    assert (folder / "a.png").read_bytes() == before


def test_unwritable_output_path_is_a_clean_error(folder, tmp_path, blur_model):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    r = _derain(folder / "a.png", "-o", blocker / "out", "-m", blur_model)
    assert r.exit_code == 2 and "cannot create the output folder" in r.output


@pytest.mark.skipif(os.geteuid() == 0, reason="root can write to read-only folders")
def test_read_only_output_folder(folder, tmp_path, blur_model):
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o500)
    r = _derain(folder / "a.png", "-o", ro, "-m", blur_model)
    assert r.exit_code == 2 and "not writable" in r.output


def test_grayscale_rgba_and_16_bit_are_converted_with_a_note(tmp_path, blur_model):
    d = tmp_path / "odd"
    d.mkdir()
    Image.fromarray(_rgb()[..., 0]).save(d / "gray.png")
    Image.fromarray(np.dstack([_rgb(), np.full((24, 32), 128, np.uint8)])).save(d / "rgba.png")
    Image.fromarray((_rgb()[..., 0].astype(np.uint16) * 257)).save(d / "deep.png")
    out = tmp_path / "out"
    r = _derain(d, "-o", out, "-m", blur_model)
    assert r.exit_code == 0, r.output
    assert "grayscale replicated to RGB" in r.output and "alpha channel discarded" in r.output
    assert "scaled to 8 bits" in r.output
    for name in ("gray.png", "rgba.png", "deep.png"):
        assert Image.open(out / name).mode == "RGB"


def test_refusing_alpha_fails_that_file_only(tmp_path, blur_model):
    d = tmp_path / "in"
    d.mkdir()
    Image.fromarray(np.dstack([_rgb(), _rgb()[..., :1]])).save(d / "rgba.png")
    Image.fromarray(_rgb()).save(d / "ok.png")
    r = _derain(d, "-o", tmp_path / "out", "-m", blur_model, "--alpha", "refuse", "-q")
    assert r.exit_code == 1 and "alpha refused" in r.output and "done 1" in r.output


def test_globs_single_file_output_and_format(folder, tmp_path, blur_model):
    r = _derain(str(folder / "*.png"), str(folder / "*.bmp"), "-o", tmp_path / "g", "-m", blur_model,
                "--format", "tif", "-q")
    assert r.exit_code == 1  # broken.png matches the glob
    assert sorted(p.name for p in (tmp_path / "g").iterdir()) == ["a.tif", "c.tif"]
    single = tmp_path / "one.png"
    assert _derain(folder / "b.jpg", "-o", single, "-m", blur_model, "-q").exit_code == 0
    assert Image.open(single).format == "PNG"
    r = _derain(folder / "a.png", folder / "c.bmp", "-o", tmp_path / "x.png", "-m", blur_model)
    assert r.exit_code == 2 and "looks like a file" in r.output


def test_missing_inputs_model_and_provider(folder, tmp_path, blur_model, monkeypatch):
    r = _derain(tmp_path / "nope.png", folder / "a.png", "-o", tmp_path / "o", "-m", blur_model, "-q")
    assert r.exit_code == 1 and "no such file" in r.output and "done 1" in r.output
    from edgederain.errors import ModelNotFoundError
    from edgederain.runtime import default_model

    def no_default(*args, **kwargs):
        raise ModelNotFoundError("no default model here; pass --model PATH")

    monkeypatch.setattr(default_model, "default_model_path", no_default)
    r = _derain(folder / "a.png", "-o", tmp_path / "o2")
    assert r.exit_code == 2 and "pass --model" in r.output
    r = _derain(folder / "a.png", "-o", tmp_path / "o3", "-m", tmp_path / "missing.onnx")
    assert r.exit_code == 2 and "model file not found" in r.output


def test_a_retired_model_name_exits_2_and_names_the_default(folder, tmp_path):
    r = _derain(folder / "a.png", "-o", tmp_path / "o", "-m", "light", "-q")
    assert r.exit_code == 2 and "retired" in r.output and "all-weather" in r.output
    assert not (tmp_path / "o").exists() or not any((tmp_path / "o").iterdir())


def test_missing_provider_exits_2_unless_fallback(folder, tmp_path, blur_model):
    import onnxruntime

    if "CUDAExecutionProvider" in onnxruntime.get_available_providers():
        pytest.skip("this onnxruntime has CUDA")
    r = _derain(folder / "a.png", "-o", tmp_path / "o", "-m", blur_model, "--provider", "cuda")
    assert r.exit_code == 2 and "cuda" in r.output
    r = _derain(folder / "a.png", "-o", tmp_path / "o", "-m", blur_model, "-p", "cuda", "--allow-fallback")
    assert r.exit_code == 0 and "warning" in r.output


def test_tiled_cli_run(folder, tmp_path, blur_model):
    r = _derain(folder / "a.png", "-o", tmp_path / "t", "-m", blur_model, "--tile", "8", "--tile-pad", "4")
    assert r.exit_code == 0, r.output
    whole = tmp_path / "w"
    _derain(folder / "a.png", "-o", whole, "-m", blur_model, "-q")
    a = np.asarray(Image.open(tmp_path / "t" / "a.png"), dtype=int)
    b = np.asarray(Image.open(whole / "a.png"), dtype=int)
    assert np.abs(a - b).max() <= 1


def test_video_is_derained_frame_by_frame(tmp_path, blur_model):
    av = pytest.importorskip("av")
    src = tmp_path / "clip.mp4"
    with av.open(str(src), "w") as c:
        s = c.add_stream("libx264", rate=10)
        s.width, s.height, s.pix_fmt = 64, 48, "yuv420p"
        for i in range(6):
            for p in s.encode(av.VideoFrame.from_ndarray(np.full((48, 64, 3), 30 * i, np.uint8), "rgb24")):
                c.mux(p)
        for p in s.encode():
            c.mux(p)
    r = _derain(src, "-o", tmp_path / "o", "-m", blur_model, "-q")
    assert r.exit_code == 0 and "6 frames" in r.output, r.output
    from edgederain.video import probe, read_video

    out = tmp_path / "o" / "clip.mp4"
    assert sum(1 for _ in read_video(out)) == 6 and probe(out).width == 64
    bad = tmp_path / "bad.mp4"
    bad.write_bytes(b"\x00\x00\x00\x18ftypmp42" + b"\x00" * 64)
    r = _derain(bad, "-o", tmp_path / "o", "-m", blur_model, "-q")
    assert r.exit_code == 1 and "video" in r.output


def test_image_into_a_video_name_is_refused(folder, tmp_path, blur_model):
    r = _derain(folder / "a.png", "-o", tmp_path / "a.mp4", "-m", blur_model, "-q")
    assert r.exit_code == 1 and "output of the same kind" in r.output


def _stdout_of(r) -> str:
    return r.stdout if hasattr(r, "stdout") else r.output


def test_fallback_warning_says_what_actually_runs(folder, tmp_path, blur_model):
    import onnxruntime

    if "CUDAExecutionProvider" in onnxruntime.get_available_providers():
        pytest.skip("this onnxruntime has CUDA")
    r = _derain(folder / "a.png", "-o", tmp_path / "o", "-m", blur_model, "-p", "cuda", "--allow-fallback", "-q")
    assert r.exit_code == 0, r.output
    line = next(x for x in r.output.splitlines() if "is not active" in x)
    assert "--provider cuda" in line and str(blur_model) in line and "on CPUExecutionProvider" in line


def test_fallback_with_the_packaged_fp16_file_names_it_and_the_fix(folder, tmp_path):
    import onnxruntime

    from edgederain.runtime.default_model import default_model_path

    if "CUDAExecutionProvider" in onnxruntime.get_available_providers():
        pytest.skip("this onnxruntime has CUDA")
    fp16 = default_model_path(precision="fp16")
    if not fp16.is_file():
        pytest.skip("packaged FP16 model absent")
    small = tmp_path / "small.png"
    Image.fromarray(_rgb(16, 16)).save(small)
    r = _derain(small, "-o", tmp_path / "o", "-p", "cuda", "--allow-fallback", "-q")
    assert r.exit_code == 0, r.output
    assert f"running {fp16} (FP16) on CPUExecutionProvider" in r.output
    assert "pass --provider cpu" in r.output


def test_failed_runs_leave_no_empty_output_folders(folder, tmp_path, blur_model):
    out = tmp_path / "out" / "nested"
    r = _derain(folder / "a.png", "-o", out, "-m", tmp_path / "missing.onnx")
    assert r.exit_code == 2 and not (tmp_path / "out").exists()
    r = _derain(folder / "broken.png", "-o", out, "-m", blur_model, "-q")
    assert r.exit_code == 1 and "corrupt" in r.output and not (tmp_path / "out").exists()
    existing = tmp_path / "existing"
    existing.mkdir()
    assert _derain(folder / "broken.png", "-o", existing, "-m", blur_model, "-q").exit_code == 1
    assert existing.is_dir()  # a folder the user made is never removed


def test_single_file_output_creates_its_folder(folder, tmp_path, blur_model):
    out = tmp_path / "new" / "sub" / "clean.png"
    r = _derain(folder / "a.png", "-o", out, "-m", blur_model, "-q")
    assert r.exit_code == 0, r.output
    assert Image.open(out).size == (32, 24)


def test_outputs_respect_the_umask(folder, tmp_path, blur_model):
    old = os.umask(0o022)
    try:
        r = _derain(folder / "a.png", folder / "b.jpg", "-o", tmp_path / "o", "-m", blur_model, "-q")
    finally:
        os.umask(old)
    assert r.exit_code == 0, r.output
    assert {p.stat().st_mode & 0o777 for p in (tmp_path / "o").iterdir()} == {0o644}


def test_ctrl_c_prints_a_summary_and_exits_130(tmp_path, blur_model, monkeypatch):
    from edgederain import runtime

    d = tmp_path / "in"
    d.mkdir()
    for i in range(5):
        Image.fromarray(_rgb(seed=i)).save(d / f"{i}.png")
    calls = []

    class Interrupting(runtime.DerainSession):
        def run(self, frames, **kwargs):
            calls.append(1)
            if len(calls) == 3:
                raise KeyboardInterrupt
            return super().run(frames, **kwargs)

    monkeypatch.setattr(runtime, "DerainSession", Interrupting)
    out = tmp_path / "out"
    r = _derain(d, "-o", out, "-m", blur_model, "-q")
    assert r.exit_code == 130, r.output
    assert "interrupted: done 2 (2 frames), skipped 0, failed 0, remaining 3" in r.output
    assert sorted(p.name for p in out.iterdir()) == ["0.png", "1.png"]
    monkeypatch.setattr(runtime, "DerainSession", runtime.session.DerainSession)
    again = _derain(d, "-o", out, "-m", blur_model, "-q")
    assert again.exit_code == 0 and "done 3 (3 frames), skipped 2" in again.output


def test_sigint_stops_a_real_run_with_a_summary(tmp_path, blur_model):
    import signal
    import subprocess
    import sys
    import time

    d = tmp_path / "in"
    d.mkdir()
    for i in range(200):
        Image.fromarray(_rgb(64, 64, seed=i)).save(d / f"{i:03d}.png")
    out = tmp_path / "out"
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    cmd = [sys.executable, "-c", "from edgederain.cli import run; run()", "derain", str(d), "-o", str(out), "-m", str(blur_model),
           "-q", "--threads", "1"]
    # A shell that starts the test suite in the background (`pytest ... &`) starts it with SIGINT
    # ignored, and a child inherits that: the run would then never see the signal. The child gets
    # the default disposition back, as a terminal's Ctrl-C would find it.
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    deadline = time.monotonic() + 60
    def finished_outputs():
        return [p for p in out.iterdir() if not p.name.startswith(".")] if out.is_dir() else []

    while len(finished_outputs()) < 2 and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.02)
    proc.send_signal(signal.SIGINT)
    stdout, stderr = proc.communicate(timeout=60)
    if proc.returncode == 0:
        pytest.skip("the run finished before the signal arrived")
    assert proc.returncode == 130, (stdout, stderr)
    assert "interrupted: done" in stdout and "remaining" in stdout
    written = [p for p in out.iterdir()]
    assert written and all(not p.name.startswith(".edgederain-") for p in written)
    assert len(written) < 200
    for p in written:
        assert Image.open(p).size == (64, 64)


def test_a_checkpoint_passed_as_the_model_says_export_it(folder, tmp_path):
    ckpt = tmp_path / "derain.pt"
    ckpt.write_bytes(b"PK\x03\x04" + b"\x00" * 64)  # torch.save writes a zip archive
    r = _derain(folder / "a.png", "-o", tmp_path / "o", "-m", ckpt)
    assert r.exit_code == 2 and "PyTorch checkpoint" in r.output and "edgederain export" in r.output
    assert "protobuf" not in r.output.lower()


@pytest.mark.parametrize("args, option, internal", [
    (["--tile", "4"], "--tile", "tile tile"),
    (["--threads", "-1"], "--threads", "intra_op_threads"),
    (["--tile", "16", "--tile-pad", "-1"], "--tile-pad", "tile pad must"),
    (["--batch", "0"], "--batch", "batch must"),
    (["--format", "gif"], "--format", "output format"),
    (["--max-pixels", "-5"], "--max-pixels", "max_pixels must"),
])
def test_option_errors_name_the_command_line_option(folder, tmp_path, blur_model, args, option, internal):
    r = _derain(folder / "a.png", "-o", tmp_path / "o", "-m", blur_model, *args)
    assert r.exit_code == 2 and option in r.output and internal not in r.output, r.output


def test_bench_option_errors_name_the_option(blur_model):
    for args, option in ((["--batch", "0"], "--batch"), (["--duration", "0"], "--duration"),
                         (["--shape", "0x8"], "--shape"), (["--threads", "-2"], "--threads")):
        r = CliRunner().invoke(app, ["bench", str(blur_model), *args])
        assert r.exit_code == 2 and option in r.output, r.output


def _png_header(path, width: int, height: int) -> None:
    """A PNG claiming width x height pixels with (almost) no pixel data."""
    import struct
    import zlib

    def chunk(tag, data):
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\x00" * 64))
                     + chunk(b"IEND", b""))


def test_pixel_limit_is_higher_with_tiling_and_set_by_max_pixels(folder, tmp_path, blur_model):
    huge = tmp_path / "huge.png"
    _png_header(huge, 15000, 10000)  # 150 MP: above the untiled default, within the tiled one
    r = _derain(huge, folder / "a.png", "-o", tmp_path / "o", "-m", blur_model, "-q")
    assert r.exit_code == 1 and "limit of 100,000,000" in r.output and "--max-pixels" in r.output
    r = _derain(huge, "-o", tmp_path / "o", "-m", blur_model, "-q", "--tile", "256")
    assert r.exit_code == 1 and "more than the limit" not in r.output and "truncated" in r.output
    r = _derain(folder / "a.png", "-o", tmp_path / "o2", "-m", blur_model, "-q", "--max-pixels", "700")
    assert r.exit_code == 1 and "768 pixels, more than the limit of 700" in r.output
    r = _derain(huge, "-o", tmp_path / "o3", "-m", blur_model, "-q", "--max-pixels", "0")
    assert r.exit_code == 1 and "more than the limit" not in r.output


def test_exif_orientation_is_applied_to_outputs(tmp_path, blur_model):
    exif = Image.Exif()
    exif[0x0112] = 6
    Image.fromarray(_rgb(24, 40)).save(tmp_path / "o6.jpg", quality=95, exif=exif)
    r = _derain(tmp_path / "o6.jpg", "-o", tmp_path / "o", "-m", blur_model)
    assert r.exit_code == 0 and "EXIF orientation 6 applied" in r.output
    out = Image.open(tmp_path / "o" / "o6.jpg")
    assert out.size == (24, 40) and out.getexif().get(0x0112) is None


def test_batch_goes_on_past_every_kind_of_bad_file_and_never_touches_inputs(tmp_path, blur_model):
    from test_io import _png16

    d = tmp_path / "in"
    d.mkdir()
    Image.fromarray(_rgb(seed=1)).save(d / "good.png")
    full = (d / "good.png").read_bytes()
    (d / "truncated.png").write_bytes(full[: len(full) // 2])
    (d / "zero.png").write_bytes(b"")
    (d / "text.jpg").write_text("not a jpeg")
    _png16(d / "deep_rgb.png", _rgb(seed=2).astype(np.uint16) * 257)
    Image.fromarray(_rgb(seed=3)[..., 0]).save(d / "gray.png")
    Image.fromarray(np.dstack([_rgb(seed=4), _rgb(seed=5)[..., :1]])).save(d / "rgba.png")
    before = {p.name: p.read_bytes() for p in d.iterdir()}
    out = tmp_path / "out"
    r = _derain(d, "-o", out, "-m", blur_model, "--batch", "3")
    assert r.exit_code == 1, r.output
    assert "done 4 (4 frames), skipped 0, failed 3" in r.output
    assert sorted(p.name for p in out.iterdir()) == ["deep_rgb.png", "good.png", "gray.png", "rgba.png"]
    assert "truncated.png: corrupt or truncated" in r.output and "zero.png: file is empty" in r.output
    assert "text.jpg: not a readable image" in r.output and "16-bit per channel reduced" in r.output
    assert {p.name: p.read_bytes() for p in d.iterdir()} == before
    r = _derain(d, "-o", d, "-m", blur_model, "-q", "--overwrite")
    assert r.exit_code == 1 and "done 0" in r.output and r.output.count("overwrite an input") == 7
    assert {p.name: p.read_bytes() for p in d.iterdir()} == before


def test_output_folder_that_cannot_be_created_fails_cleanly(folder, tmp_path, blur_model):
    r = _derain(folder / "a.png", "-o", "/proc/edgederain-out", "-m", blur_model, "-q")
    assert r.exit_code in (1, 2) and ("cannot create" in r.output or "not writable" in r.output), r.output
    assert "Traceback" not in r.output


def test_no_input_found_is_a_usage_error(tmp_path, blur_model):
    r = _derain(tmp_path / "nope.png", "-o", tmp_path / "o", "-m", blur_model)
    assert r.exit_code == 2 and "no input found" in r.output and "nope.png" in r.output
    assert not (tmp_path / "o").exists()


def test_video_progress_reports_frames(tmp_path, blur_model):
    av = pytest.importorskip("av")
    from edgederain.derain_files import JobOptions, run_job
    from edgederain.runtime import DerainSession

    src = tmp_path / "clip.mp4"
    with av.open(str(src), "w") as c:
        s = c.add_stream("libx264", rate=10)
        s.width, s.height, s.pix_fmt = 32, 24, "yuv420p"
        for i in range(5):
            for p in s.encode(av.VideoFrame.from_ndarray(_rgb(24, 32, seed=i), "rgb24")):
                c.mux(p)
        for p in s.encode():
            c.mux(p)
    seen = []
    summary = run_job(DerainSession(blur_model), [src], JobOptions(tmp_path / "o"),
                      on_progress=lambda source, done, total: seen.append((source, done, total)))
    assert summary.ok and [d for _, d, _ in seen] == [1, 2, 3, 4, 5]
    assert {s for s, _, _ in seen} == {str(src)} and {t for _, _, t in seen} <= {5, None}
    r = _derain(src, "-o", tmp_path / "o2", "-m", blur_model)
    assert r.exit_code == 0 and "frame" in r.output and "clip.mp4" in r.output
    quiet = _derain(src, "-o", tmp_path / "o3", "-m", blur_model, "-q")
    assert "frame/s" not in quiet.output


def test_kill_9_then_rerun_leaves_only_complete_outputs(tmp_path, blur_model):
    import signal
    import subprocess
    import sys
    import time

    d = tmp_path / "in"
    d.mkdir()
    for i in range(150):
        Image.fromarray(_rgb(96, 96, seed=i)).save(d / f"{i:03d}.png")
    out = tmp_path / "out"
    cmd = [sys.executable, "-c", "from edgederain.cli import run; run()", "derain", str(d), "-o", str(out),
           "-m", str(blur_model), "-q", "--threads", "1"]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            env={**os.environ, "OMP_NUM_THREADS": "1"})
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and proc.poll() is None:
        if out.is_dir() and len(os.listdir(out)) >= 20:
            break
        time.sleep(0.01)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    r = _derain(d, "-o", out, "-m", blur_model, "-q")
    assert r.exit_code == 0, r.output
    names = sorted(os.listdir(out))
    assert names == sorted(p.name for p in d.iterdir())  # no temporaries left, none missing
    for name in names[::7]:
        assert np.asarray(Image.open(out / name)).shape == (96, 96, 3)


def test_a_stale_temporary_from_a_killed_run_is_removed(folder, tmp_path, blur_model):
    import subprocess
    import sys

    from edgederain.io import temporary_file

    out = tmp_path / "out"
    out.mkdir()
    host = temporary_file(out, ".png").name.split("-")[1]
    for p in out.iterdir():
        p.unlink()
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True).stdout.strip()
    (out / f".edgederain-{host}-{dead}-0123456789ab.png").write_bytes(b"half a png")
    assert _derain(folder / "a.png", "-o", out, "-m", blur_model, "-q").exit_code == 0
    assert sorted(os.listdir(out)) == ["a.png"]


def test_input_overwrite_checks_grow_linearly_with_the_inputs(tmp_path, blur_model, monkeypatch):
    from pathlib import Path

    d = tmp_path / "in"
    d.mkdir()
    for i in range(60):
        Image.fromarray(_rgb(8, 8, seed=i)).save(d / f"{i:02d}.png")
    calls = [0]
    real = Path.resolve

    def counting(self, *args, **kwargs):
        calls[0] += 1
        return real(self, *args, **kwargs)

    monkeypatch.setattr(Path, "resolve", counting)
    r = _derain(d, "-o", tmp_path / "out", "-m", blur_model, "-q")
    assert r.exit_code == 0, r.output
    assert calls[0] < 20 * 60, calls[0]  # comparing every output with every input took 60 * 60 * 2


def test_video_outputs_respect_the_umask(tmp_path, blur_model):
    av = pytest.importorskip("av")
    src = tmp_path / "clip.mp4"
    with av.open(str(src), "w") as c:
        s = c.add_stream("libx264", rate=10)
        s.width, s.height, s.pix_fmt = 32, 24, "yuv420p"
        for i in range(3):
            for p in s.encode(av.VideoFrame.from_ndarray(_rgb(24, 32, seed=i), "rgb24")):
                c.mux(p)
        for p in s.encode():
            c.mux(p)
    old = os.umask(0o022)
    try:
        r = _derain(src, "-o", tmp_path / "o", "-m", blur_model, "-q")
    finally:
        os.umask(old)
    assert r.exit_code == 0, r.output
    assert (tmp_path / "o" / "clip.mp4").stat().st_mode & 0o777 == 0o644
