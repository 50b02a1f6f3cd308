"""One training stage's iteration loop: optimise, log, validate, checkpoint, resume.

A :class:`StageRunner` owns the optimizer (Adam), the schedule (MultiStepLR stepped per
iteration; with ``config.time_limit`` the decays fall at fractions of the steps or of the
minutes, whichever is further along, and the stage ends at the first of the two) and the files
of its stage in ``out_dir`` (``<stage>_last.pt``, ``<stage>_final.pt``, ``<stage>_best.pt``,
``<stage>_log.csv``). Checkpoints hold everything needed to continue bit for
bit: model, optimizer and scheduler state, the step, RNG states and the resolved config.

With ``config.ema`` > 0 the runner also keeps an exponential moving average of the weights
(:class:`torch.optim.swa_utils.AveragedModel`, buffers included). Validation scores the averaged
weights, and they are what every checkpoint stores as ``model`` (so export, evaluate and ``init``
use them); full checkpoints add the raw training weights as ``train_model`` to resume from.

In a distributed run (``dist``) every rank steps through the same loop on its share of each
batch; rank 0 alone validates, logs and writes the files, and the logged loss terms are the
means over the ranks (what one process would log for the whole batch).
"""

from __future__ import annotations

import contextlib
import math
import signal
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import torch
from torch import nn
from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn
from tqdm import tqdm

from edgederain.errors import CheckpointError
from edgederain.train.checkpoint import read_checkpoint, restore_rng_state, rng_state, save_checkpoint
from edgederain.train.config import TrainConfig
from edgederain.train.csvlog import CsvLog
from edgederain.data.datasets import PairSource
from edgederain.train.prefetch import BatchPrefetcher
from edgederain.train.distributed import SINGLE, DistContext, lr_scale
from edgederain.train.setup import Compute


_HELD_SIGNALS = (signal.SIGINT, signal.SIGTERM)


