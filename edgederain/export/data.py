"""Frames for verification: a folder of images, or a paired set with ground truth (numpy only).

A paired folder is any layout :func:`edgederain.data.pairs.find_pairs` finds on its own
(``rainy/`` + ``clean/`` as Rain100L, ``rain/`` + ``norain/``, ``input/`` + ``target/``,
``inputcrop/`` + ``cleancrop/``, or PReNet's ``rain-N.png`` + ``norain-N.png`` in one folder),
paired by the same rules as training and evaluation; a rainy file without its clean partner is
an error, never a frame without ground truth. Any other folder is read as plain images without
ground truth. Inputs go through the runtime's preprocessing
(:func:`edgederain.runtime.preprocess.to_model_input`).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from edgederain.errors import DatasetError, ImageReadError, VerificationError


@dataclass(frozen=True)
class EvalFrame:
    """One verification input (float32 1 x 3 x H x W) and its clean target (uint8 HWC) if known."""

    name: str
    input: np.ndarray
    target: np.ndarray | None


def load_eval_frames(folder: str | os.PathLike, *, limit: int | None = None) -> list[EvalFrame]:
    """Verification frames from ``folder`` (first ``limit`` in natural order)."""
    from edgederain.io import list_images, read_rgb
    from edgederain.runtime.preprocess import to_model_input
    from edgederain.data.pairs import detect_layout, find_pairs, load_pair

    root = Path(folder)
    if not root.is_dir():
        raise VerificationError(f"{root}: data folder not found; pass a folder of images or pairs")
    try:
        if detect_layout(root) is None:
            images = [(p, read_rgb(p), None) for p in list_images(root)[:limit]]
        else:
            images = [(p.rainy, *load_pair(p)) for p in find_pairs(root)[:limit]]
    except DatasetError as exc:
        raise VerificationError(str(exc)) from None
    except ImageReadError as exc:
        raise VerificationError(f"unreadable verification image: {exc}") from None
    if not images:
        raise VerificationError(f"{root}: no images found (.png, .jpg, .bmp, .tif)")
    return [EvalFrame(path.name, to_model_input(rgb, min_size=8)[0], target) for path, rgb, target in images]


def has_targets(frames: list[EvalFrame]) -> bool:
    """True when every frame has a ground-truth target."""
    return bool(frames) and all(f.target is not None for f in frames)
