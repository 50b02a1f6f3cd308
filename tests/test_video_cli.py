"""``edgederain derain`` on videos: --temporal, --preview, --keep-audio, timing, broken inputs."""

from __future__ import annotations

import numpy as np
import pytest
from runtime_fixtures import blur_model  # noqa: F401
from typer.testing import CliRunner

av = pytest.importorskip("av")

from edgederain.cli import app  # noqa: E402
from edgederain.video import read_video  # noqa: E402
from test_video_io import frame_times, make_video, truncate  # noqa: E402


def _derain(*args):
    return CliRunner().invoke(app, ["derain", *map(str, args)])


@pytest.mark.parametrize("motion", ["flow", "mask"])
def test_temporal_keeps_every_frame_and_the_timing(tmp_path, blur_model, motion):
    if motion == "flow":
        pytest.importorskip("cv2")
    pts = [0, 40, 80, 200, 240, 400, 440, 480]
    src = make_video(tmp_path / "clip.mkv", len(pts), pts_ms=pts)
    out = tmp_path / "o" / "clip.mkv"
    r = _derain(src, "-o", out, "-m", blur_model, "--temporal", "--temporal-motion", motion, "--threads", "1")
    assert r.exit_code == 0, r.output
    assert frame_times(out) == [p / 1000 for p in pts]
    assert "fps" in r.output and "temporal" in r.output and "8 frames" in r.output


def test_temporal_output_differs_from_per_frame_on_a_still_noisy_video(tmp_path, blur_model):
    rng = np.random.default_rng(0)
    src = tmp_path / "still.mkv"
    with av.open(str(src), "w") as c:
        s = c.add_stream("ffv1", rate=10)
        s.width, s.height = 64, 48
        base = rng.integers(60, 190, (48, 64, 3)).astype(np.float32)
        for _ in range(10):
            f = np.clip(base + rng.normal(0, 8, base.shape), 0, 255).astype(np.uint8)
            for p in s.encode(av.VideoFrame.from_ndarray(f, format="rgb24")):
                c.mux(p)
        for p in s.encode():
            c.mux(p)
    plain, steady = tmp_path / "plain.mkv", tmp_path / "steady.mkv"
    assert _derain(src, "-o", plain, "-m", blur_model, "-q").exit_code == 0
    assert _derain(src, "-o", steady, "-m", blur_model, "-q", "--temporal", "--temporal-motion", "mask").exit_code == 0
    std = [np.stack(list(read_video(p))).astype(float).std(axis=0).mean() for p in (plain, steady)]
    assert std[1] < 0.8 * std[0]


def test_preview_is_input_beside_output(tmp_path, blur_model):
    src = make_video(tmp_path / "clip.mp4", 5)
    r = _derain(src, "-o", tmp_path / "o", "-m", blur_model, "--preview", "-q")
    assert r.exit_code == 0, r.output
    frames = list(read_video(tmp_path / "o" / "clip.preview.mp4"))
    assert len(frames) == 5 and frames[0].shape == (48, 128, 3)
    outs = list(read_video(tmp_path / "o" / "clip.mp4"))
    assert np.abs(frames[2][:, 64:].astype(int) - outs[2].astype(int)).mean() < 3


def test_audio_is_copied_only_when_asked(tmp_path, blur_model):
    src = make_video(tmp_path / "talk.mp4", 10, audio=True)
    assert _derain(src, "-o", tmp_path / "a", "-m", blur_model, "-q", "--keep-audio").exit_code == 0
    assert _derain(src, "-o", tmp_path / "b", "-m", blur_model, "-q").exit_code == 0
    counts = []
    for folder in ("a", "b"):
        with av.open(str(tmp_path / folder / "talk.mp4")) as c:
            counts.append(len(c.streams.audio))
    assert counts == [1, 0]


