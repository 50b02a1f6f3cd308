"""The two-stage training loop: stage 1 rain autoencoder, stage 2 derain network (thesis ch. 3).

``train(config)`` runs the stages ``config.stage`` asks for (``both`` = AE then derain, with the
AE decoder transferred into the derain network before stage 2). Each stage:

- Adam (lr 1e-3), MultiStepLR x``gamma`` at the ``milestones`` fractions of the stage's
  iterations (stepped per iteration), gradient-norm clipping, optional bf16 autocast for the
  forward pass (losses in FP32; RLCN disables autocast for itself).
- Batches come from :func:`edgederain.data.datasets.batch_for_step`, a pure function of
  (seed, step), so a resumed run sees exactly the batches of an uninterrupted one.
- Writes into ``out_dir``: ``config.json`` (resolved config), ``<stage>_last.pt`` every
  ``checkpoint_every`` steps and on Ctrl-C (model, optimizer, scheduler, step, RNG state, config),
  ``<stage>_final.pt`` when the stage completes, ``derain_best.pt`` whenever validation PSNR
  improves, and ``<stage>_log.csv`` (loss terms, learning rate, speed, validation metrics).
- ``resume=True`` skips completed stages and continues from ``<stage>_last.pt`` bit for bit
  (same batches, same optimizer state, same weights as if never interrupted).
- ``dist`` (a :class:`~edgederain.train.distributed.DistContext` from ``torchrun``) runs the same
  stages in several processes (DDP); without it, nothing differs from a plain single-process run.

Note:
    In stage 2 the frozen autoencoder runs in eval mode under ``no_grad`` (its BatchNorm uses the
    running statistics from stage 1). Official ECNet leaves it in train mode (batch statistics);
    at batch 4 eval mode is the more stable choice (docs/model.md#departures-from-the-thesis).
"""

from __future__ import annotations

import dataclasses
import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Literal

import torch

from edgederain.errors import CheckpointError, ConfigError
from edgederain.model.config import ModelConfig
from edgederain.model.autoencoder import RainAutoencoder, transfer_decoder
from edgederain.model.grow import grow_network, growable
from edgederain.model.net import DerainNet
from edgederain.train.checkpoint import load_autoencoder, load_derain_model, read_checkpoint, sha256_of
from edgederain.train.config import ADDED_KEYS, TrainConfig
from edgederain.data.datasets import PairSource, steps_per_epoch
from edgederain.train.distributed import SINGLE, DistContext, describe, describe_line
from edgederain.train.losses import LossWeights, autoencoder_loss, derain_loss
from edgederain.train.runner import StageResult, StageRunner
from edgederain.train.setup import Compute, build_datasets
from edgederain.train.validation import validate_autoencoder, validate_derain
from edgederain.weights import is_packaged_name

StageName = Literal["ae", "derain"]
# settings that may differ on --resume without changing what is computed
RESUMABLE_CHANGES = ("stage", "threads", "workers", "val_every", "checkpoint_every", "log_every", "device",
                     "distributed", "init_sha256")
StepFn = Callable[[torch.Tensor, torch.Tensor], tuple[torch.Tensor, dict[str, float]]]


@dataclass
class TrainResult:
    out_dir: Path
    stages: list[StageResult]


def total_iterations(config: TrainConfig, stage: StageName, dataset: PairSource) -> int:
    unit, n = config.schedule(stage)
    return n if unit == "iterations" else n * steps_per_epoch(dataset, config.batch_size)


def _ae_step(ae: RainAutoencoder, compute: Compute) -> StepFn:
    def step(rainy: torch.Tensor, clean: torch.Tensor):
        rain = compute.format(2.0 * (rainy - clean))
        with compute.autocast():
            recon, _ = ae(rain)
        loss = autoencoder_loss(recon, rain)
        return loss, {"loss": float(loss.detach())}

    return step


def _derain_step(
    net: DerainNet, ae: RainAutoencoder | None, compute: Compute, weights: LossWeights,
    teacher: DerainNet | None = None,
) -> StepFn:
    def step(rainy: torch.Tensor, clean: torch.Tensor):
        with compute.autocast():
            out = net(rainy)
            with torch.no_grad():
                if ae is None:  # w_embedding == 0: the embedding term is computed against itself
                    z_ideal = out.steps[-1].embedding.detach()
                else:
                    z_ideal = ae.encode(compute.format(2.0 * (rainy - clean)))
                target = None if teacher is None else teacher.infer(rainy)
        return derain_loss(out, rainy, clean, z_ideal, weights=weights, teacher=target)

    return step


def _weights(config: TrainConfig) -> LossWeights:
    return LossWeights(
        config.w_embedding, config.w_attention, config.w_image, config.mask_threshold,
        config.w_distill if config.teacher is not None else 0.0, config.w_pixel,
    )


