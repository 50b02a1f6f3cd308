"""Training configuration: one frozen dataclass, read from TOML or JSON, overridden by CLI flags.

Defaults are the thesis's (docs/model.md#training-schedule): Adam at 1e-3, learning rate x0.2 at
25 / 50 / 75 % of each stage's schedule, batch 4, 96 x 96 crops, gradient-norm clipping at 5,
100 epochs per stage. A schedule is given in epochs or in iterations (never both). Data is either paired folders
(``data``) or synthetic rain (``rain`` preset) drawn fresh over clean ``backgrounds``.

Relative paths are taken relative to the working directory. Every run writes the resolved
config (absolute paths, model config expanded) to ``<out_dir>/config.json``.
"""

from __future__ import annotations

import dataclasses
import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from edgederain.choices import AMPS, DEVICES, SIDES, STAGES, Amp, Device, Stage
from edgederain.configkeys import check_known_keys
from edgederain.errors import ConfigError
from edgederain.model.config import ModelConfig, get_preset
from edgederain.weights import is_packaged_name
from edgederain.data.pairs import LAYOUTS
from edgederain.data.synth import RainConfig, RainMixture, rain_from_spec

LrScaling = Literal["none", "linear", "sqrt"]


def _choice(name: str, value: str, choices: tuple[str, ...]) -> None:
    if value not in choices:
        raise ConfigError(f"{name} must be one of {choices}, got {value!r}")


def _positive(cfg: "TrainConfig", *names: str) -> None:
    for name in names:
        if getattr(cfg, name) <= 0:
            raise ConfigError(f"{name} must be > 0, got {getattr(cfg, name)}")


