"""What a run needs besides the loop: compute device and precision, datasets, validation pairs.

- :class:`Compute` moves batches and models to the device (CUDA when present unless told
  otherwise), applies ``channels_last`` and opens the bf16 autocast region for forward passes.
- :func:`build_datasets` returns the training source (paired folders, or fresh synthetic rain over
  the clean backgrounds minus a held-out share) and a fixed list of validation pairs: the first
  ``val_count`` pairs of ``val_data`` (centre-cropped to ``val_crop``), or fixed synthetic rain on
  the held-out backgrounds (seeded, never seen in training). Without ``val_data``, paired
  training holds out every ``holdout_every``-th pair the same way.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, Sequence

import numpy as np
import torch
from torch import nn

from edgederain.errors import ConfigError, DatasetError
from edgederain.train.config import TrainConfig
from edgederain.data.datasets import (
    PairedDataset,
    PairSource,
    SyntheticRainDataset,
    list_backgrounds,
    split_holdout,
)
from edgederain.data.pairs import Pair, find_pairs, load_pair
from edgederain.data.synth import rain_from_spec

ValPairs = list[tuple[np.ndarray, np.ndarray]]


class ValSet(list):
    """Validation pairs with the name of the rain preset each came from (``groups``; may be empty)."""

    def __init__(self, pairs=(), groups: Sequence[str] = ()) -> None:
        super().__init__(pairs)
        self.groups = list(groups)


@dataclass(frozen=True)
class Compute:
    """Device, autocast and memory format of a run."""

    device: torch.device
    bf16: bool = False
    channels_last: bool = False

    @classmethod
    def from_config(cls, config: TrainConfig) -> "Compute":
        if config.device == "cuda" and not torch.cuda.is_available():
            raise ConfigError("device 'cuda' requested but CUDA is not available; use 'auto' or 'cpu'")
        use_cuda = config.device == "cuda" or (config.device == "auto" and torch.cuda.is_available())
        if config.amp == "bf16" and not use_cuda:
            from edgederain.runtime.machine import warn_if_bf16_emulated

            warn_if_bf16_emulated("amp = 'bf16'", "autocast is emulated there, 2x slower per iteration "
                                  "than FP32 on a 2-core Ice Lake Xeon (4.7 s against 2.3 s); set amp = 'off'")
        return cls(torch.device("cuda" if use_cuda else "cpu"), config.amp == "bf16", config.channels_last)

    def tensor(self, batch: np.ndarray) -> torch.Tensor:
        """N x H x W x 3 uint8 -> N x 3 x H x W float in [0, 1] on the device."""
        t = torch.from_numpy(np.require(batch, requirements=["C", "W"]))  # read-only: copied
        t = t.to(self.device).permute(0, 3, 1, 2).float() / 255.0
        return self.format(t)

    def format(self, t: torch.Tensor) -> torch.Tensor:
        return t.contiguous(memory_format=torch.channels_last) if self.channels_last else t.contiguous()

    def prepare(self, model: nn.Module) -> nn.Module:
        model.to(self.device)
        if self.channels_last:
            model.to(memory_format=torch.channels_last)
        return model

    @contextlib.contextmanager
    def autocast(self) -> Iterator[None]:
        with torch.autocast(self.device.type, dtype=torch.bfloat16, enabled=self.bf16):
            yield


class ConcatSource:
    """Several pair sources seen as one (indices run through them in order)."""

    def __init__(self, sources: Sequence[PairSource]) -> None:
        self.sources = list(sources)
        self.offsets = np.cumsum([0] + [len(s) for s in self.sources])

    def __len__(self) -> int:
        return int(self.offsets[-1])

    def sample(self, epoch: int, index: int) -> tuple[np.ndarray, np.ndarray]:
        k = int(np.searchsorted(self.offsets, index, side="right")) - 1
        return self.sources[k].sample(epoch, index - int(self.offsets[k]))


def _centre(img: np.ndarray, size: int, multiple: int) -> np.ndarray:
    h, w = img.shape[:2]
    th, tw = (min(size, h), min(size, w)) if size else (h, w)
    th, tw = th - th % multiple, tw - tw % multiple
    top, left = (h - th) // 2, (w - tw) // 2
    return img[top : top + th, left : left + tw]


def _val_from_pairs(pairs: Sequence[Pair], config: TrainConfig, multiple: int) -> ValPairs:
    out = []
    for pair in pairs[: config.val_count]:
        rainy, clean = load_pair(pair)
        out.append((_centre(rainy, config.val_crop, multiple), _centre(clean, config.val_crop, multiple)))
    return out


def _hold_out_pairs(sources: list[PairedDataset], config: TrainConfig) -> list[Pair]:
    """Move every ``holdout_every``-th pair of each source to validation (no val_data given)."""
    held: list[Pair] = []
    for source in sources:
        source.pairs, part = split_holdout(source.pairs, every=config.holdout_every)
        if not source.pairs:
            raise DatasetError("every training pair was held out; raise holdout_every or pass val_data")
        held += part
    if not held:
        raise ConfigError("no pairs left for validation; pass val_data or set holdout_every > 0")
    return held


def _val_synthetic(config: TrainConfig, held: list[Path], fallback: list[Path]) -> ValPairs:
    """``val_count`` fixed pairs of the training rain, or of each ``val_rain`` preset (grouped)."""
    rains = [(name, rain_from_spec(name)) for name in config.val_rain] or [("", config.rain_config())]
    out = ValSet()
    for k, (name, rain) in enumerate(rains):
        source = SyntheticRainDataset(
            held or fallback, rain=rain, crop=config.val_crop or 256, seed=config.seed + 7919 + 101 * k,
            flip=False, max_side=config.max_side,
        )
        n = len(source)
        pairs = [source.sample(i // n, i % n) for i in range(config.val_count)]
        out.extend(pairs)
        if name:
            out.groups.extend([name] * len(pairs))
    return out


def build_datasets(config: TrainConfig) -> tuple[PairSource, ValPairs]:
    """(training source, validation pairs) for ``config``."""
    multiple = config.model_config().size_multiple
    if config.data:
        sources = [
            PairedDataset(
                root, crop=config.crop, seed=config.seed, flip=config.flip,
                layout=config.layout, clean_side=config.clean_side,
            )
            for root in config.data
        ]
        held_pairs = [] if config.val_data else _hold_out_pairs(sources, config)
        train: PairSource = sources[0] if len(sources) == 1 else ConcatSource(sources)
        held: list[Path] = []
        fallback: list[Path] = []
    else:
        backgrounds = list_backgrounds(config.backgrounds)
        fallback = backgrounds
        bg_train, held = split_holdout(backgrounds, every=config.holdout_every)
        if not bg_train:
            raise DatasetError("every background was held out; raise holdout_every or add images")
        train = SyntheticRainDataset(
            bg_train, rain=config.rain_config(), crop=config.crop, seed=config.seed,
            flip=config.flip, max_side=config.max_side,
        )
    if config.val_data:
        pairs = find_pairs(config.val_data, layout=config.layout, clean_side=config.clean_side)
        val = _val_from_pairs(pairs, config, multiple)
    elif config.data:
        val = _val_from_pairs(held_pairs, config, multiple)
    else:
        val = _val_synthetic(config, held, fallback)
    return train, val


__all__ = ["Compute", "ConcatSource", "ValPairs", "ValSet", "build_datasets"]
