"""Video files frame by frame (PyAV, the optional ``video`` extra): uint8 RGB frames in and out.

:func:`read_video` yields H x W x 3 uint8 RGB frames of the first video stream (audio and other
streams are ignored). :class:`VideoWriter` encodes frames with the input's codec when an encoder
for it exists (else H.264, else MPEG-4 Part 2) at the input's frame rate, into a temporary file in
the output folder that is renamed over the output only when the whole video is written, so a
failed or interrupted run never leaves a half-written file under the final name (the file gets
the umask's usual mode, like any file the user creates).

Without PyAV, every entry point raises :class:`MissingDependencyError` naming the extra.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any, Iterator

import numpy as np

from edgederain.errors import ImageReadError, ImageWriteError, MissingDependencyError
from edgederain.io import temporary_file

VIDEO_SUFFIXES: tuple[str, ...] = (".mp4", ".m4v", ".mov", ".mkv", ".avi", ".webm")
_FALLBACK_CODECS = ("libx264", "h264", "mpeg4")


def _av() -> Any:
    try:
        import av
    except ModuleNotFoundError:
        raise MissingDependencyError(
            "video files need PyAV: pip install 'edgederain[video]'"
        ) from None
    return av


def is_video(path: str | os.PathLike) -> bool:
    """True for the video suffixes this module handles."""
    return Path(path).suffix.lower() in VIDEO_SUFFIXES


@dataclass(frozen=True)
class VideoInfo:
    """Properties of a video's first stream."""

    width: int
    height: int
    rate: Fraction
    codec: str
    frames: int | None


def probe(path: str | os.PathLike) -> VideoInfo:
    """Width, height, frame rate, codec and (if known) frame count of the first video stream."""
    av = _av()
    try:
        with av.open(str(path)) as container:
            stream = _first_video_stream(container, path)
            rate = stream.average_rate or stream.guessed_rate or Fraction(25, 1)
            frames = int(stream.frames) if stream.frames else None
            return VideoInfo(stream.width, stream.height, Fraction(rate), stream.codec_context.name, frames)
    except av.error.FFmpegError as exc:
        raise ImageReadError(f"{path}: not a readable video ({exc})") from None


def _first_video_stream(container: Any, path: str | os.PathLike) -> Any:
    if not container.streams.video:
        raise ImageReadError(f"{path}: has no video stream")
    return container.streams.video[0]


def read_video(path: str | os.PathLike) -> Iterator[np.ndarray]:
    """Yield the frames of ``path`` as H x W x 3 uint8 RGB arrays."""
    av = _av()
    try:
        with av.open(str(path)) as container:
            stream = _first_video_stream(container, path)
            for frame in container.decode(stream):
                yield frame.to_ndarray(format="rgb24")
    except av.error.FFmpegError as exc:
        raise ImageReadError(f"{path}: corrupt or unreadable video ({exc})") from None


class VideoWriter:
    """Write uint8 RGB frames to a video file atomically; use as a context manager.

    ``like`` (a :class:`VideoInfo`) gives the codec and frame rate to reproduce.
    """

    def __init__(self, path: str | os.PathLike, like: VideoInfo) -> None:
        self._av = _av()
        self.path = Path(path)
        folder = self.path.parent
        if not folder.is_dir():
            raise ImageWriteError(f"{self.path}: output folder {folder} does not exist")
        try:
            self._tmp = temporary_file(folder, self.path.suffix)
        except OSError as exc:
            raise ImageWriteError(f"{self.path}: output folder {folder} is not writable ({exc.strerror})") from None
        self._like = like
        try:
            self._container = self._av.open(str(self._tmp), mode="w")
        except BaseException:
            self._tmp.unlink()
            raise
        self._stream = None
        self.frames = 0

    def _open_stream(self, height: int, width: int) -> Any:
        for codec in (self._like.codec, *_FALLBACK_CODECS):
            try:
                stream = self._container.add_stream(codec, rate=self._like.rate)
                break
            except (ValueError, self._av.error.FFmpegError):
                continue
        else:
            raise ImageWriteError(f"{self.path}: no video encoder available for this container")
        stream.width, stream.height = width, height
        stream.pix_fmt = "yuv420p" if codec not in ("ffv1", "png") else stream.pix_fmt
        return stream

    def write(self, rgb: np.ndarray) -> None:
        """Encode one H x W x 3 uint8 RGB frame."""
        if self._stream is None:
            self._stream = self._open_stream(rgb.shape[0], rgb.shape[1])
        frame = self._av.VideoFrame.from_ndarray(np.ascontiguousarray(rgb), format="rgb24")
        for packet in self._stream.encode(frame):
            self._container.mux(packet)
        self.frames += 1

    def close(self, *, commit: bool = True) -> None:
        """Flush and rename into place (``commit``), or discard the temporary file."""
        try:
            if self._stream is not None:
                for packet in self._stream.encode():
                    self._container.mux(packet)
            self._container.close()
            if commit and self.frames:
                os.replace(self._tmp, self.path)
        finally:
            if self._tmp.exists():
                self._tmp.unlink()

    def __enter__(self) -> "VideoWriter":
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        self.close(commit=exc_type is None)