@dataclass(frozen=True)
class TrainConfig:
    """Everything a training run needs; see ``configs/*.toml`` for annotated examples."""

    model: str | dict = "thesis"  # preset name or a ModelConfig dict
    stage: Stage = "both"
    out_dir: str = "runs/train"
    # data
    data: tuple[str, ...] = ()  # paired folders; empty -> synthetic rain over backgrounds
    layout: str = "auto"
    clean_side: str = "left"
    backgrounds: tuple[str, ...] = ("../shared/data/backgrounds",)
    rain: str | dict = "light"  # preset or mixture name, a RainConfig dict, or {"mixture": {...}}
    max_side: int = 512
    holdout_every: int = 20  # every n-th background (or pair, without val_data) is validation only
    crop: int = 96
    batch_size: int = 4
    flip: bool = True
    # schedule (per stage; None + None -> 100 epochs)
    ae_epochs: int | None = None
    ae_iterations: int | None = None
    derain_epochs: int | None = None
    derain_iterations: int | None = None
    lr: float = 1e-3
    milestones: tuple[float, ...] = (0.25, 0.5, 0.75)
    gamma: float = 0.2
    grad_clip: float = 5.0
    # minutes of training per stage (0 = no limit): the stage ends at its iterations or after this
    # much time in the loop, whichever comes first, and the milestones fall at those fractions of
    # whichever is further along (a run boxed into a borrowed GPU's minutes or a night still decays)
    time_limit: float = 0.0
    # exponential moving average of the weights (decay per iteration; 0 = off). With it, validation,
    # derain_best.pt / *_final.pt and the "model" of every checkpoint are the averaged weights
    ema: float = 0.0
    # learning rate actually used: lr x f(batch_size / lr_batch), f from lr_scaling (none: 1)
    lr_scaling: LrScaling = "none"
    lr_batch: int = 4  # the batch size lr was tuned for (the thesis's 4)
    # loss (stage 2)
    w_embedding: float = 0.02
    w_attention: float = 0.1
    w_image: float = 1.0
    # not in the thesis: L1 between B^ and B (0-1 scale) added with this weight; -SSIM alone
    # hardly penalises a smooth brightness or colour error, which is what a veil leaves
    w_pixel: float = 0.0
    mask_threshold: float = 1e-3
    # stage 2 alone: the trained autoencoder
    ae_checkpoint: str | None = None
    # fine-tuning: stage 2 starts from these weights: a packaged model's name or a checkpoint path
    init: str | None = None
    # the SHA-256 (full, or a prefix of at least 8 hex digits) the init file must have: a config
    # that starts from a packaged name reproduces its run only while that file is unchanged
    init_sha256: str | None = None
    # distillation (stage 2): a teacher network (packaged name or checkpoint path) whose output the
    # network also learns to match, L1 weighted by w_distill; the teacher may be of another preset
    teacher: str | None = None
    w_distill: float = 1.0
    # validation, logging, checkpoints
    val_data: str | None = None  # paired folder; None -> held-out backgrounds/pairs
    val_count: int = 16
    val_rain: tuple[str, ...] = ()  # synthetic validation: val_count pairs per named preset
    val_crop: int = 192  # 0 = full images
    val_every: int = 500
    checkpoint_every: int = 250
    log_every: int = 10
    # compute
    amp: Amp = "off"
    channels_last: bool = False
    device: Device = "auto"
    threads: int = 0  # 0 = torch's default
    # processes that render the next batches while the network trains (0 = none: the loop draws
    # each batch itself); the batches are the same either way (edgederain/train/prefetch.py)
    workers: int = 0
    sync_bn: bool = True  # distributed runs: BatchNorm statistics over the whole batch (all ranks)
    seed: int = 0

    def __post_init__(self) -> None:
        for name in ("data", "backgrounds", "milestones", "val_rain"):
            value = getattr(self, name)
            if isinstance(value, (str, float, int)):
                raise ConfigError(f"{name} must be a list, got {value!r}")
            object.__setattr__(self, name, tuple(value))
        _choice("stage", self.stage, STAGES)
        _choice("amp", self.amp, AMPS)
        _choice("device", self.device, DEVICES)
        _choice("lr_scaling", self.lr_scaling, ("none", "linear", "sqrt"))
        _choice("layout", self.layout, LAYOUTS)
        _choice("clean_side", self.clean_side, SIDES)
        _positive(self, "crop", "batch_size", "lr", "gamma", "grad_clip", "val_every")
        _positive(self, "checkpoint_every", "log_every", "val_count", "lr_batch")
        if self.workers < 0:
            raise ConfigError(f"workers must be >= 0 (0 = draw batches in the training process), got {self.workers}")
        if not 0.0 <= self.ema < 1.0:
            raise ConfigError(f"ema is a decay in [0, 1) (0 = off), got {self.ema}")
        if self.w_distill < 0:
            raise ConfigError(f"w_distill must be >= 0, got {self.w_distill}")
        if self.w_pixel < 0:
            raise ConfigError(f"w_pixel must be >= 0, got {self.w_pixel}")
        if not (self.time_limit >= 0 and math.isfinite(self.time_limit)):
            raise ConfigError(f"time_limit is minutes of training per stage (0 = none), got {self.time_limit}")
        if any(not 0 < m < 1 for m in self.milestones) or list(self.milestones) != sorted(self.milestones):
            raise ConfigError(f"milestones are increasing fractions of the schedule in (0, 1), got {self.milestones}")
        for stage in ("ae", "derain"):
            epochs, iters = getattr(self, f"{stage}_epochs"), getattr(self, f"{stage}_iterations")
            if epochs is not None and iters is not None:
                raise ConfigError(f"give {stage}_epochs or {stage}_iterations, not both")
            if (epochs is not None and epochs <= 0) or (iters is not None and iters <= 0):
                raise ConfigError(f"{stage} schedule length must be > 0")
        crop_multiple = self.model_config().size_multiple
        for name in ("crop", "val_crop"):
            if getattr(self, name) % crop_multiple:
                raise ConfigError(f"{name} must be a multiple of {crop_multiple}, got {getattr(self, name)}")
        if self.init_sha256 is not None:
            digest = str(self.init_sha256).lower()
            if self.init is None:
                raise ConfigError("init_sha256 is set but init is not: name the checkpoint it checks")
            if len(digest) < 8 or len(digest) > 64 or any(c not in "0123456789abcdef" for c in digest):
                raise ConfigError(f"init_sha256 must be 8 to 64 hex digits of a SHA-256, got {self.init_sha256!r}")
            object.__setattr__(self, "init_sha256", digest)
        self.rain_config()  # validates
        for name in self.val_rain:
            rain_from_spec(name)

    def model_config(self) -> ModelConfig:
        if isinstance(self.model, str):
            return get_preset(self.model)
        if isinstance(self.model, ModelConfig):
            return self.model
        return ModelConfig.from_dict(dict(self.model))

    def rain_config(self) -> RainConfig | RainMixture:
        return rain_from_spec(self.rain if isinstance(self.rain, str) else dict(self.rain))

    def schedule(self, stage: Literal["ae", "derain"]) -> tuple[Literal["epochs", "iterations"], int]:
        iters = getattr(self, f"{stage}_iterations")
        if iters is not None:
            return "iterations", iters
        epochs = getattr(self, f"{stage}_epochs")
        return "epochs", 100 if epochs is None else epochs

    def replace(self, **changes: Any) -> "TrainConfig":
        """A copy with ``changes`` applied (validated again); ``None`` values are ignored."""
        return dataclasses.replace(self, **{k: v for k, v in changes.items() if v is not None})

    def to_dict(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        for name in ("data", "backgrounds", "milestones", "val_rain"):
            d[name] = list(d[name])
        return d

    def resolved(self) -> dict[str, Any]:
        """JSON-ready dict with absolute paths and the model/rain configs expanded."""
        d = self.to_dict()
        d["model"] = self.model_config().to_dict()
        d["rain"] = self.rain_config().to_dict()
        d["data"] = [str(Path(p).resolve()) for p in self.data]
        d["backgrounds"] = [str(Path(p).resolve()) for p in self.backgrounds]
        for name in ("out_dir", "val_data", "ae_checkpoint", "init", "teacher"):
            if d[name] is not None and not (name in ("init", "teacher") and is_packaged_name(d[name])):
                d[name] = str(Path(d[name]).resolve())
        return d

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "TrainConfig":
        check_known_keys(cls, data, what="training config")
        return cls(**data)


# Keys added after runs were already written: a config.json without them had their default.
ADDED_KEYS: dict[str, Any] = {"lr_scaling": "none", "lr_batch": 4, "sync_bn": True, "teacher": None, "w_distill": 1.0,
                             "ema": 0.0, "w_pixel": 0.0, "time_limit": 0.0,
                             "init_sha256": None}

# What a fine-tune changes from the thesis defaults (``edgederain train --init``, configs/finetune.toml):
# stage 2 only, a fifth of the learning rate, a short schedule with late decays.
FINETUNE_DEFAULTS: dict[str, Any] = {
    "stage": "derain", "lr": 2e-4, "derain_iterations": 2000, "milestones": (0.6, 0.85), "gamma": 0.3,
}


def load_train_config(path: str | Path) -> TrainConfig:
    """Read a ``.toml`` or ``.json`` training config (unknown keys are errors)."""
    return TrainConfig.from_dict(read_train_config(path))


def read_train_config(path: str | Path) -> dict[str, Any]:
    """The keys a ``.toml`` or ``.json`` training config sets, as written (not yet checked)."""
    p = Path(path)
    if not p.is_file():
        raise ConfigError(f"{p}: training config not found")
    suffix = p.suffix.lower()
    if suffix not in (".toml", ".json"):
        raise ConfigError(f"{p}: config must be a .toml or .json file")
    try:
        if suffix == ".json":
            data = json.loads(p.read_text())
        else:
            try:
                import tomllib
            except ModuleNotFoundError:  # Python 3.10
                raise ConfigError(f"{p}: TOML configs need Python >= 3.11; use a .json config") from None
            data = tomllib.loads(p.read_text())
    except ValueError as exc:  # JSONDecodeError and TOMLDecodeError are ValueErrors
        if isinstance(exc, ConfigError):
            raise
        raise ConfigError(f"{p}: cannot parse ({exc})") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{p}: a training config is a table of keys, not {type(data).__name__}")
    return data


__all__ = ["ADDED_KEYS", "Amp", "Device", "FINETUNE_DEFAULTS", "LrScaling", "STAGES", "Stage", "TrainConfig", "load_train_config", "read_train_config"]
