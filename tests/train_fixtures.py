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


def tiny_train_config(backgrounds: Path, out: Path, **changes):
    """A TrainConfig for a few steps of the ``tiny`` preset on ``backgrounds``; ``changes`` override."""
    from edgederain.train.config import TrainConfig

    base = dict(
        model="tiny", out_dir=str(out), backgrounds=(str(backgrounds),), rain="medium", crop=32,
        batch_size=4, holdout_every=6, val_count=2, val_crop=48, val_every=1000,
        checkpoint_every=1000, log_every=2, ae_iterations=4, derain_iterations=4, threads=1, seed=3,
    )
    return TrainConfig(**{**base, **changes})
