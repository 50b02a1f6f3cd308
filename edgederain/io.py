"""Image files <-> uint8 RGB arrays, with explicit handling of every odd file (Pillow).

:func:`read_image` returns an H x W x 3 ``uint8`` RGB array plus human-readable notes on any
conversion it made. What it does with each kind of file:

- 8-bit RGB: as is.
- Grayscale (L, 1-bit, I;16 / I grayscale): replicated to three channels, noted.
- RGBA / LA / palette with transparency: alpha discarded (composited on nothing), noted;
  ``alpha="refuse"`` raises instead.
- 16-bit per channel (PNG/TIFF): scaled to 8 bits with rounding, noted; ``high_bit_depth="refuse"``
  raises instead.
- CMYK / YCbCr / palette: converted to RGB, noted.
- Corrupt, truncated, empty or zero-size files, and anything else: :class:`ImageReadError` naming
  the file and the reason.

:func:`write_image` writes atomically (temporary file in the same folder, then rename), refuses to
overwrite any path in ``protect`` (the inputs of a batch job), and raises
:class:`ImageWriteError` with the reason when the folder is missing or not writable.
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Literal

import numpy as np

from edgederain.errors import ImageReadError, ImageWriteError

IMAGE_SUFFIXES: tuple[str, ...] = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff")
Policy = Literal["convert", "refuse"]


@dataclass(frozen=True)
class LoadedImage:
    """A decoded image: ``rgb`` is H x W x 3 uint8; ``notes`` lists conversions applied."""

    rgb: np.ndarray
    notes: tuple[str, ...]
    source_mode: str
    format: str | None


def _open(path: Path):
    from PIL import Image, UnidentifiedImageError

    if not path.exists():
        raise ImageReadError(f"{path}: no such file")
    if path.is_dir():
        raise ImageReadError(f"{path}: is a folder, not an image")
    if path.stat().st_size == 0:
        raise ImageReadError(f"{path}: file is empty (0 bytes)")
    try:
        img = Image.open(path)
        img.edgederain_16bit = _is_16bit_colour(img)  # must be read before load()
        img.load()
    except UnidentifiedImageError:
        raise ImageReadError(f"{path}: not a readable image (unknown or corrupt format)") from None
    except (OSError, SyntaxError, ValueError) as exc:
        raise ImageReadError(f"{path}: corrupt or truncated image ({exc})") from None
    return img


def _to_rgb8(img, path: Path, alpha: Policy, high_bit_depth: Policy) -> tuple[np.ndarray, list[str]]:
    notes: list[str] = []
    mode = img.mode
    if mode in ("I;16", "I;16B", "I;16L", "I", "F"):
        if high_bit_depth == "refuse":
            raise ImageReadError(f"{path}: {mode} high-bit-depth grayscale refused")
        arr = np.asarray(img, dtype=np.float64)
        top = arr.max(initial=0)
        if mode.startswith("I;16"):
            peak = 65535.0
        elif mode == "I":
            peak = 65535.0 if top > 255 else 255.0
        else:  # "F": float grayscale, either [0, 1] or [0, 255]
            peak = 1.0 if top <= 1.0 else 255.0
        gray = np.clip(np.rint(arr / peak * 255.0), 0, 255).astype(np.uint8)
        notes.append(f"{mode} grayscale scaled to 8 bits and replicated to RGB")
        return np.repeat(gray[..., None], 3, axis=2), notes
    if mode in ("RGBA", "LA", "PA") or (mode == "P" and "transparency" in img.info):
        if alpha == "refuse":
            raise ImageReadError(f"{path}: has an alpha channel ({mode}); alpha refused")
        notes.append(f"{mode}: alpha channel discarded")
    elif mode in ("L", "1"):
        notes.append(f"{mode} grayscale replicated to RGB")
    elif mode not in ("RGB",):
        notes.append(f"{mode} converted to RGB")
    return np.asarray(img.convert("RGB"), dtype=np.uint8), notes


def _is_16bit_colour(img) -> bool:
    """Pillow decodes 16-bit-per-channel colour PNG/TIFF as 8-bit RGB(A) (high byte); detect it."""
    for tile in getattr(img, "tile", None) or []:
        args = tile.args if hasattr(tile, "args") else tile[3]
        rawmode = args[0] if isinstance(args, tuple) and args else args
        if isinstance(rawmode, str) and rawmode.startswith(("RGB;16", "RGBA;16")):
            return True
    return False


def read_image(
    path: str | os.PathLike, *, alpha: Policy = "convert", high_bit_depth: Policy = "convert"
) -> LoadedImage:
    """Read an image file as H x W x 3 uint8 RGB; see the module docstring for the rules."""
    p = Path(path)
    img = _open(p)
    mode, fmt = img.mode, img.format
    deep = getattr(img, "edgederain_16bit", False)
    if deep and high_bit_depth == "refuse":
        raise ImageReadError(f"{p}: 16-bit-per-channel image refused")
    rgb, notes = _to_rgb8(img, p, alpha, high_bit_depth)
    if deep:
        notes.insert(0, "16-bit per channel reduced to 8 bits")
    if rgb.shape[0] == 0 or rgb.shape[1] == 0:
        raise ImageReadError(f"{p}: image has zero size {rgb.shape[:2]}")
    return LoadedImage(np.ascontiguousarray(rgb), tuple(notes), mode, fmt)


def read_rgb(path: str | os.PathLike) -> np.ndarray:
    """Shorthand: :func:`read_image` with default conversions, returning only the array."""
    return read_image(path).rgb


def _same_file(a: Path, b: Path) -> bool:
    try:
        return a.resolve() == b.resolve() or (b.exists() and os.path.samefile(a, b))
    except OSError:
        return False


def write_image(
    path: str | os.PathLike,
    rgb: np.ndarray,
    *,
    protect: Iterable[str | os.PathLike] = (),
    overwrite: bool = True,
    jpeg_quality: int = 95,
) -> Path:
    """Write an H x W x 3 uint8 RGB array atomically; the format follows the file suffix."""
    from PIL import Image

    p = Path(path)
    arr = np.asarray(rgb)
    if arr.dtype != np.uint8 or arr.ndim != 3 or arr.shape[2] != 3:
        raise ImageWriteError(f"{p}: expected H x W x 3 uint8, got {arr.dtype} {arr.shape}")
    if p.suffix.lower() not in IMAGE_SUFFIXES:
        raise ImageWriteError(f"{p}: unsupported output type; use one of {IMAGE_SUFFIXES}")
    for src in protect:
        if _same_file(Path(src), p):
            raise ImageWriteError(f"{p}: refusing to overwrite an input file; choose another output")
    if p.exists() and not overwrite:
        raise ImageWriteError(f"{p}: exists; pass overwrite=True or choose another output")
    folder = p.parent if str(p.parent) else Path(".")
    if not folder.is_dir():
        raise ImageWriteError(f"{p}: output folder {folder} does not exist")
    if not os.access(folder, os.W_OK):
        raise ImageWriteError(f"{p}: output folder {folder} is not writable")
    try:
        fd, tmp = tempfile.mkstemp(prefix=".edgederain-", suffix=p.suffix, dir=folder)
    except OSError as exc:
        raise ImageWriteError(f"{p}: output folder {folder} is not writable ({exc.strerror})") from None
    os.close(fd)
    try:
        fmt = Image.registered_extensions()[p.suffix.lower()]
        kwargs = {"quality": jpeg_quality} if fmt == "JPEG" else {}
        Image.fromarray(arr, "RGB").save(tmp, format=fmt, **kwargs)
        os.replace(tmp, p)
    except OSError as exc:
        raise ImageWriteError(f"{p}: could not write ({exc})") from None
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return p


def list_images(folder: str | os.PathLike) -> list[Path]:
    """Image files directly in ``folder`` (by suffix), sorted naturally (2.png before 10.png)."""
    import re

    def natural(p: Path):
        return [int(t) if t.isdigit() else t.lower() for t in re.split(r"(\d+)", p.name)]

    f = Path(folder)
    if not f.is_dir():
        raise ImageReadError(f"{f}: not a folder")
    return sorted((p for p in f.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES), key=natural)
