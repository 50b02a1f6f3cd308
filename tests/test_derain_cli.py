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
