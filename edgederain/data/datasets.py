"""Training datasets: paired folders and synthetic rain over clean backgrounds (numpy, no torch).

Every sample is addressed by ``(epoch, index)`` and drawn from its own generator seeded with
``(seed, epoch, index)``, so a batch depends only on the run's seed and the step number: resuming
at step ``s`` sees exactly the batches an uninterrupted run would (no sampler state to save).

- :class:`PairedDataset`: pairs found by :func:`edgederain.data.pairs.find_pairs`; one random
  ``crop x crop`` window sampled once and applied to both images, then the same flips.
- :class:`SyntheticRainDataset`: clean backgrounds (downscaled so the longer side is at most
  ``max_side``, cached in memory); each sample crops a background, flips it, and renders fresh
  rain onto the crop with :func:`edgederain.data.synth.add_rain`, so every epoch sees new rain.

:func:`batch_for_step` turns a dataset into the ``step``-th batch (epoch-wise shuffles);
:func:`batch_for_slots` gives any consecutive run of samples (a distributed rank's share).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Protocol, Sequence

import numpy as np

from edgederain.errors import DatasetError, ImageReadError
from edgederain.io import IMAGE_SUFFIXES, read_rgb
from edgederain.data.pairs import Layout, Pair, Side, find_pairs, load_pair
from edgederain.data.synth import RainConfig, RainMixture, add_rain, rain_from_spec


class PairSource(Protocol):
    """What the training loop needs from a dataset."""

    def __len__(self) -> int: ...

    def sample(self, epoch: int, index: int) -> tuple[np.ndarray, np.ndarray]: ...


def sample_rng(seed: int, epoch: int, index: int) -> np.random.Generator:
    """The generator that draws sample ``index`` of ``epoch`` (independent of everything else)."""
    return np.random.default_rng([seed & 0xFFFFFFFF, epoch & 0xFFFFFFFF, index & 0xFFFFFFFF, 17])


def random_crop(
    images: Sequence[np.ndarray], size: int, rng: np.random.Generator, *, flip: bool = True
) -> list[np.ndarray]:
    """One window and one set of flips, applied to every image in ``images`` (same H x W)."""
    h, w = images[0].shape[:2]
    if any(im.shape[:2] != (h, w) for im in images):
        raise DatasetError(f"cannot crop images of different sizes {[im.shape for im in images]}")
    if h < size or w < size:
        raise DatasetError(f"image is {w}x{h}, smaller than the {size}x{size} crop; lower the crop")
    top = int(rng.integers(0, h - size + 1))
    left = int(rng.integers(0, w - size + 1))
    hflip = flip and bool(rng.integers(0, 2))
    vflip = flip and bool(rng.integers(0, 2))
    out = []
    for im in images:
        c = im[top : top + size, left : left + size]
        if hflip:
            c = c[:, ::-1]
        if vflip:
            c = c[::-1]
        out.append(np.ascontiguousarray(c))
    return out


class PairedDataset:
    """Aligned random crops of rainy/clean pairs read from disk."""

    def __init__(
        self,
        root: str | os.PathLike,
        *,
        crop: int = 96,
        seed: int = 0,
        flip: bool = True,
        layout: Layout = "auto",
        clean_side: Side = "left",
    ) -> None:
        self.pairs: list[Pair] = find_pairs(root, layout=layout, clean_side=clean_side)
        self.crop, self.seed, self.flip = crop, seed, flip

    def __len__(self) -> int:
        return len(self.pairs)

    def sample(self, epoch: int, index: int) -> tuple[np.ndarray, np.ndarray]:
        rainy, clean = load_pair(self.pairs[index])
        rng = sample_rng(self.seed, epoch, index)
        rainy, clean = random_crop([rainy, clean], self.crop, rng, flip=self.flip)
        return rainy, clean


def list_backgrounds(roots: Sequence[str | os.PathLike]) -> list[Path]:
    """All images under the given folders (recursively) or files, sorted."""
    found: list[Path] = []
    for root in roots:
        p = Path(root)
        if p.is_file():
            found.append(p)
        elif p.is_dir():
            found.extend(q for q in p.rglob("*") if q.is_file() and q.suffix.lower() in IMAGE_SUFFIXES)
        else:
            raise DatasetError(f"{p}: background folder or image not found")
    if not found:
        raise DatasetError(f"no background images under {[str(r) for r in roots]}")
    return sorted(found)


def split_holdout(paths: Sequence[Path], *, every: int) -> tuple[list[Path], list[Path]]:
    """(train, held_out): every ``every``-th path is held out for validation (0 = none)."""
    if every <= 0:
        return list(paths), []
    held = [p for i, p in enumerate(paths) if i % every == every - 1]
    return [p for i, p in enumerate(paths) if i % every != every - 1], held


def load_background(path: Path, *, max_side: int) -> np.ndarray:
    """Read a clean photo and downscale it (Lanczos) so its longer side is <= ``max_side``."""
    from PIL import Image

    try:
        rgb = read_rgb(path)
    except ImageReadError as exc:
        raise DatasetError(f"background {path}: {exc}") from None
    h, w = rgb.shape[:2]
    scale = max_side / max(h, w)
    if max_side > 0 and scale < 1.0:
        size = (max(1, round(w * scale)), max(1, round(h * scale)))
        rgb = np.asarray(Image.fromarray(rgb).resize(size, Image.LANCZOS))
    return rgb


class SyntheticRainDataset:
    """Fresh synthetic rain on random crops of clean backgrounds, every epoch."""

    def __init__(
        self,
        backgrounds: Sequence[Path],
        *,
        rain: RainConfig | RainMixture | str = "light",
        crop: int = 96,
        seed: int = 0,
        flip: bool = True,
        max_side: int = 512,
    ) -> None:
        if not backgrounds:
            raise DatasetError("SyntheticRainDataset needs at least one background image")
        self.paths = list(backgrounds)
        self.rain = rain_from_spec(rain)
        self.crop, self.seed, self.flip, self.max_side = crop, seed, flip, max_side
        self._cache: dict[int, np.ndarray] = {}

    def __len__(self) -> int:
        return len(self.paths)

    def background(self, index: int) -> np.ndarray:
        if index not in self._cache:
            self._cache[index] = load_background(self.paths[index], max_side=self.max_side)
        return self._cache[index]

    def sample(self, epoch: int, index: int) -> tuple[np.ndarray, np.ndarray]:
        rng = sample_rng(self.seed, epoch, index)
        rain = self.rain.pick(rng)
        background = self.background(index)
        scale = float(rng.uniform(*rain.downscale))
        side = min(int(round(self.crop * scale)), *background.shape[:2])
        (clean,) = random_crop([background], max(side, self.crop), rng, flip=self.flip)
        gain = float(rng.uniform(*rain.exposure))
        if gain != 1.0:
            clean = np.round(np.clip(clean.astype(np.float32) * gain, 0, 255)).astype(np.uint8)
        rainy = add_rain(clean, config=rain, rng=rng)
        if clean.shape[0] != self.crop:
            rainy, clean = (_downscale(im, self.crop) for im in (rainy, clean))
        return rainy, clean


def _downscale(img: np.ndarray, side: int) -> np.ndarray:
    """Area-style (Lanczos) downscale of a square crop to ``side`` x ``side``, as a camera's resize."""
    from PIL import Image

    return np.array(Image.fromarray(img).resize((side, side), Image.LANCZOS))


