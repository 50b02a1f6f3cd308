"""Video files and streams frame by frame (PyAV, the optional ``video`` extra): uint8 RGB in and out.

:class:`VideoReader` opens a file, or a stream URL that FFmpeg can open (``rtsp://``,
``http(s)://``, ``udp://``, ``pipe:0``...) with a timeout for opening and for each read, so an
address that does not answer raises instead of hanging. It yields :class:`Frame` objects (RGB
array, presentation time stamp and time base) of the first video stream and can hand the audio
packets of the first audio stream to a callback. A file that ends before the length its container
declares (a truncated download or an interrupted recording) raises :class:`TruncatedVideoError`
after the frames it has, with their count; so does a decoder error mid-file.

:class:`VideoWriter` encodes frames with the input's codec when an encoder for it exists (else
H.264, else MPEG-4 Part 2) at the input's frame rate; given time stamps it keeps them (variable
frame rate survives), and it can copy an audio stream's packets as they are. It writes a temporary
file in the output folder that is renamed over the output only when :meth:`VideoWriter.close`
commits, so a failed or interrupted run never leaves a half-written file under the final name (the
file gets the umask's usual mode, like any file the user creates).

Without PyAV, every entry point raises :class:`MissingDependencyError` naming the extra.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any, Callable, Iterator

import numpy as np

from edgederain.errors import ImageReadError, ImageWriteError, MissingDependencyError
from edgederain.io import temporary_file

VIDEO_SUFFIXES: tuple[str, ...] = (".mp4", ".m4v", ".mov", ".mkv", ".avi", ".webm")
URL_SCHEMES: tuple[str, ...] = ("rtsp", "rtsps", "rtmp", "http", "https", "udp", "tcp", "srt")
DEFAULT_TIMEOUT_S = 10.0
_FALLBACK_CODECS = ("libx264", "h264", "mpeg4")
_LOSSLESS_PIX_FMT = {"ffv1": "bgr0", "png": "rgb24"}  # RGB planes: frames come back bit for bit


class TruncatedVideoError(ImageReadError):
    """A video ended early or broke mid-file; ``frames`` were read before it."""

    def __init__(self, message: str, *, frames: int) -> None:
        super().__init__(message)
        self.frames = frames


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


def is_url(source: str | os.PathLike) -> bool:
    """True for stream addresses (``rtsp://...``, ``http://...``, ``pipe:...``), not file paths."""
    text = str(source)
    scheme, sep, _ = text.partition("://")
    return (bool(sep) and scheme.lower() in URL_SCHEMES) or text.startswith("pipe:")


@dataclass(frozen=True)
class VideoInfo:
    """Properties of a video's first stream (``duration`` in seconds, when the file says)."""

    width: int
    height: int
    rate: Fraction
    codec: str
    frames: int | None
    time_base: Fraction | None = None
    duration: float | None = None
    has_audio: bool = False


@dataclass(frozen=True)
class Frame:
    """One decoded frame: H x W x 3 uint8 RGB, its time stamp in ``time_base`` units (or None)."""

    rgb: np.ndarray
    pts: int | None
    time_base: Fraction | None
    index: int


def probe(path: str | os.PathLike, *, timeout: float = DEFAULT_TIMEOUT_S) -> VideoInfo:
    """Width, height, frame rate, codec and (if known) frame count of the first video stream."""
    with VideoReader(path, timeout=timeout) as reader:
        return reader.info


def _first_video_stream(container: Any, path: str | os.PathLike) -> Any:
    if not container.streams.video:
        raise ImageReadError(f"{path}: has no video stream")
    return container.streams.video[0]


def _stream_info(container: Any, stream: Any) -> VideoInfo:
    rate = Fraction(stream.average_rate or stream.guessed_rate or Fraction(25, 1))
    tb = Fraction(stream.time_base) if stream.time_base else None
    if stream.duration and tb:
        duration = float(stream.duration * tb)
    elif container.duration and len(container.streams) == 1:
        duration = container.duration / 1e6  # microseconds; only when no other stream is longer
    else:
        duration = None
    return VideoInfo(stream.width, stream.height, rate, stream.codec_context.name,
                     int(stream.frames) if stream.frames else None, tb, duration,
                     bool(container.streams.audio))


class VideoReader:
    """Frames of a file or stream URL; use as a context manager, iterate :meth:`frames`.

    ``timeout``: seconds allowed for opening and for each read of a URL (files ignore it).
    """

    def __init__(self, source: str | os.PathLike, *, timeout: float = DEFAULT_TIMEOUT_S) -> None:
        av = self._av = _av()
        self.source = str(source)
        self.live = is_url(source)
        self.timeout = timeout
        kwargs = {"timeout": (timeout, timeout)} if self.live else {}
        try:
            self._container = av.open(self.source, **kwargs)
        except (av.error.FFmpegError, OSError) as exc:
            raise ImageReadError(self._open_message(exc, timeout)) from None
        try:
            self._stream = _first_video_stream(self._container, source)
            self.info = _stream_info(self._container, self._stream)
        except BaseException:
            self._container.close()
            raise
        self.audio = self._container.streams.audio[0] if self._container.streams.audio else None

    def _open_message(self, exc: Exception, timeout: float) -> str:
        if not self.live:
            return f"{self.source}: not a readable video ({exc})"
        if isinstance(exc, self._av.error.ExitError) or "timed out" in str(exc).lower():
            return f"{self.source}: no answer within {timeout:g} s; check the address, or raise the timeout"
        return f"{self.source}: cannot open the stream ({exc}); check the address and that it is serving"

    def frames(self, on_audio: Callable[[Any], None] | None = None) -> Iterator[Frame]:
        """Decode the video in order; audio packets go to ``on_audio`` (when given) as met."""
        av, n = self._av, 0
        streams = [self._stream] + ([self.audio] if on_audio is not None and self.audio is not None else [])
        last_time = None
        try:
            for packet in self._container.demux(*streams):
                if packet.stream is not self._stream:
                    if packet.dts is not None:
                        on_audio(packet)
                    continue
                for frame in packet.decode():
                    last_time = frame.time if frame.time is not None else last_time
                    yield Frame(frame.to_ndarray(format="rgb24"), frame.pts, frame.time_base, n)
                    n += 1
        except (av.error.FFmpegError, OSError) as exc:
            if self.live and isinstance(exc, av.error.ExitError):
                raise TruncatedVideoError(f"{self.source}: the stream stalled after frame {n} (no data "
                                          f"within {self.timeout:g} s)", frames=n) from None
            raise TruncatedVideoError(f"{self.source}: the video breaks after frame {n} ({exc})", frames=n) from None
        self._check_complete(n, last_time)

    def _check_complete(self, n: int, last_time: float | None) -> None:
        """Raise when a file stops well before the length its container declares."""
        info = self.info
        if self.live or n == 0:
            return
        step = 1.0 / float(info.rate) if info.rate else 0.04
        short_of_frames = info.frames is not None and n < info.frames - max(2, 0.02 * info.frames)
        short_of_time = (info.duration is not None and last_time is not None
                         and last_time + step < info.duration - max(2 * step, 0.02 * info.duration))
        if short_of_frames or short_of_time:
            declared = f"{info.frames} frames" if short_of_frames else f"{info.duration:.2f} s"
            raise TruncatedVideoError(
                f"{self.source}: the file ends after frame {n} but declares {declared}: "
                "truncated or still being written", frames=n)

    def close(self) -> None:
        self._container.close()

    def __enter__(self) -> "VideoReader":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def read_video(path: str | os.PathLike, *, timeout: float = DEFAULT_TIMEOUT_S) -> Iterator[np.ndarray]:
    """Yield the frames of ``path`` (a file or stream URL) as H x W x 3 uint8 RGB arrays."""
    with VideoReader(path, timeout=timeout) as reader:
        for frame in reader.frames():
            yield frame.rgb


class VideoWriter:
    """Write uint8 RGB frames to a video file atomically; use as a context manager.

    ``like`` (a :class:`VideoInfo`) gives the codec, frame rate and time base to reproduce;
    ``audio_like``, an input audio stream whose packets :meth:`write_audio` will copy.
    """

    def __init__(self, path: str | os.PathLike, like: VideoInfo, *, audio_like: Any = None) -> None:
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
        self._audio = None
        if audio_like is not None:  # every stream must exist before the first packet is muxed
            self._stream = self._open_stream(like.height, like.width)
            self._audio = self._add_audio(audio_like)
        self.frames = 0

    def _add_audio(self, template: Any) -> Any:
        try:
            stream = self._container.add_stream_from_template(template)
            self._container.start_encoding()  # the header: a codec the container refuses fails here
            return stream
        except (ValueError, self._av.error.FFmpegError) as exc:
            self.close(commit=False)
            raise ImageWriteError(
                f"{self.path}: cannot keep the audio ({template.codec_context.name}) in a "
                f"{self.path.suffix} file ({exc}); drop --keep-audio or choose another container"
            ) from None

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
        stream.pix_fmt = _LOSSLESS_PIX_FMT.get(codec, "yuv420p")
        if self._like.time_base is not None:
            stream.time_base = self._like.time_base
        return stream

    def write(self, rgb: np.ndarray, *, pts: int | None = None, time_base: Fraction | None = None) -> None:
        """Encode one H x W x 3 uint8 RGB frame, at time ``pts`` x ``time_base`` when given."""
        if self._stream is None:
            self._stream = self._open_stream(rgb.shape[0], rgb.shape[1])
        frame = self._av.VideoFrame.from_ndarray(np.ascontiguousarray(rgb), format="rgb24")
        if pts is not None and time_base is not None:
            frame.pts, frame.time_base = pts, time_base
        for packet in self._stream.encode(frame):
            self._container.mux(packet)
        self.frames += 1

    def write_audio(self, packet: Any) -> None:
        """Copy one packet of the ``audio_like`` stream into the output as it is."""
        if self._audio is not None:
            packet.stream = self._audio
            self._container.mux(packet)

    def close(self, *, commit: bool = True) -> None:
        """Flush and rename into place (``commit``), or discard the temporary file."""
        try:
            try:
                if self._stream is not None:
                    for packet in self._stream.encode():
                        self._container.mux(packet)
                self._container.close()
            except (ValueError, self._av.error.FFmpegError) as exc:
                if commit:
                    raise ImageWriteError(self._failure(exc)) from None
                return  # discarding anyway
            if commit and self.frames:
                os.replace(self._tmp, self.path)
        finally:
            if self._tmp.exists():
                self._tmp.unlink()

    def _failure(self, exc: Exception) -> str:
        text = f"{self.path}: the video could not be finished ({exc})"
        if self._audio is not None:
            text += (f"; the input's audio ({self._audio.codec_context.name}) may not fit a "
                     f"{self.path.suffix} file: drop --keep-audio or choose another container")
        return text

    def __enter__(self) -> "VideoWriter":
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        self.close(commit=exc_type is None)
