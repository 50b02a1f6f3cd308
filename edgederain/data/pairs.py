"""Finding rainy/clean pairs on disk, in the layouts the public deraining sets use (no torch).

Supported layouts (``Layout``):

- ``"folders"``: two sibling sub-folders, one of ``rain/ + norain/``, ``rainy/ + clean/``,
  ``input/ + target/``, ``inputcrop/ + cleancrop/``. Files are matched by name: the stem with a
  leading ``rain-``, ``norain-``, ``rainy-``, ``clean-`` or ``gt-`` removed (so ``rain/rain-12.png``
  pairs with ``norain/norain-12.png``); a rainy stem ``901_3`` with no exact partner pairs with
  clean ``901`` (Rain1400's 14 renderings per background).
- ``"prenet"``: PReNet style, ``rain-N.png`` and ``norain-N.png`` in one folder.
- ``"side-by-side"``: Rain800 style, each file holds both images as left and right halves;
  ``clean_side`` says which half is clean.
- ``"auto"``: the first of ``folders`` / ``prenet`` that matches (never side-by-side, which cannot
  be told apart from ordinary photos).

A rainy file without a partner, or a pair whose sizes differ, is a :class:`DatasetError` naming
both files.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
import numpy as np

from edgederain.choices import LAYOUTS, SIDES, Layout, Side
from edgederain.errors import DatasetError, ImageReadError
from edgederain.io import list_images, read_rgb

FOLDER_PAIRS: tuple[tuple[str, str], ...] = (
    ("rain", "norain"),
    ("rainy", "clean"),
    ("input", "target"),
    ("inputcrop", "cleancrop"),
)
_PREFIX = re.compile(r"^(norain|rainy|rain|clean|gt)[-_]", re.IGNORECASE)


@dataclass(frozen=True)
class Pair:
    """One training/evaluation pair. For side-by-side files ``rainy == clean`` and ``split`` is set."""

    rainy: Path
    clean: Path
    split: Side | None = None  # side-by-side: which half is clean

    @property
    def name(self) -> str:
        return self.rainy.name


def _key(stem: str) -> str:
    return _PREFIX.sub("", stem).lower()


def _match_folders(rainy_dir: Path, clean_dir: Path) -> list[Pair]:
    clean_by_key = {_key(p.stem): p for p in list_images(clean_dir)}
    rainy_files = list_images(rainy_dir)
    if not rainy_files:
        raise DatasetError(f"{rainy_dir}: no images ({', '.join(s for s in ('.png', '.jpg'))}...)")
    pairs = []
    for r in rainy_files:
        key = _key(r.stem)
        partner = clean_by_key.get(key) or clean_by_key.get(key.rsplit("_", 1)[0])
        if partner is None:
            raise DatasetError(
                f"{r}: no clean partner in {clean_dir} (expected {clean_dir / r.name} "
                "or the same number with a norain-/clean- prefix); add it or remove the rainy file"
            )
        pairs.append(Pair(r, partner))
    return pairs


def _prenet_pairs(folder: Path) -> list[Pair]:
    files = list_images(folder)
    clean = {p.stem[len("norain-"):].lower(): p for p in files if p.stem.lower().startswith("norain-")}
    pairs = []
    for r in files:
        if not r.stem.lower().startswith("rain-"):
            continue
        partner = clean.get(r.stem[len("rain-"):].lower())
        if partner is None:
            expected = folder / f"norain-{r.stem[len('rain-'):]}{r.suffix}"
            raise DatasetError(f"{r}: no clean partner {expected}; add it or remove the rainy file")
        pairs.append(Pair(r, partner))
    return pairs


def _paired_dirs(root: Path) -> tuple[Path, Path] | None:
    for rainy, clean in FOLDER_PAIRS:
        if (root / rainy).is_dir() and (root / clean).is_dir():
            return root / rainy, root / clean
    return None


def detect_layout(root: str | os.PathLike) -> str | None:
    """The layout ``"auto"`` picks for ``root`` (``"folders"`` or ``"prenet"``), or None when
    ``root`` holds neither (a plain folder of images, or no folder at all)."""
    base = Path(root)
    if _paired_dirs(base) is not None:
        return "folders"
    if base.is_dir() and any(p.stem.lower().startswith("rain-") for p in list_images(base)):
        return "prenet"
    return None


def find_pairs(root: str | os.PathLike, *, layout: Layout = "auto", clean_side: Side = "left") -> list[Pair]:
    """List the pairs under ``root`` (sorted naturally by rainy file name)."""
    base = Path(root)
    if layout not in LAYOUTS:
        raise DatasetError(f"unknown layout {layout!r}; choose one of {LAYOUTS}")
    if not base.is_dir():
        raise DatasetError(f"{base}: dataset folder not found")
    if layout == "side-by-side":
        if clean_side not in SIDES:
            raise DatasetError(f"clean_side must be 'left' or 'right', got {clean_side!r}")
        pairs = [Pair(p, p, clean_side) for p in list_images(base)]
    else:
        found = detect_layout(base) if layout == "auto" else layout
        if found is None:
            names = ", ".join(f"{a}/+{b}/" for a, b in FOLDER_PAIRS)
            raise DatasetError(
                f"{base}: no paired layout found; expected sub-folders {names}, or rain-N/norain-N "
                "files in one folder, or pass layout='side-by-side' for clean|rainy halves in one image"
            )
        if found == "folders":
            dirs = _paired_dirs(base)
            if dirs is None:
                raise DatasetError(f"{base}: no rainy/clean sub-folders found")
            pairs = _match_folders(*dirs)
        else:
            pairs = _prenet_pairs(base)
    if not pairs:
        raise DatasetError(f"{base}: no image pairs found (layout {layout!r})")
    return pairs


def _split(img: np.ndarray, path: Path, clean_side: Side) -> tuple[np.ndarray, np.ndarray]:
    w = img.shape[1]
    if w % 2:
        raise DatasetError(
            f"{path}: side-by-side image has odd width {w}; both halves must be the same size"
        )
    left, right = img[:, : w // 2], img[:, w // 2 :]
    return (right, left) if clean_side == "left" else (left, right)


def load_pair(pair: Pair) -> tuple[np.ndarray, np.ndarray]:
    """Read a pair as (rainy, clean) H x W x 3 uint8 arrays; sizes must match."""
    try:
        if pair.split is not None:
            return _split(read_rgb(pair.rainy), pair.rainy, pair.split)
        rainy, clean = read_rgb(pair.rainy), read_rgb(pair.clean)
    except ImageReadError as exc:
        raise DatasetError(f"cannot read pair {pair.rainy} / {pair.clean}: {exc}") from None
    if rainy.shape != clean.shape:
        raise DatasetError(
            f"size mismatch: {pair.rainy} is {rainy.shape[1]}x{rainy.shape[0]} but "
            f"{pair.clean} is {clean.shape[1]}x{clean.shape[0]}; pairs must be pixel-aligned"
        )
    return rainy, clean


__all__ = ["FOLDER_PAIRS", "LAYOUTS", "Layout", "Pair", "Side", "detect_layout", "find_pairs", "load_pair"]
