"""Batches rendered by worker processes (``workers``): the same batches, the same training."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from edgederain.data.datasets import SyntheticRainDataset, batch_for_slots, list_backgrounds
from edgederain.errors import ConfigError
from edgederain.train.checkpoint import read_checkpoint
from edgederain.train.config import TrainConfig
from edgederain.train.loop import train
from edgederain.train.prefetch import BatchPrefetcher
from train_fixtures import tiny_train_config, write_backgrounds


@pytest.fixture(scope="module")
def backgrounds(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_backgrounds(tmp_path_factory.mktemp("backgrounds"), 72)


def _dataset(backgrounds: Path) -> SyntheticRainDataset:
    return SyntheticRainDataset(list_backgrounds([backgrounds]), rain="heavy", crop=32, seed=5)


def test_workers_give_the_batches_of_the_loop_in_any_order(backgrounds: Path) -> None:
    ds = _dataset(backgrounds)
    want = {s: batch_for_slots(ds, s * 3 + 1, 2, seed=7) for s in range(6)}
    with BatchPrefetcher(ds, batch_size=3, seed=7, workers=2, offset=1, count=2) as pre:
        for step in [0, 1, 2, 5, 3, 4]:  # a jump, then back (stale work is dropped, not returned)
            rainy, clean = pre.batch(step)
            np.testing.assert_array_equal(rainy, want[step][0])
            np.testing.assert_array_equal(clean, want[step][1])
    inline = BatchPrefetcher(ds, batch_size=3, seed=7, workers=0, offset=1, count=2)
    np.testing.assert_array_equal(inline.batch(4)[0], want[4][0])
    inline.close()


def test_close_is_idempotent_and_negative_workers_are_refused(backgrounds: Path) -> None:
    pre = BatchPrefetcher(_dataset(backgrounds), batch_size=2, seed=0, workers=1)
    pre.batch(0)
    pre.close()
    pre.close()
    with pytest.raises(ValueError, match="workers"):
        BatchPrefetcher(_dataset(backgrounds), batch_size=2, seed=0, workers=-1)
    with pytest.raises(ConfigError, match="workers"):
        TrainConfig(workers=-1)


def test_a_run_with_workers_trains_exactly_like_one_without(backgrounds: Path, tmp_path: Path) -> None:
    runs = {}
    for workers in (0, 2):
        cfg = tiny_train_config(backgrounds, tmp_path / f"w{workers}", ae_iterations=2, derain_iterations=4,
                                workers=workers)
        train(cfg, progress=False)
        runs[workers] = read_checkpoint(tmp_path / f"w{workers}" / "derain_final.pt")["model"]
    assert all(torch.equal(runs[0][k], runs[2][k]) for k in runs[0])
