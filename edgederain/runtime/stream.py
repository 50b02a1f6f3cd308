"""DerainStream: a video or camera stream through a DerainSession, frames in, frames out, in order.

>>> stream = DerainStream(session, temporal=TemporalConfig())          # doctest: +SKIP
>>> for clean in stream.run(frames):     # any iterable of H x W x 3 uint8 RGB frames
...     show(clean)

or, from a camera loop that owns its buffers::

    for frame in camera:
        for clean in stream.push(frame):   # 0 or more frames, oldest first
            show(clean)
    for clean in stream.flush():           # what is still pending at the end
        show(clean)

Frames come out in the order they went in, one for one. ``batch`` consecutive frames of the same
size are run as one model call (``batch=None`` picks 1 on CPU, where batch 2 measured 4-10 %
slower on 2 cores, see docs/video.md, and 4 on GPU providers); a batch adds ``batch - 1``
frames of latency. Memory is
bounded: the stream holds at most ``batch`` pending frames (copies, so a camera may reuse its
buffers) plus the temporal filter's two frames of state, whatever the stream's length. A change
of frame size runs what is pending first and resets the temporal state. :attr:`DerainStream.stats`
counts frames and the seconds spent in the model and in the temporal filter.

Only numpy and the session here; reading files and URLs is :mod:`edgederain.video`'s job
(PyAV), so this module runs in camera software that has neither.
"""

from __future__ import annotations

from dataclasses import dataclass
from time import perf_counter
from typing import Any, Iterable, Iterator

import numpy as np

from edgederain.errors import ConfigError, InputError
from edgederain.runtime.temporal import TemporalConfig, TemporalFilter

GPU_BATCH = 4


@dataclass
class StreamStats:
    """What a stream has done so far."""

    frames_in: int = 0
    frames_out: int = 0
    model_calls: int = 0
    model_seconds: float = 0.0
    temporal_seconds: float = 0.0

    @property
    def model_ms_per_frame(self) -> float:
        return 1e3 * self.model_seconds / max(self.frames_out, 1)

    @property
    def temporal_ms_per_frame(self) -> float:
        return 1e3 * self.temporal_seconds / max(self.frames_out, 1)


def auto_batch(session: Any) -> int:
    """1 on CPU-type providers, :data:`GPU_BATCH` when the session runs on CUDA or TensorRT."""
    active = tuple(getattr(session, "active_providers", ()) or ())
    gpu = active and active[0] in ("CUDAExecutionProvider", "TensorrtExecutionProvider")
    return GPU_BATCH if gpu else 1


class DerainStream:
    """Ordered, stateful, bounded-memory deraining of a frame sequence; see the module docstring.

    ``session``: a :class:`~edgederain.runtime.DerainSession` (anything with its ``run``).
    ``temporal``: a :class:`TemporalConfig` to stabilise the output, or None (frame by frame).
    """

    def __init__(self, session: Any, *, batch: int | None = None,
                 temporal: TemporalConfig | None = None) -> None:
        if batch is not None and (not isinstance(batch, int) or batch < 1):
            raise ConfigError(f"stream batch must be an integer >= 1 or None (automatic), got {batch!r}")
        self.session = session
        self.batch = auto_batch(session) if batch is None else batch
        self.temporal = TemporalFilter(temporal) if temporal is not None else None
        self._pending: list[np.ndarray] = []
        self.stats = StreamStats()

    @property
    def pending(self) -> int:
        """Frames pushed but not yet returned (at most ``batch``)."""
        return len(self._pending)

    def push(self, frame: np.ndarray) -> list[np.ndarray]:
        """Add one H x W x 3 uint8 RGB frame; returns the frames finished by it (maybe none)."""
        if not isinstance(frame, np.ndarray) or frame.dtype != np.uint8 or frame.ndim != 3 or frame.shape[2] != 3:
            raise InputError(
                f"stream frames must be H x W x 3 uint8 RGB arrays, got "
                f"{getattr(frame, 'dtype', type(frame).__name__)} {getattr(frame, 'shape', '')}"
            )
        done: list[np.ndarray] = []
        if self._pending and self._pending[0].shape != frame.shape:
            done = self.flush()
            self.reset_temporal()
        self._pending.append(frame.copy())
        self.stats.frames_in += 1
        if len(self._pending) >= self.batch:
            done += self.flush()
        return done

    def flush(self) -> list[np.ndarray]:
        """Run whatever is pending and return it (call at the end of a stream)."""
        if not self._pending:
            return []
        frames, self._pending = self._pending, []
        start = perf_counter()
        outs = self.session.run(frames[0])[None] if len(frames) == 1 else self.session.run(np.stack(frames))
        self.stats.model_seconds += perf_counter() - start
        self.stats.model_calls += 1
        results = [self._stabilise(o) for o in outs]
        self.stats.frames_out += len(results)
        return results

    def _stabilise(self, out: np.ndarray) -> np.ndarray:
        if self.temporal is None:
            return out
        start = perf_counter()
        result = self.temporal.apply(out)
        self.stats.temporal_seconds += perf_counter() - start
        return result

    def reset_temporal(self) -> None:
        """Forget the previous frame (a cut or a seek); pending frames are kept."""
        if self.temporal is not None:
            self.temporal.reset()

    def run(self, frames: Iterable[np.ndarray]) -> Iterator[np.ndarray]:
        """Derain an iterable of frames lazily, in order (it reads at most ``batch`` ahead)."""
        for frame in frames:
            yield from self.push(frame)
        yield from self.flush()
