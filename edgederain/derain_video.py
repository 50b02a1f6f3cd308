"""One video through ``edgederain derain``: decode, derain as a stream, encode, keeping the timing.

Frames go through a :class:`~edgederain.runtime.stream.DerainStream` (so ``--temporal`` carries
state from frame to frame) and are written with their input time stamps, so the frame rate and
any variable timing survive; ``keep_audio`` copies the first audio stream's packets unchanged;
``preview`` writes ``NAME.preview.SUFFIX`` beside the output, input | output side by side.

Resuming: a video is written to a temporary file and renamed when complete, so an interrupted
video leaves nothing and is redone from its first frame on the next run (other finished outputs
are skipped). Resuming mid-video is not offered: the encoder's state and, with ``--temporal``, the
filter's state cannot be restored from a written file, so a resumed video would differ from an
uninterrupted one. A truncated or broken input is the exception: the frames before the break are
written and kept, and the item is reported as failed with the count.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from pathlib import Path
from time import perf_counter
from typing import Any, Callable

import numpy as np

from edgederain.runtime.stream import DerainStream
from edgederain.runtime.temporal import TemporalConfig
from edgederain.video import Frame, TruncatedVideoError, VideoReader, VideoWriter

Progress = Callable[[str, int, "int | None"], None]


@dataclass(frozen=True)
class VideoResult:
    """What one video run did: frames written, the break if the input broke, timing notes."""

    frames: int
    broken: TruncatedVideoError | None
    notes: tuple[str, ...]


def preview_path(dst: Path) -> Path:
    """Where the side-by-side preview of ``dst`` goes."""
    return dst.with_name(f"{dst.stem}.preview{dst.suffix}")


class _Outputs:
    """The output writer and the optional preview writer, committed or discarded together."""

    def __init__(self, dst: Path, reader: VideoReader, *, keep_audio: bool, preview: bool) -> None:
        audio = reader.audio if keep_audio else None
        self.main = VideoWriter(dst, reader.info, audio_like=audio)
        self.preview = None
        if preview:
            try:
                self.preview = VideoWriter(preview_path(dst), reader.info)
            except BaseException:
                self.main.close(commit=False)
                raise

    def write(self, frame: Frame, out: np.ndarray) -> None:
        self.main.write(out, pts=frame.pts, time_base=frame.time_base)
        if self.preview is not None:
            self.preview.write(np.concatenate([frame.rgb, out], axis=1), pts=frame.pts, time_base=frame.time_base)

    def close(self, *, commit: bool) -> None:
        try:
            self.main.close(commit=commit)
        finally:
            if self.preview is not None:
                self.preview.close(commit=commit)


def derain_video(session: Any, src: Path, dst: Path, *, temporal: TemporalConfig | None = None,
                 batch: int | None = None, keep_audio: bool = False, preview: bool = False,
                 on_progress: Progress | None = None) -> VideoResult:
    """Derain ``src`` into ``dst``; see the module docstring. Raises on failure (nothing written),
    returns ``broken`` set when the input broke after some frames (those are written)."""
    start = perf_counter()
    with VideoReader(src) as reader:
        stream = DerainStream(session, batch=batch, temporal=temporal)
        outputs = _Outputs(dst, reader, keep_audio=keep_audio, preview=preview)
        waiting: deque[Frame] = deque()  # inputs whose outputs are still in the stream (<= batch)
        written, broken = 0, None

        def emit(outs: list[np.ndarray]) -> None:
            nonlocal written
            for out in outs:
                outputs.write(waiting.popleft(), out)
                written += 1
                if on_progress is not None:
                    on_progress(str(src), written, reader.info.frames)

        try:
            try:
                for frame in reader.frames(on_audio=outputs.main.write_audio if keep_audio else None):
                    waiting.append(frame)
                    emit(stream.push(frame.rgb))
            except TruncatedVideoError as exc:
                broken = exc
            emit(stream.flush())
        except BaseException:
            outputs.close(commit=False)
            raise
        outputs.close(commit=True)
    return VideoResult(written, broken, _timing_notes(stream, written, perf_counter() - start))


def _timing_notes(stream: DerainStream, frames: int, seconds: float) -> tuple[str, ...]:
    if not frames:
        return ()
    s = stream.stats
    line = f"{frames} frames in {seconds:.1f} s ({frames / seconds:.2f} fps; model {s.model_ms_per_frame:.0f} ms/frame"
    if stream.temporal is not None:
        line += f", temporal {s.temporal_ms_per_frame:.1f} ms/frame"
    return (line + ")",)
