"""Training batches drawn by worker processes ahead of the step that needs them (``workers``).

Synthetic rain is rendered on the CPU, one sample at a time: about 50 samples per second on one
core for the all-weather mixture at 128 x 128 (docs/training.md). That is enough for a 2-core CPU
run (which takes a second or more per iteration of 4), not for a GPU, which would wait on the data. With
``workers = N`` the batches of the next ``2 N`` steps are computed in ``N`` processes while the
network trains on the current one.

Batches stay a pure function of the step (:func:`~edgederain.data.datasets.batch_for_slots`), so
a run with workers trains on exactly the batches of a run without, and ``--resume`` continues the
same stream. Workers are spawned (not forked: the parent may hold CUDA state) and receive the
dataset once, when they start.
"""

from __future__ import annotations

import multiprocessing as mp
from typing import Any

import numpy as np

from edgederain.data.datasets import PairSource, batch_for_slots

_DATASET: PairSource | None = None


def _init_worker(dataset: PairSource) -> None:
    global _DATASET
    _DATASET = dataset


def _batch(start: int, count: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    assert _DATASET is not None, "worker started without its dataset"
    return batch_for_slots(_DATASET, start, count, seed=seed)


class BatchPrefetcher:
    """``batch(step)`` -> the (rainy, clean) uint8 stacks of a step, computed ahead by workers.

    ``offset``/``count``: this process's share of each batch (a distributed rank's slots). With
    ``workers = 0`` batches are computed in the calling process when asked for.
    """

    def __init__(self, dataset: PairSource, *, batch_size: int, seed: int, workers: int = 0,
                 offset: int = 0, count: int | None = None, depth: int | None = None) -> None:
        if workers < 0:
            raise ValueError(f"workers must be >= 0, got {workers}")
        self.dataset, self.batch_size, self.seed = dataset, batch_size, seed
        self.offset, self.count = offset, batch_size if count is None else count
        self.depth = max(1, depth if depth is not None else 2 * workers)
        self._pending: dict[int, Any] = {}
        self._pool = (mp.get_context("spawn").Pool(workers, initializer=_init_worker, initargs=(dataset,))
                      if workers > 0 else None)

    def _args(self, step: int) -> tuple[int, int, int]:
        return step * self.batch_size + self.offset, self.count, self.seed

    def batch(self, step: int) -> tuple[np.ndarray, np.ndarray]:
        """The batch of ``step``; queues the next ``depth`` steps' batches."""
        if self._pool is None:
            return batch_for_slots(self.dataset, *self._args(step)[:2], seed=self.seed)
        for s in list(self._pending):  # a jump (resume, another stage) leaves stale work behind
            if s < step or s >= step + self.depth:
                del self._pending[s]
        for s in range(step, step + self.depth):
            if s not in self._pending:
                self._pending[s] = self._pool.apply_async(_batch, self._args(s))
        return self._pending.pop(step).get()

    def close(self) -> None:
        """Stop the workers (idempotent)."""
        self._pending.clear()
        if self._pool is not None:
            self._pool.terminate()
            self._pool.join()
            self._pool = None

    def __enter__(self) -> "BatchPrefetcher":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


__all__ = ["BatchPrefetcher"]