def _stage_ae(config, compute, train, val, dist: DistContext = SINGLE, **kw) -> tuple[StageResult, RainAutoencoder]:
    torch.manual_seed(config.seed)
    ae = compute.prepare(RainAutoencoder(config.model_config()))
    forward = dist.wrap(ae, compute.device, sync_bn=config.sync_bn)
    runner = StageRunner(
        "ae", ae, _ae_step(forward, compute), lambda m: validate_autoencoder(m, val, compute),
        config=config, compute=compute, dataset=train,
        total=total_iterations(config, "ae", train), score_key="neg_mse", val_keys=("mse",), dist=dist,
    )
    result = runner.run(**kw)
    return result, ae


def _autoencoder_path(config: TrainConfig) -> Path:
    """The AE that supplies stage 2's ideal embedding: given, this run's own, or the packaged one."""
    if config.ae_checkpoint:
        return Path(config.ae_checkpoint)
    own = Path(config.out_dir) / "ae_final.pt"
    if is_packaged_name(config.init) and config.stage == "derain" and not own.is_file():
        from edgederain.weights import autoencoder_file

        return autoencoder_file(str(config.init))
    return own


def _autoencoder_for_stage2(config: TrainConfig, compute: Compute) -> RainAutoencoder:
    path = _autoencoder_path(config)
    if not path.is_file():
        raise ConfigError(
            f"stage 2 needs the trained autoencoder: {path} not found; run stage 'ae' (or 'both') "
            "first, set ae_checkpoint / --ae-checkpoint, or train without the embedding loss "
            "(w_embedding = 0)"
        )
    ae, _ = load_autoencoder(path)
    if ae.config.widths != config.model_config().widths:
        raise CheckpointError(
            f"{path}: autoencoder widths {ae.config.widths} differ from the model's "
            f"{config.model_config().widths}; train the AE with the same model preset"
        )
    return compute.prepare(ae)


def _network_file(name: str) -> Path:
    if is_packaged_name(name):
        from edgederain.weights import checkpoint_file

        return checkpoint_file(name)
    return Path(name)


def _frozen(module: torch.nn.Module) -> torch.nn.Module:
    """``module`` in eval mode with no gradients: a fixed target (the AE, a teacher)."""
    for p in module.parameters():
        p.requires_grad_(False)
    return module.eval()


def _teacher(config: TrainConfig, compute: Compute) -> DerainNet | None:
    """The frozen network whose output stage 2 distils (``teacher``); None without one."""
    if config.teacher is None:
        return None
    net, _ = load_derain_model(_network_file(config.teacher))
    return _frozen(compute.prepare(net))


def init_model_config(init: str) -> dict:
    """The network config (a dict, as ``TrainConfig.model`` takes it) of an ``init`` checkpoint."""
    return read_checkpoint(_network_file(init))["config"].to_dict()


def check_init_sha256(config: TrainConfig) -> None:
    """Refuse an ``init`` file whose SHA-256 differs from the config's ``init_sha256``."""
    if config.init_sha256 is None:
        return
    path = _network_file(str(config.init))
    if not path.is_file():
        raise ConfigError(f"init {config.init!r}: {path} not found")
    actual = sha256_of(path)
    if not actual.startswith(config.init_sha256):
        hint = (
            f" (the packaged {config.init!r} weights changed since the config was written; restore "
            f"the commit's file with `git log -- {path.as_posix()}` and `git checkout`)"
            if is_packaged_name(config.init) else ""
        )
        raise ConfigError(
            f"init {path} has SHA-256 {actual[:12]}..., the config expects {config.init_sha256[:12]}...{hint}; "
            "or drop init_sha256 to start from the file as it is"
        )


def _init_network(config: TrainConfig) -> DerainNet:
    """The network stage 2 starts from when fine-tuning (``init``): weights of a derain checkpoint."""
    path = _network_file(str(config.init))
    net, _ = load_derain_model(path)
    wanted = config.model_config()
    if net.config != wanted and growable(net.config, wanted):
        # grow the veil head and/or wider MSPAM onto the init (edgederain.model.grow): the
        # network starts with the init's own outputs
        net = grow_network(net, wanted, seed=config.seed).eval()
    if net.config != wanted:
        raise ConfigError(
            f"init {path} holds a network of config {net.config.to_dict()}, the run is configured "
            f"for {wanted.to_dict()}; set model to the checkpoint's preset (or one that only adds "
            "the veil head or widens MSPAM)"
        )
    return net


def _val_keys(val) -> tuple[str, ...]:
    groups = list(dict.fromkeys(getattr(val, "groups", [])))
    return ("psnr_rgb", "psnr_y", "input_psnr_rgb", *(f"{p}psnr_y_{g}" for g in groups for p in ("", "input_")))


