"""DerainStream: order, batching, bounded memory, state resets; the torch-free import boundary."""

from __future__ import annotations

import subprocess
import sys
import tracemalloc
from pathlib import Path

import numpy as np
import pytest
from runtime_fixtures import blur_model  # noqa: F401

from edgederain.errors import ConfigError, InputError
from edgederain.runtime.stream import DerainStream
from edgederain.runtime.temporal import TemporalConfig

REPO = Path(__file__).resolve().parents[1]


class Tagger:
    """A fake session: output = input + 1 (mod 256); records the batch sizes it was given."""

    active_providers = ("CPUExecutionProvider",)

    def __init__(self) -> None:
        self.calls: list[int] = []

    def run(self, frames: np.ndarray) -> np.ndarray:
        self.calls.append(1 if frames.ndim == 3 else frames.shape[0])
        return (frames.astype(np.uint16) + 1).astype(np.uint8)


def _frames(n: int, h: int = 8, w: int = 10) -> list[np.ndarray]:
    return [np.full((h, w, 3), i % 250, np.uint8) for i in range(n)]


@pytest.mark.parametrize("batch", [1, 3, 4])
def test_frames_come_out_in_order_one_for_one(batch):
    session = Tagger()
    outs = list(DerainStream(session, batch=batch).run(_frames(10)))
    assert [int(o[0, 0, 0]) for o in outs] == list(range(1, 11))
    assert sum(session.calls) == 10 and max(session.calls) == batch
    assert session.calls[-1] == (10 % batch or batch)


def test_push_returns_a_batch_when_full_and_flush_the_rest():
    stream = DerainStream(Tagger(), batch=3)
    frames = _frames(5)
    assert stream.push(frames[0]) == [] and stream.push(frames[1]) == [] and stream.pending == 2
    assert [int(o[0, 0, 0]) for o in stream.push(frames[2])] == [1, 2, 3] and stream.pending == 0
    stream.push(frames[3]), stream.push(frames[4])
    assert [int(o[0, 0, 0]) for o in stream.flush()] == [4, 5]
    assert stream.flush() == [] and stream.stats.frames_in == stream.stats.frames_out == 5


def test_frames_are_copied_so_a_camera_may_reuse_its_buffer():
    stream = DerainStream(Tagger(), batch=2)
    buffer = np.zeros((8, 10, 3), np.uint8)
    stream.push(buffer)
    buffer[:] = 100  # the camera writes its next frame into the same buffer
    outs = stream.push(buffer)
    assert [int(o[0, 0, 0]) for o in outs] == [1, 101]


def test_a_size_change_runs_what_is_pending_and_resets_the_temporal_state():
    stream = DerainStream(Tagger(), batch=4, temporal=TemporalConfig(motion="mask"))
    small, large = _frames(2), _frames(1, 16, 20)
    for f in small:
        assert stream.push(f) == []
    outs = stream.push(large[0])
    assert [o.shape for o in outs] == [(8, 10, 3)] * 2 and stream.pending == 1
    (last,) = stream.flush()
    assert last.shape == (16, 20, 3) and stream.temporal.last_weight_mean == 0.0


def test_bad_frames_and_batch_are_refused_with_the_fix():
    stream = DerainStream(Tagger())
    with pytest.raises(InputError, match="H x W x 3 uint8"):
        stream.push(np.zeros((8, 10, 3), np.float32))
    with pytest.raises(ConfigError, match="batch"):
        DerainStream(Tagger(), batch=0)


def test_automatic_batch_is_one_on_cpu_and_more_on_gpu():
    assert DerainStream(Tagger()).batch == 1
    gpu = Tagger()
    gpu.active_providers = ("CUDAExecutionProvider", "CPUExecutionProvider")
    assert DerainStream(gpu).batch > 1


def test_memory_stays_bounded_over_a_long_stream():
    """3000 frames through a batched, stabilised stream: the peak of Python-side allocations after
    3000 frames is the peak after 300 (state and pending frames do not grow with the stream)."""
    rng = np.random.default_rng(0)
    base = rng.integers(0, 255, (48, 64, 3), dtype=np.uint8)

    def camera(n):
        for _ in range(n):
            yield base

    stream = DerainStream(Tagger(), batch=4, temporal=TemporalConfig(motion="mask"))
    tracemalloc.start()
    try:
        outs = stream.run(camera(3000))
        for i, _ in enumerate(outs):
            assert stream.pending <= 4
            if i == 300:
                early_peak = tracemalloc.get_traced_memory()[1]
        late_peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert stream.stats.frames_out == 3000
    assert late_peak <= early_peak * 1.1 + 64 * 1024, (early_peak, late_peak)


def test_a_real_session_gives_the_same_frames_as_running_them_one_by_one(blur_model):
    from edgederain.runtime import DerainSession, SessionConfig

    session = DerainSession(blur_model, SessionConfig.for_provider("cpu", threads=1))
    frames = [np.random.default_rng(i).integers(0, 255, (24, 32, 3), dtype=np.uint8) for i in range(7)]
    outs = list(DerainStream(session, batch=3).run(iter(frames)))
    assert len(outs) == 7
    for f, o in zip(frames, outs):
        np.testing.assert_array_equal(o, session.run(f))


IMPORT_CHECK = """
import sys
for name in ("torch", "onnx", "typer", "PIL", "av", "cv2"):
    sys.modules[name] = None
import numpy as np
from edgederain.runtime import DerainSession, SessionConfig
from edgederain.runtime.stream import DerainStream
from edgederain.runtime.temporal import TemporalConfig
from edgederain.errors import MissingDependencyError
s = DerainSession({model!r}, SessionConfig.for_provider("cpu", threads=1))
stream = DerainStream(s, temporal=TemporalConfig(motion="mask"))
outs = list(stream.run(np.zeros((24, 32, 3), np.uint8) for _ in range(3)))
assert len(outs) == 3
try:
    DerainStream(s, temporal=TemporalConfig(motion="flow"))
except MissingDependencyError as exc:
    assert "edgederain[video]" in str(exc) and "mask" in str(exc)
else:
    raise AssertionError("flow without OpenCV must say what to install")
print("ok")
"""


def test_stream_and_mask_mode_need_only_numpy_and_onnxruntime(blur_model):
    proc = subprocess.run([sys.executable, "-c", IMPORT_CHECK.format(model=str(blur_model))], cwd=REPO,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0 and proc.stdout.strip() == "ok", proc.stderr