def batch_for_step(
    dataset: PairSource, step: int, *, batch_size: int, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """The ``step``-th batch: (rainy, clean) as N x H x W x 3 uint8 stacks.

    Batches walk an epoch-wise permutation of the dataset; a batch that straddles an epoch end
    takes its tail from the next epoch's permutation.
    """
    return batch_for_slots(dataset, step * batch_size, batch_size, seed=seed)


def batch_for_slots(
    dataset: PairSource, start: int, count: int, *, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """Samples ``start .. start + count - 1`` of the run's sample stream (epoch-wise shuffles):
    the ``step``-th batch is ``batch_for_slots(dataset, step * batch_size, batch_size)``, and a
    distributed rank takes its consecutive share of it."""
    n = len(dataset)
    rainy, clean = [], []
    for slot in range(start, start + count):
        epoch, pos = divmod(slot, n)
        order = np.random.default_rng([seed & 0xFFFFFFFF, epoch & 0xFFFFFFFF, 99]).permutation(n)
        r, c = dataset.sample(epoch, int(order[pos]))
        rainy.append(r)
        clean.append(c)
    return np.stack(rainy), np.stack(clean)


def steps_per_epoch(dataset: PairSource, batch_size: int) -> int:
    """Iterations in one pass over the dataset (the last partial batch rounds up)."""
    return max(1, -(-len(dataset) // batch_size))


__all__ = [
    "PairSource",
    "PairedDataset",
    "SyntheticRainDataset",
    "batch_for_slots",
    "batch_for_step",
    "list_backgrounds",
    "load_background",
    "random_crop",
    "sample_rng",
    "split_holdout",
    "steps_per_epoch",
]