def _stage_derain(config, compute, train, val, dist: DistContext = SINGLE, **kw) -> StageResult:
    ae = None
    # the AE supplies the embedding target and, from scratch, the decoder; a distilled network
    # without the embedding loss starts from random weights and needs none
    if config.w_embedding > 0 or (config.init is None and config.teacher is None):
        ae = _frozen(_autoencoder_for_stage2(config, compute))
    torch.manual_seed(config.seed + 1)
    if config.init is not None:
        net = _init_network(config)
    else:
        net = DerainNet(config.model_config())
        if ae is not None:
            transfer_decoder(ae, net)
    net = compute.prepare(net)
    forward = dist.wrap(net, compute.device, sync_bn=config.sync_bn)
    runner = StageRunner(
        "derain", net, _derain_step(forward, ae, compute, _weights(config), _teacher(config, compute)),
        lambda m: validate_derain(m, val, compute),
        config=config, compute=compute, dataset=train,
        total=total_iterations(config, "derain", train), score_key="psnr_rgb", val_keys=_val_keys(val),
        extra={"autoencoder": ae.state_dict()} if ae is not None else {},
        validate_first=config.init is not None, dist=dist,
    )
    return runner.run(**kw)


def _check_out_dir(config: TrainConfig, resume: bool) -> Path:
    out = Path(config.out_dir)
    existing = sorted(p.name for p in out.glob("*.pt")) if out.is_dir() else []
    if existing and not resume:
        raise ConfigError(
            f"{out} already holds checkpoints ({', '.join(existing)}); pass --resume to continue "
            "that run, or choose another --out"
        )
    out.mkdir(parents=True, exist_ok=True)
    return out


def _resolved(config: TrainConfig, dist: DistContext) -> dict:
    resolved = json.loads(json.dumps(config.resolved()))  # tuples -> lists, as stored
    if dist.enabled:
        resolved["distributed"] = describe(config, dist)
    return resolved


def _check_config(config: TrainConfig, out: Path, resume: bool, dist: DistContext) -> dict:
    """The config to write; refuses a resume whose settings differ from the run's."""
    path = out / "config.json"
    resolved = _resolved(config, dist)
    if resume and path.is_file():
        before = json.loads(path.read_text())
        if isinstance(before.get("model"), dict):  # a run written before a model field existed
            before["model"] = ModelConfig.from_dict(before["model"]).to_dict()
        changed = sorted(
            k for k in resolved
            if before.get(k, ADDED_KEYS.get(k)) != resolved[k] and k not in RESUMABLE_CHANGES
        )
        if changed:
            raise ConfigError(
                f"--resume with a different config than {path} (changed: {', '.join(changed)}); "
                "resume with the same settings, or start a new run in another --out"
            )
    return resolved


def _write_config(config: TrainConfig, out: Path, resume: bool, dist: DistContext = SINGLE) -> None:
    resolved = _check_config(config, out, resume, dist)
    dist.barrier()  # every rank has checked before rank 0 writes
    if dist.is_main:
        (out / "config.json").write_text(json.dumps(resolved, indent=2) + "\n")
    dist.barrier()


def train(
    config: TrainConfig, *, resume: bool = False, stop_after: int | None = None, progress: bool = True,
    dist: DistContext = SINGLE,
) -> TrainResult:
    """Run the configured stage(s); see the module docstring. ``stop_after`` simulates an interrupt."""
    if config.threads:
        torch.set_num_threads(config.threads)
    if dist.enabled:
        dist.per_rank_batch(config.batch_size)  # refuses a batch that does not split
    out = _check_out_dir(config, resume)
    if not (resume and any((out / f"derain_{k}.pt").is_file() for k in ("last", "final"))):
        check_init_sha256(config)  # a resumed stage 2 continues from its own weights, not the init
    _write_config(config, out, resume, dist)
    compute = Compute.from_config(config)
    if dist.enabled:
        compute = dataclasses.replace(compute, device=dist.place(compute.device))
        if dist.is_main:
            print(f"distributed training: {describe_line(describe(config, dist))}", file=sys.stderr, flush=True)
    train_source, val = build_datasets(config)
    kw = dict(resume=resume, stop_after=stop_after, progress=progress and dist.is_main, dist=dist)
    results: list[StageResult] = []
    if config.stage in ("both", "ae"):
        ae_result, _ = _stage_ae(config, compute, train_source, val, **kw)
        results.append(ae_result)
        if not ae_result.completed:
            return TrainResult(out, results)
    if config.stage in ("both", "derain"):
        results.append(_stage_derain(config, compute, train_source, val, **kw))
    return TrainResult(out, results)


def read_training_state(path: str | Path) -> dict:
    """The step / stage / metrics recorded in a training checkpoint (for status displays)."""
    data = read_checkpoint(path)
    return {k: data.get(k) for k in ("stage", "step", "total", "metrics", "best_score")}


__all__ = ["StageResult", "TrainResult", "read_training_state", "total_iterations", "train"]
