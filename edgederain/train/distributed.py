"""Multi-process training (PyTorch DistributedDataParallel under ``torchrun``): the small layer.

``torchrun --nproc-per-node N -m edgederain train --config ...`` starts N processes; each calls
:func:`init_distributed` (from the environment torchrun sets: ``RANK``, ``WORLD_SIZE``,
``LOCAL_RANK``, ``MASTER_ADDR``/``MASTER_PORT``) and gets a :class:`DistContext`. The training loop
asks the context for everything that differs from a single process; with :data:`SINGLE` (one
process, the default) every method is a no-op and the run is exactly the single-process run.

What a distributed run does:

- ``batch_size`` is the batch of one optimizer step, whatever the number of processes: each rank
  takes ``batch_size / world_size`` consecutive samples of the step's batch (it must divide). The
  samples are the single-process run's (each is drawn from its own generator seeded by (seed,
  epoch, index), so the synthetic rain of every sample, on every rank, is fixed by the run's seed
  and the sample's position: ranks never share rain, and no sampler state needs saving).
- Gradients are averaged by DDP; BatchNorm layers of the trained network are synchronised
  (``sync_bn``, on by default: :mod:`edgederain.train.sync_bn`), so N processes compute what one
  process computes on the whole batch, up to the order of float reductions. The frozen
  autoencoder of stage 2 runs in eval mode (running statistics) and is not wrapped.
- Only rank 0 validates, writes checkpoints, the CSV log and ``config.json``, and shows progress.
- Because the world size changes nothing that is computed, a run can be resumed with another
  number of processes (or in one), as long as ``batch_size`` divides over them.
- The learning rate is ``lr`` x the factor of ``lr_scaling`` (``none`` | ``linear`` | ``sqrt`` of
  ``batch_size / lr_batch``), in one process as in many; the effective batch, per-rank batch and
  learning rate are printed at the start and written under ``distributed`` in ``config.json``.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from datetime import timedelta
from typing import Literal

import torch
from torch import nn

from edgederain.errors import ConfigError
from edgederain.train.config import TrainConfig

Backend = Literal["auto", "gloo", "nccl"]
TORCHRUN_VARS = ("RANK", "WORLD_SIZE", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT")


@dataclass(frozen=True)
class DistContext:
    """Where this process stands in a distributed run (rank 0 of 1 when not distributed)."""

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0
    backend: str | None = None

    @property
    def enabled(self) -> bool:
        return self.world_size > 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    # -- data --------------------------------------------------------------------------------
    def per_rank_batch(self, batch_size: int) -> int:
        if batch_size % self.world_size:
            raise ConfigError(
                f"batch_size {batch_size} does not split evenly over {self.world_size} processes; "
                f"set batch_size to a multiple of {self.world_size} (it is the batch of one "
                "optimizer step across all processes), or launch another number of processes"
            )
        return batch_size // self.world_size

    def shard(self, batch_size: int) -> tuple[int, int]:
        """(offset, count) of this rank's samples within each step's batch."""
        n = self.per_rank_batch(batch_size)
        return self.rank * n, n

    # -- model -------------------------------------------------------------------------------
    def wrap(self, model: nn.Module, device: torch.device, *, sync_bn: bool) -> nn.Module:
        """The module to run forward passes through: ``model`` itself in one process, else a DDP
        wrapper (BatchNorm layers of ``model`` converted in place first when ``sync_bn``). The
        optimizer and checkpoints keep using ``model``."""
        if not self.enabled:
            return model
        from torch.nn.parallel import DistributedDataParallel

        from edgederain.train.sync_bn import convert_sync_batchnorm

        if sync_bn:
            convert_sync_batchnorm(model, device)
        ids = [device.index if device.index is not None else self.local_rank] if device.type == "cuda" else None
        return DistributedDataParallel(model, device_ids=ids)

    def place(self, device: torch.device) -> torch.device:
        """This rank's device: ``cuda:LOCAL_RANK`` for a CUDA run, else ``device``."""
        if self.enabled and device.type == "cuda":
            return torch.device("cuda", self.local_rank)
        return device

    # -- collectives -------------------------------------------------------------------------
    def mean(self, values: list[float]) -> list[float]:
        """Mean of ``values`` over the ranks (the values themselves in one process)."""
        if not self.enabled:
            return values
        import torch.distributed as dist

        device = torch.device("cuda", torch.cuda.current_device()) if self.backend == "nccl" else None
        t = torch.tensor(values, dtype=torch.float64, device=device)
        dist.all_reduce(t)
        return (t / self.world_size).tolist()

    def barrier(self) -> None:
        if self.enabled:
            import torch.distributed as dist

            dist.barrier()


