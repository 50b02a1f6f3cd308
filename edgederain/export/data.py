"""Frames for verification: a folder of images, or a paired set with ground truth (numpy only).

A paired folder holds the rainy inputs and the clean targets side by side, as Rain100L does
(``rainy/`` + ``clean/``; also ``rain/`` + ``norain/`` and ``input/`` + ``target/``), matched by
file name. Any other folder is read as plain images without ground truth. Inputs go through the
runtime's preprocessing (:func:`edgederain.runtime.preprocess.to_model_input`).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from edgederain.errors import ImageReadError, VerificationError

PAIR_LAYOUTS: tuple[tuple[str, str], ...] = (("rainy", "clean"), ("rain", "norain"), ("input", "target"))


@dataclass(frozen=True)
class EvalFrame:
    """One verification input (float32 1 x 3 x H x W) and its clean target (uint8 HWC) if known."""

    name: str
    input: np.ndarray
    target: np.ndarray | None


def _pairs(root: Path) -> list[tuple[Path, Path | None]] | None:
    from edgederain.io import list_images

    for rain_dir, clean_dir in PAIR_LAYOUTS:
        if (root / rain_dir).is_dir() and (root / clean_dir).is_dir():
            clean = {p.name: p for p in list_images(root / clean_dir)}
            return [(p, clean.get(p.name)) for p in list_images(root / rain_dir)]
    return None


def load_eval_frames(folder: str | os.PathLike, *, limit: int | None = None) -> list[EvalFrame]:
    """Verification frames from ``folder`` (first ``limit`` in natural order)."""
    from edgederain.io import list_images, read_image
    from edgederain.runtime.preprocess import to_model_input

    root = Path(folder)
    if not root.is_dir():
        raise VerificationError(f"{root}: data folder not found; pass a folder of images or pairs")
    pairs = _pairs(root)
    if pairs is None:
        pairs = [(p, None) for p in list_images(root)]
    if not pairs:
        raise VerificationError(f"{root}: no images found (.png, .jpg, .bmp, .tif)")
    frames = []
    try:
        for rainy, clean in pairs[:limit]:
            x, _ = to_model_input(read_image(rainy).rgb, min_size=8)
            target = read_image(clean).rgb if clean is not None else None
            if target is not None and target.shape[:2] != x.shape[2:]:
                raise VerificationError(f"{clean}: size {target.shape[:2]} differs from {rainy}")
            frames.append(EvalFrame(rainy.name, x, target))
    except ImageReadError as exc:
        raise VerificationError(f"unreadable verification image: {exc}") from None
    return frames


def has_targets(frames: list[EvalFrame]) -> bool:
    """True when every frame has a ground-truth target."""
    return bool(frames) and all(f.target is not None for f in frames)