def test_a_truncated_video_keeps_the_frames_before_the_break_and_fails(tmp_path, blur_model):
    cut = truncate(make_video(tmp_path / "v.mp4", 30, noisy=True, options={"movflags": "faststart"}))
    out = tmp_path / "o" / "cut.mp4"
    r = _derain(cut, "-o", out, "-m", blur_model, "-q")
    assert r.exit_code == 1
    assert "breaks after frame" in r.output and "kept the" in r.output, r.output
    n = int(r.output.split("kept the ")[1].split()[0])
    assert 0 < n < 30 and sum(1 for _ in read_video(out)) == n


def test_an_interrupted_video_leaves_no_partial_output(tmp_path, blur_model, monkeypatch):
    from edgederain.runtime import stream

    src = make_video(tmp_path / "clip.mp4", 8)
    calls = {"n": 0}
    original = stream.DerainStream.push

    def push(self, frame):
        calls["n"] += 1
        if calls["n"] == 4:
            raise KeyboardInterrupt
        return original(self, frame)

    monkeypatch.setattr(stream.DerainStream, "push", push)
    r = _derain(src, "-o", tmp_path / "o", "-m", blur_model, "-q")
    assert r.exit_code == 130
    assert not (tmp_path / "o").exists() or not any((tmp_path / "o").iterdir())


def test_flow_mode_without_opencv_is_a_usage_error_before_any_work(tmp_path, blur_model, monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "cv2", None)
    src = make_video(tmp_path / "clip.mp4", 3)
    r = _derain(src, "-o", tmp_path / "o", "-m", blur_model, "--temporal")
    assert r.exit_code == 2 and "edgederain[video]" in r.output and "mask" in r.output
    assert not (tmp_path / "o").exists()


def test_audio_the_output_container_refuses_fails_with_the_fix(tmp_path, blur_model):
    src = tmp_path / "pcm.mkv"
    with av.open(str(src), "w") as c:
        s = c.add_stream("libx264", rate=25)
        s.width, s.height, s.pix_fmt = 64, 48, "yuv420p"
        a = c.add_stream("pcm_s16le", rate=16000)
        for i in range(5):
            for p in s.encode(av.VideoFrame.from_ndarray(np.zeros((48, 64, 3), np.uint8), format="rgb24")):
                c.mux(p)
            af = av.AudioFrame.from_ndarray(np.zeros((1, 640), np.int16), format="s16", layout="mono")
            af.sample_rate, af.pts = 16000, i * 640
            for p in a.encode(af):
                c.mux(p)
        for p in s.encode():
            c.mux(p)
    r = _derain(src, "-o", tmp_path / "out.mp4", "-m", blur_model, "-q", "--keep-audio")
    assert r.exit_code == 1 and "drop --keep-audio" in r.output, r.output
    assert not (tmp_path / "out.mp4").exists() and not list(tmp_path.glob(".edgederain-*"))
    r = _derain(src, "-o", tmp_path / "out.mkv", "-m", blur_model, "-q", "--keep-audio")
    assert r.exit_code == 0, r.output


def test_batched_video_frames_match_one_by_one(tmp_path, blur_model):
    src = tmp_path / "noise.mkv"
    rng = np.random.default_rng(5)
    with av.open(str(src), "w") as c:
        s = c.add_stream("ffv1", rate=10)
        s.width, s.height = 64, 48
        for _ in range(7):
            f = av.VideoFrame.from_ndarray(rng.integers(0, 255, (48, 64, 3), dtype=np.uint8), format="rgb24")
            for p in s.encode(f):
                c.mux(p)
        for p in s.encode():
            c.mux(p)
    one, three = tmp_path / "one.mkv", tmp_path / "three.mkv"
    assert _derain(src, "-o", one, "-m", blur_model, "-q").exit_code == 0
    assert _derain(src, "-o", three, "-m", blur_model, "-q", "--batch", "3").exit_code == 0
    a, b = list(read_video(one)), list(read_video(three))
    assert len(a) == len(b) == 7 and max(np.abs(x.astype(int) - y.astype(int)).max() for x, y in zip(a, b)) <= 1