SINGLE = DistContext()


def launched_by_torchrun() -> bool:
    """True when the environment holds what ``torchrun`` sets for each worker."""
    return all(os.environ.get(v) for v in TORCHRUN_VARS)


def env_rank() -> int:
    """This process's rank as torchrun set it (0 outside torchrun)."""
    return int(os.environ.get("RANK", "0") or 0) if launched_by_torchrun() else 0


def init_distributed(device: str = "auto", backend: Backend = "auto", *, timeout_min: float = 60.0) -> DistContext:
    """Join the process group torchrun set up; ``backend`` auto = nccl for CUDA runs, else gloo.

    ``timeout_min`` bounds how long ranks wait for each other (rank 0 validates alone while the
    others wait at their next collective: keep it above the longest validation).
    """
    import torch.distributed as dist

    if not launched_by_torchrun():
        missing = [v for v in TORCHRUN_VARS if not os.environ.get(v)]
        raise ConfigError(
            f"--distributed needs the environment torchrun sets for each process (missing: "
            f"{', '.join(missing)}); launch with: torchrun --nproc-per-node N -m edgederain train ..."
        )
    if backend not in ("auto", "gloo", "nccl"):
        raise ConfigError(f"--dist-backend must be auto, gloo or nccl, got {backend!r}")
    use_cuda = device == "cuda" or (device == "auto" and torch.cuda.is_available())
    chosen = backend if backend != "auto" else ("nccl" if use_cuda else "gloo")
    if chosen == "nccl" and not use_cuda:
        raise ConfigError("the nccl backend needs CUDA devices; use --dist-backend gloo for CPU processes")
    rank, world, local = (int(os.environ[v]) for v in ("RANK", "WORLD_SIZE", "LOCAL_RANK"))
    if use_cuda:
        torch.cuda.set_device(local)
    if not dist.is_initialized():
        dist.init_process_group(chosen, timeout=timedelta(minutes=timeout_min))
    return DistContext(rank, world, local, chosen)


def shutdown(ctx: DistContext) -> None:
    """Leave the process group (after a last barrier, so no rank exits while others write)."""
    if ctx.enabled:
        import torch.distributed as dist

        if dist.is_initialized():
            dist.barrier()
            dist.destroy_process_group()


def lr_scale(config: TrainConfig) -> float:
    """Factor applied to ``config.lr`` (``lr_scaling`` of ``batch_size / lr_batch``)."""
    ratio = config.batch_size / config.lr_batch
    return {"none": 1.0, "linear": ratio, "sqrt": math.sqrt(ratio)}[config.lr_scaling]


def describe(config: TrainConfig, ctx: DistContext) -> dict:
    """What the run's batch and learning rate are (printed and written to ``config.json``)."""
    scale = lr_scale(config)
    return {
        "world_size": ctx.world_size,
        "backend": ctx.backend,
        "per_rank_batch": ctx.per_rank_batch(config.batch_size),
        "effective_batch": config.batch_size,
        "lr": config.lr,
        "lr_scaling": config.lr_scaling,
        "lr_batch": config.lr_batch,
        "lr_scale": scale,
        "effective_lr": config.lr * scale,
        "sync_bn": bool(config.sync_bn and ctx.enabled),
    }


def describe_line(info: dict) -> str:
    return (
        f"{info['world_size']} process(es) ({info['backend'] or 'single'}): effective batch "
        f"{info['effective_batch']} = {info['per_rank_batch']} per process; lr {info['lr']:g} x "
        f"{info['lr_scale']:.4g} ({info['lr_scaling']}, reference batch {info['lr_batch']}) = "
        f"{info['effective_lr']:.4g}; BatchNorm {'synchronised' if info['sync_bn'] else 'per process'}"
    )


__all__ = [
    "SINGLE", "DistContext", "describe", "describe_line", "env_rank", "init_distributed",
    "launched_by_torchrun", "lr_scale", "shutdown",
]
