"""Calibration frames: images from a folder (or any frames) -> model inputs, as ORT wants them.

Frames pass through :func:`edgederain.runtime.preprocess.to_model_input`, the runtime's own
preprocessing, so activation ranges are measured on exactly what the runtime feeds the model.
A folder may hold the images directly or in a ``rainy/``, ``rain/`` or ``input/`` subfolder
(a paired data set: the rainy side is what the deployed model sees). Frames larger than
``crop`` are centre-cropped to ``crop x crop`` to bound calibration time and memory; the graph
is fully convolutional, so ranges from crops transfer to full frames.

Without rainy footage from the target camera, :meth:`CalibrationFrames.from_synthetic` renders
the synthetic rain engine (:func:`edgederain.data.synth.add_rain`, numpy only) onto clean
frames from a folder. Frames from elsewhere (a video) go in through
:meth:`CalibrationFrames.from_arrays`.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Iterator

import numpy as np

from edgederain.errors import CalibrationError, ImageReadError, InputError

INPUT_SUBFOLDERS: tuple[str, ...] = ("rainy", "rain", "input")
DEFAULT_MIN_FRAMES = 8


def _centre_crop(rgb: np.ndarray, crop: int | None) -> np.ndarray:
    if crop is None:
        return rgb
    h, w = rgb.shape[:2]
    top, left = max(0, (h - crop) // 2), max(0, (w - crop) // 2)
    return rgb[top : top + crop, left : left + crop]


def calibration_images(folder: str | os.PathLike) -> list[Path]:
    """Image files used for calibration in ``folder`` (see the module docstring)."""
    from edgederain.io import list_images

    root = Path(folder)
    if not root.is_dir():
        raise CalibrationError(f"{root}: calibration folder not found; pass a folder of images")
    for sub in INPUT_SUBFOLDERS:
        if (root / sub).is_dir():
            return list_images(root / sub)
    return list_images(root)


@dataclass(frozen=True)
class CalibrationFrames:
    """Model-ready calibration inputs (float32 1 x 3 x H x W each) and where they came from."""

    tensors: tuple[np.ndarray, ...]
    names: tuple[str, ...]
    source: str
    crop: int | None

    def __post_init__(self) -> None:
        if len(self.tensors) != len(self.names):
            raise ValueError("one name per calibration tensor")

    def __len__(self) -> int:
        return len(self.tensors)

    def fingerprint(self) -> str:
        """SHA-256 of the tensors' bytes: identifies the calibration set in the cache key."""
        h = hashlib.sha256()
        for t in self.tensors:
            h.update(str(t.shape).encode())
            h.update(t.tobytes())
        return h.hexdigest()

    @classmethod
    def from_arrays(
        cls, frames: Iterable[np.ndarray], *, source: str = "arrays", crop: int | None = None,
        min_frames: int = DEFAULT_MIN_FRAMES,
    ) -> "CalibrationFrames":
        """From H x W x 3 RGB frames (uint8 or float32 in [0, 1]), e.g. the synthetic engine's."""
        from edgederain.runtime.preprocess import to_model_input

        tensors, names = [], []
        for i, frame in enumerate(frames):
            try:
                x, _ = to_model_input(_centre_crop(frame, crop), min_size=8)
            except InputError as exc:
                raise CalibrationError(f"calibration frame {i} of {source}: {exc}") from None
            tensors.extend(x[j : j + 1] for j in range(x.shape[0]))
            names.extend(f"{source}[{i}]" for _ in range(x.shape[0]))
        _check_count(len(tensors), min_frames, source)
        return cls(tuple(tensors), tuple(names), source, crop)

    @classmethod
    def from_folder(
        cls, folder: str | os.PathLike, *, max_frames: int = 32, crop: int | None = 256,
        min_frames: int = DEFAULT_MIN_FRAMES,
    ) -> "CalibrationFrames":
        """The first ``max_frames`` images of ``folder`` (natural name order)."""
        paths = calibration_images(folder)
        _check_count(len(paths), min_frames, str(folder))
        frames = list(_read_all(paths[:max_frames]))
        made = cls.from_arrays(frames, source=str(folder), crop=crop, min_frames=min_frames)
        return cls(made.tensors, tuple(p.name for p in paths[:max_frames]), str(folder), crop)

    @classmethod
    def from_synthetic(
        cls, folder: str | os.PathLike, *, rain: str = "light", max_frames: int = 32,
        crop: int | None = 256, min_frames: int = DEFAULT_MIN_FRAMES, seed: int = 0,
    ) -> "CalibrationFrames":
        """Clean images of ``folder`` with synthetic rain (preset ``rain``) rendered onto them."""
        from edgederain.errors import ConfigError
        from edgederain.data.synth import add_rain

        paths = calibration_images(folder)
        _check_count(len(paths), min_frames, str(folder))
        rng = np.random.default_rng(seed)
        try:
            frames = [add_rain(_centre_crop(rgb, crop), config=rain, rng=rng)
                      for rgb in _read_all(paths[:max_frames])]
        except ConfigError as exc:
            raise CalibrationError(str(exc)) from None
        made = cls.from_arrays(frames, source=f"{folder} + synthetic {rain} rain", min_frames=min_frames)
        return cls(made.tensors, tuple(p.name for p in paths[:max_frames]), made.source, crop)


def _check_count(count: int, min_frames: int, source: str) -> None:
    if count < min_frames:
        raise CalibrationError(
            f"{source}: {count} calibration frame(s), need at least {min_frames}; add images "
            "that look like the deployment scenes (e.g. rainy frames from the target camera)"
        )


def _read_all(paths: list[Path]) -> Iterator[np.ndarray]:
    from edgederain.io import read_image

    for p in paths:
        try:
            yield read_image(p).rgb
        except ImageReadError as exc:
            raise CalibrationError(f"unreadable calibration image: {exc}; fix or remove it") from None


def data_reader(frames: CalibrationFrames, input_name: str, *, progress: bool = True):
    """An ``onnxruntime.quantization.CalibrationDataReader`` over ``frames`` with a progress bar."""
    from onnxruntime.quantization import CalibrationDataReader
    from tqdm.auto import tqdm

    class _Reader(CalibrationDataReader):
        def __init__(self) -> None:
            self._bar = tqdm(total=len(frames), desc="calibrating", unit="frame", disable=not progress)
            self._it = iter(frames.tensors)

        def get_next(self):
            x = next(self._it, None)
            if x is None:
                self._bar.close()
                return None
            self._bar.update(1)
            return {input_name: x}

        def __len__(self) -> int:
            return len(frames)

    return _Reader()