@contextlib.contextmanager
def _interrupts_held():
    """Holds Ctrl-C and SIGTERM back while the block runs, then acts on them as they would have.

    The weight update, the EMA, the schedule and the step count change together: an interrupt
    raised between them would leave no state a checkpoint could resume from bit for bit, so the
    stop waits the few milliseconds to the end of the step. Only the main thread gets signals.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    caught: list[int] = []
    previous = {s: signal.getsignal(s) for s in _HELD_SIGNALS}
    for s in _HELD_SIGNALS:
        signal.signal(s, lambda signum, frame: caught.append(signum))
    try:
        yield
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)
    for signum in caught[:1]:
        handler = previous[signum]
        if callable(handler):
            handler(signum, None)
        elif handler == signal.SIG_DFL:
            signal.raise_signal(signum)


@dataclass
class StageResult:
    """What one stage did."""

    stage: str
    steps: int
    total: int
    completed: bool
    last_metrics: dict[str, float] = field(default_factory=dict)
    best_score: float | None = None
    seconds: float = 0.0


class StageRunner:
    """Runs stage ``name`` of a training config; see :meth:`run`."""

    def __init__(
        self,
        name: str,
        model: nn.Module,
        step_fn: Callable,
        validate: Callable[[nn.Module], dict[str, float]],
        *,
        config: TrainConfig,
        compute: Compute,
        dataset: PairSource,
        total: int,
        score_key: str,
        val_keys: tuple[str, ...] = (),
        extra: dict[str, Any] | None = None,
        validate_first: bool = False,
        dist: DistContext = SINGLE,
    ) -> None:
        self.name, self.model, self.step_fn, self.validate = name, model, step_fn, validate
        self.config, self.compute, self.dataset, self.total = config, compute, dataset, total
        self.score_key, self.val_keys, self.extra = score_key, val_keys, extra or {}
        self.validate_first = validate_first  # validate before the first step (fine-tuning)
        self.dist = dist
        self.shard = dist.shard(config.batch_size)  # (offset, count) of this rank's samples
        out = Path(config.out_dir)
        self.last, self.final = out / f"{name}_last.pt", out / f"{name}_final.pt"
        self.best = out / f"{name}_best.pt"
        scale = lr_scale(config)
        self.optimizer = torch.optim.Adam(model.parameters(), lr=config.lr if scale == 1.0 else config.lr * scale)
        self.time_limit = 60.0 * config.time_limit  # seconds of training in the loop; 0 = none
        if self.time_limit and dist.enabled:
            raise CheckpointError("time_limit is for single-process runs: ranks would stop at different steps")
        self.milestones = sorted({max(1, round(f * total)) for f in config.milestones})
        # with a time limit the runner sets the rate itself (_set_lr); MultiStepLR only keeps state
        self.scheduler = torch.optim.lr_scheduler.MultiStepLR(
            self.optimizer, [] if self.time_limit else self.milestones, gamma=config.gamma)
        self.trained_seconds = 0.0  # time spent in the loop, over every resume
        self.ema = (AveragedModel(model, multi_avg_fn=get_ema_multi_avg_fn(config.ema), use_buffers=True)
                    if config.ema > 0 else None)
        self.step = 0
        self.best_score: float | None = None
        self.metrics: dict[str, float] = {}
        self._consistent = True  # False only between the weight update and the step count
        self._batches: BatchPrefetcher | None = None  # set while run() runs

    @property
    def weights(self) -> nn.Module:
        """The network validation scores and checkpoints store: the EMA one when ``ema`` is on."""
        return self.model if self.ema is None else self.ema.module

    # -- checkpoints -------------------------------------------------------------------------
    def _save(self, path: Path, *, full: bool = True) -> None:
        if not self.dist.is_main:
            return
        state: dict[str, Any] = {
            "stage": self.name,
            "step": self.step,
            "total": self.total,
            "metrics": dict(self.metrics),
            "best_score": self.best_score,
            "trained_seconds": self.trained_seconds,
            "train_config": self.config.resolved(),
        }
        if self.dist.enabled:
            state["world_size"] = self.dist.world_size
        if full:
            state.update(
                optimizer=self.optimizer.state_dict(),
                scheduler=self.scheduler.state_dict(),
                rng=rng_state(),
                **self.extra,
            )
            if self.ema is not None:
                state.update(train_model=self.model.state_dict(), ema_updates=int(self.ema.n_averaged))
        save_checkpoint(path, self.weights, **state)

    def _load(self, path: Path) -> None:
        data = read_checkpoint(path)
        if data.get("stage") != self.name or data.get("total") != self.total:
            raise CheckpointError(
                f"{path}: belongs to stage {data.get('stage')!r} with {data.get('total')} iterations, "
                f"not {self.name!r} with {self.total}; resume with the run's original config"
            )
        if self.ema is not None:
            if "train_model" not in data:
                raise CheckpointError(f"{path}: written without ema; resume with the run's original config")
            self.model.load_state_dict(data["train_model"])
            self.ema.module.load_state_dict(data["model"])
            self.ema.n_averaged.fill_(int(data["ema_updates"]))
        else:
            self.model.load_state_dict(data["model"])
        if "optimizer" in data:
            self.optimizer.load_state_dict(data["optimizer"])
            self.scheduler.load_state_dict(data["scheduler"])
            restore_rng_state(data["rng"])
        self.step, self.best_score = int(data["step"]), data.get("best_score")
        self.trained_seconds = float(data.get("trained_seconds", 0.0))
        self.metrics = dict(data.get("metrics") or {})

    # -- one iteration -----------------------------------------------------------------------
    def _iterate(self) -> dict[str, float]:
        rainy, clean = self._batches.batch(self.step)
        rainy, clean = self.compute.tensor(rainy), self.compute.tensor(clean)
        loss, terms = self.step_fn(rainy, clean)
        if self.dist.enabled:  # every rank sees the whole batch's terms (and a NaN anywhere)
            names = list(terms)
            means = self.dist.mean([float(loss.detach()), *(terms[k] for k in names)])
            value, terms = means[0], dict(zip(names, means[1:]))
        else:
            value = loss.detach()
        if not math.isfinite(float(value)):
            raise FloatingPointError(
                f"{self.name} loss is {float(value)} at step {self.step}; lower lr or turn off amp, "
                f"then --resume from {self.last}"
            )
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        norm = torch.nn.utils.clip_grad_norm_(self.model.parameters(), self.config.grad_clip)
        with _interrupts_held():
            self._consistent = False
            self.optimizer.step()
            if self.ema is not None:
                self.ema.update_parameters(self.model)
            self.scheduler.step()
            self.step += 1
            self._consistent = True
        return {**terms, "grad_norm": float(norm)}

    # -- the time limit ----------------------------------------------------------------------
    def _set_lr(self) -> None:
        """The rate after the decays passed in steps (as MultiStepLR counts them) or in minutes."""
        by_steps = sum(1 for m in self.milestones if self.step >= m)
        by_time = sum(1 for f in self.config.milestones if self.trained_seconds >= f * self.time_limit)
        passed = max(by_steps, by_time)
        for group in self.optimizer.param_groups:
            group["lr"] = group["initial_lr"] * self.config.gamma ** passed

    def _out_of_time(self) -> bool:
        return bool(self.time_limit) and self.trained_seconds >= self.time_limit

    def _validate(self) -> dict[str, float] | None:
        if not self.dist.is_main:
            return None
        metrics = self.validate(self.weights)
        self.metrics = metrics
        score = metrics[self.score_key]
        if self.best_score is None or score > self.best_score:
            self.best_score = score
            self._save(self.best, full=False)
        return metrics

    # -- the loop ----------------------------------------------------------------------------
    def _result(self, completed: bool, seconds: float = 0.0):
        return StageResult(self.name, self.step, self.total, completed, self.metrics, self.best_score, seconds)

    def _after_step(self, terms: dict[str, float], log: CsvLog | None, speed: tuple[float, int]) -> None:
        if log is None:  # ranks other than 0 neither log nor validate
            return
        log.add(terms)
        last = self.step == self.total or self._out_of_time()
        val = self._validate() if self.step % self.config.val_every == 0 or last else None
        if val is not None or self.step % self.config.log_every == 0:
            elapsed = time.perf_counter() - speed[0]
            log.write(self.step, lr=self.optimizer.param_groups[0]["lr"], elapsed=elapsed,
                      it_per_s=(self.step - speed[1]) / max(elapsed, 1e-9), val=val)
        if self.step % self.config.checkpoint_every == 0:
            self._save(self.last)

    def run(self, *, resume: bool, stop_after: int | None = None, progress: bool = True):
        """Train to the end of the stage (or to ``stop_after`` steps); returns a StageResult."""
        if resume and self.final.is_file():
            self._load(self.final)
            return self._result(True)
        if resume and self.last.is_file():
            self._load(self.last)
        self.model.train()
        log = CsvLog(Path(self.config.out_dir) / f"{self.name}_log.csv", keep_until=self.step,
                     val_keys=self.val_keys) if self.dist.is_main else None
        speed = (time.perf_counter(), self.step)
        if self.step == 0 and self.validate_first and log is not None:  # where a fine-tune starts from
            log.write(0, lr=self.optimizer.param_groups[0]["lr"], elapsed=0.0, it_per_s=0.0, val=self._validate())
        bar = tqdm(total=self.total, initial=self.step, desc=self.name, disable=not progress, dynamic_ncols=True)
        offset, count = self.shard
        self._batches = BatchPrefetcher(self.dataset, batch_size=self.config.batch_size, seed=self.config.seed,
                                        workers=self.config.workers, offset=offset, count=count)
        clock = time.perf_counter()  # trained_seconds counts the loop's time, validation included
        try:
            while self.step < self.total and not self._out_of_time():
                if stop_after is not None and self.step >= stop_after:
                    self._save(self.last)
                    self.dist.barrier()
                    return self._result(False, time.perf_counter() - speed[0])
                terms = self._iterate()
                now = time.perf_counter()
                self.trained_seconds, clock = self.trained_seconds + now - clock, now
                if self.time_limit:
                    self._set_lr()
                bar.update(1)
                bar.set_postfix({k: f"{v:.4g}" for k, v in terms.items() if k != "grad_norm"}, refresh=False)
                self._after_step(terms, log, speed)
        except KeyboardInterrupt:
            if self._consistent:  # not caught between the weight update and the step count
                self._save(self.last)
            raise
        finally:
            bar.close()
            self._batches.close()
            self._batches = None
        self._save(self.last)
        self._save(self.final)
        self.dist.barrier()  # the next stage (on every rank) reads what rank 0 wrote
        return self._result(True, time.perf_counter() - speed[0])


__all__ = ["StageResult", "StageRunner"]
