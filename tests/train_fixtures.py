"""Tiny clean backgrounds for training tests: smooth colour patterns with mild noise, fixed seed."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from edgederain.io import write_image


def write_backgrounds(folder: Path, side: int, count: int = 6) -> Path:
    """Write ``count`` side x side PNG backgrounds ``bg0.png``... into ``folder``; returns it."""
    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[0:side, 0:side]
    for i in range(count):
        base = 90 + 60 * np.sin(xx / (6 + i) + i)[..., None] * np.cos(yy / (9 + i))[..., None]
        img = np.clip(base + rng.normal(0, 6, (side, side, 3)) + [i * 10, 0, -i * 5], 0, 255)
        write_image(folder / f"bg{i}.png", img.astype(np.uint8))
    return folder
