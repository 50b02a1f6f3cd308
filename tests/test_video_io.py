"""Video reading and writing: time stamps, audio, truncated files, stream URLs on loopback."""

from __future__ import annotations

import functools
import http.server
import socket
import threading
import time
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

av = pytest.importorskip("av")

from edgederain.errors import ImageReadError  # noqa: E402
from edgederain.video import TruncatedVideoError, VideoReader, VideoWriter, is_url, read_video  # noqa: E402


def make_video(path: Path, n: int = 12, *, pts_ms=None, audio: bool = False, noisy: bool = False,
               options=None) -> Path:
    """A 64x48 H.264 video of ``n`` frames (frame i is grey 20 i, or noise), optionally with
    given time stamps in milliseconds and a silent AAC track."""
    rng = np.random.default_rng(0)
    with av.open(str(path), "w", options=options or {}) as c:
        s = c.add_stream("libx264", rate=25)
        s.width, s.height, s.pix_fmt = 64, 48, "yuv420p"
        if pts_ms is not None:
            s.time_base = Fraction(1, 1000)
        a = c.add_stream("aac", rate=16000) if audio else None
        for i in range(n):
            rgb = rng.integers(0, 255, (48, 64, 3), dtype=np.uint8) if noisy else np.full((48, 64, 3), 20 * i % 250, np.uint8)
            f = av.VideoFrame.from_ndarray(rgb, format="rgb24")
            if pts_ms is not None:
                f.pts, f.time_base = pts_ms[i], Fraction(1, 1000)
            for p in s.encode(f):
                c.mux(p)
        for p in s.encode():
            c.mux(p)
        if a is not None:
            for i in range(n * 640 // 1024 + 1):
                af = av.AudioFrame.from_ndarray(np.zeros((1, 1024), np.float32), format="fltp", layout="mono")
                af.sample_rate, af.pts = 16000, i * 1024
                for p in a.encode(af):
                    c.mux(p)
            for p in a.encode():
                c.mux(p)
    return path


def truncate(path: Path, share: float = 0.6) -> Path:
    data = path.read_bytes()
    out = path.with_name("cut" + path.suffix)
    out.write_bytes(data[: int(len(data) * share)])
    return out


def frame_times(path: Path) -> list[float]:
    with av.open(str(path)) as c:
        return [round(float(f.time), 3) for f in c.decode(c.streams.video[0])]


def test_time_stamps_and_audio_are_kept(tmp_path):
    pts = [0, 40, 80, 200, 240, 400, 440, 480]
    src = make_video(tmp_path / "vfr.mkv", len(pts), pts_ms=pts, audio=True)
    with VideoReader(src) as reader:
        assert reader.audio is not None and reader.info.has_audio
        with VideoWriter(tmp_path / "out.mp4", reader.info, audio_like=reader.audio) as w:
            for frame in reader.frames(on_audio=w.write_audio):
                w.write(255 - frame.rgb, pts=frame.pts, time_base=frame.time_base)
    assert frame_times(tmp_path / "out.mp4") == [p / 1000 for p in pts]
    with av.open(str(tmp_path / "out.mp4")) as c:
        assert len(c.streams.audio) == 1 and sum(1 for _ in c.demux(c.streams.audio[0])) > 1


def test_a_truncated_mp4_raises_after_the_frames_before_the_break(tmp_path):
    cut = truncate(make_video(tmp_path / "v.mp4", 30, noisy=True, options={"movflags": "faststart"}))
    got = []
    with pytest.raises(TruncatedVideoError, match="breaks after frame") as info:
        with VideoReader(cut) as reader:
            for frame in reader.frames():
                got.append(frame)
    assert 0 < len(got) < 30 and info.value.frames == len(got)


def test_a_truncated_mkv_that_ends_quietly_is_still_reported(tmp_path):
    cut = truncate(make_video(tmp_path / "v.mkv", 30, noisy=True))
    with pytest.raises(TruncatedVideoError, match="ends after frame .* declares"):
        for _ in read_video(cut):
            pass
    assert sum(1 for _ in read_video(make_video(tmp_path / "whole.mkv", 30, noisy=True))) == 30


def test_an_mp4_cut_before_its_index_is_a_clear_error(tmp_path):
    cut = truncate(make_video(tmp_path / "v.mp4", 30, noisy=True))  # index (moov) at the end: gone
    with pytest.raises(ImageReadError, match="not a readable video"):
        VideoReader(cut)


@pytest.fixture
def http_server(tmp_path):
    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=str(tmp_path)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_a_video_served_on_loopback_streams_like_the_file(tmp_path, http_server):
    from edgederain.runtime.stream import DerainStream

    class Invert:
        def run(self, frames):
            return 255 - frames

    make_video(tmp_path / "clip.mkv", 10)
    url = f"{http_server}/clip.mkv"
    assert is_url(url) and not is_url(tmp_path / "clip.mkv")
    outs = list(DerainStream(Invert(), batch=3).run(read_video(url, timeout=5)))
    assert len(outs) == 10
    np.testing.assert_array_equal(outs[3], 255 - list(read_video(tmp_path / "clip.mkv"))[3])


def test_a_stream_that_stalls_mid_way_raises_after_the_timeout(tmp_path):
    data = make_video(tmp_path / "v.mkv", 30, noisy=True).read_bytes()

    class Stall(http.server.BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def do_GET(self):
            self.send_response(200)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data[: len(data) // 2])
            self.wfile.flush()
            time.sleep(6)

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Stall)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    got, start = 0, time.monotonic()
    try:
        with pytest.raises(TruncatedVideoError, match="stalled after frame .* within 1 s") as info:
            for _ in read_video(f"http://127.0.0.1:{server.server_address[1]}/v.mkv", timeout=1.0):
                got += 1
    finally:
        server.shutdown()
        server.server_close()
    assert 0 < got < 30 and info.value.frames == got and time.monotonic() - start < 6


@pytest.fixture
def silent_server():
    """Accepts connections and never answers."""
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(8)
    held = []
    stop = threading.Event()

    def accept():
        srv.settimeout(0.2)
        while not stop.is_set():
            try:
                held.append(srv.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield srv.getsockname()[1]
    stop.set()
    thread.join(2)
    for conn in held:
        conn.close()
    srv.close()


@pytest.mark.parametrize("scheme", ["http", "rtsp"])
def test_an_address_that_never_answers_times_out_with_a_clear_error(silent_server, scheme):
    start = time.monotonic()
    with pytest.raises(ImageReadError, match="no answer within 1 s|cannot open the stream"):
        VideoReader(f"{scheme}://127.0.0.1:{silent_server}/live", timeout=1.0)
    assert time.monotonic() - start < 10


def test_a_refused_connection_is_a_clear_error():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed again when the block ends: nothing listens there
    with pytest.raises(ImageReadError, match="cannot open the stream"):
        VideoReader(f"http://127.0.0.1:{port}/x.mp4", timeout=2.0)


def test_lossless_codecs_give_the_frames_back_bit_for_bit(tmp_path):
    from edgederain.video import VideoInfo

    rng = np.random.default_rng(1)
    frames = [rng.integers(0, 255, (48, 64, 3), dtype=np.uint8) for _ in range(3)]
    with VideoWriter(tmp_path / "x.mkv", VideoInfo(64, 48, Fraction(25), "ffv1", None)) as w:
        for f in frames:
            w.write(f)
    back = list(read_video(tmp_path / "x.mkv"))
    assert len(back) == 3 and all(np.array_equal(a, b) for a, b in zip(frames, back))
