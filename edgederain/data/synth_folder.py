"""Write a fixed synthetic paired set (``rainy/`` + ``clean/``) from clean images.

For users who want a fixed set rather than fresh rain each epoch (``SyntheticRainDataset``).
With ``copies > 1`` each clean image gets ``copies`` renderings ``rainy/NAME_k.png`` beside one
``clean/NAME.png`` (the Rain1400 convention, which :func:`edgederain.data.pairs.find_pairs`
reads). Output is PNG (lossless) whatever the input format.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Sequence

import numpy as np

from edgederain.errors import DatasetError
from edgederain.io import write_image
from edgederain.data.datasets import list_backgrounds, load_background
from edgederain.data.synth import RainConfig, add_rain, get_rain_preset


def write_synthetic_pairs(
    clean: Sequence[str | os.PathLike],
    out: str | os.PathLike,
    *,
    rain: RainConfig | str = "light",
    copies: int = 1,
    max_side: int = 0,
    seed: int = 0,
) -> int:
    """Render rain on every clean image under ``clean``; returns the number of pairs written."""
    cfg = get_rain_preset(rain) if isinstance(rain, str) else rain
    if copies < 1:
        raise DatasetError(f"copies must be >= 1, got {copies}")
    paths = list_backgrounds(clean)
    stems = [p.stem for p in paths]
    if len(set(stems)) != len(stems):
        dup = sorted({s for s in stems if stems.count(s) > 1})
        raise DatasetError(f"clean images share names {dup[:5]}; outputs would collide, rename them")
    root = Path(out)
    (root / "rainy").mkdir(parents=True, exist_ok=True)
    (root / "clean").mkdir(parents=True, exist_ok=True)
    count = 0
    for i, path in enumerate(paths):
        img = load_background(path, max_side=max_side)
        write_image(root / "clean" / f"{path.stem}.png", img, protect=paths)
        for k in range(copies):
            name = f"{path.stem}.png" if copies == 1 else f"{path.stem}_{k}.png"
            rainy = add_rain(img, config=cfg, rng=np.random.default_rng([seed, i, k]))
            write_image(root / "rainy" / name, rainy, protect=paths)
            count += 1
    return count


__all__ = ["write_synthetic_pairs"]
