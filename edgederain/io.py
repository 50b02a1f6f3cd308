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
- EXIF orientation (JPEG, TIFF, PNG, WebP): applied, so the array is upright as a viewer shows it
  (``PIL.ImageOps.exif_transpose``), noted; the written outputs carry no orientation tag.
- More pixels than ``max_pixels`` (width x height read from the header, before anything is
  decoded): :class:`ImageReadError` naming the limit and how to raise it. The default,
  :data:`DEFAULT_MAX_PIXELS` (100 MP, 10000 x 10000), is for whole-frame inference;
  :data:`TILED_MAX_PIXELS` (500 MP) is what ``edgederain derain --tile`` allows, since tiling
  keeps the model's memory bounded and only the frame itself (about 10 bytes per pixel at peak:
  decode, input, output, encode) grows with its size. ``max_pixels=None`` lifts the limit.
- Corrupt, truncated, empty or zero-size files, and anything else: :class:`ImageReadError` naming
  the file and the reason.

:func:`write_image` writes atomically (temporary file in the same folder, then rename), refuses to
overwrite any path in ``protect`` (the inputs of a batch job), and raises
:class:`ImageWriteError` with the reason when the folder is missing or not writable. New files get
the usual mode for the process's umask (0644 under umask 022), like any file the user creates.

Note:
    Pillow enforces its own pixel limit (``PIL.Image.MAX_IMAGE_PIXELS``, about 89 MP, a warning
    above it and an error above twice that), a process-wide setting. While :func:`read_image`
    opens a file it lifts that limit (opening parses only the header, whose size we check), and
    while it decodes it sets the limit to ``max_pixels``; both under a lock, restored after, so
    Pillow's check agrees with ours instead of warning or refusing on its own.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

import numpy as np

from edgederain.choices import Policy
from edgederain.errors import ImageReadError, ImageWriteError

IMAGE_SUFFIXES: tuple[str, ...] = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff")
DEFAULT_MAX_PIXELS = 100_000_000
TILED_MAX_PIXELS = 500_000_000
_PILLOW_LIMIT_LOCK = threading.Lock()
_ORIENTATIONS = {
    2: "mirrored left-right", 3: "turned 180 degrees", 4: "mirrored top-bottom",
    5: "transposed", 6: "turned 90 degrees clockwise", 7: "transversed",
    8: "turned 90 degrees counter-clockwise",
}


@dataclass(frozen=True)
class LoadedImage:
    """A decoded image: ``rgb`` is H x W x 3 uint8; ``notes`` lists conversions applied."""

    rgb: np.ndarray
    notes: tuple[str, ...]
    source_mode: str
    format: str | None


@contextlib.contextmanager
def _pillow_limit():
    """Hold the lock on Pillow's process-wide pixel limit; restore it afterwards (module note)."""
    from PIL import Image

    with _PILLOW_LIMIT_LOCK:
        saved = Image.MAX_IMAGE_PIXELS
        try:
            yield Image
        finally:
            Image.MAX_IMAGE_PIXELS = saved


def _too_large(path: Path, size: tuple[int, int], max_pixels: int) -> ImageReadError:
    w, h = size
    return ImageReadError(
        f"{path}: {w}x{h} is {w * h:,} pixels, more than the limit of {max_pixels:,}; if the file "
        f"is trusted, raise the limit with --max-pixels {w * h} (max_pixels= in Python), and use "
        "--tile for frames this large"
    )


def _open(path: Path, max_pixels: int | None):
    """Open and decode ``path``; returns the Pillow image and whether it was 16-bit colour."""
    from PIL import Image, UnidentifiedImageError

    if not path.exists():
        raise ImageReadError(f"{path}: no such file")
    if path.is_dir():
        raise ImageReadError(f"{path}: is a folder, not an image")
    if path.stat().st_size == 0:
        raise ImageReadError(f"{path}: file is empty (0 bytes)")
    try:
        with _pillow_limit():
            Image.MAX_IMAGE_PIXELS = None  # opening parses the header only; we check its size
            img = Image.open(path)
            if max_pixels is not None and img.size[0] * img.size[1] > max_pixels:
                raise _too_large(path, img.size, max_pixels)
            deep = _is_16bit_colour(img)  # must be read before load()
            Image.MAX_IMAGE_PIXELS = max_pixels  # frames or tiles larger than the header
            img.load()
    except ImageReadError:
        raise
    except UnidentifiedImageError:
        raise ImageReadError(f"{path}: not a readable image (unknown or corrupt format)") from None
    except Image.DecompressionBombError as exc:  # a later frame or tile larger than the header
        raise ImageReadError(f"{path}: refused as too large ({exc}); see --max-pixels") from None
    except (OSError, SyntaxError, ValueError) as exc:
        raise ImageReadError(f"{path}: corrupt or truncated image ({exc})") from None
    return img, deep


def _upright(img):
    """Apply the EXIF orientation tag; returns the image and a note (or None if upright)."""
    from PIL import ImageOps

    try:
        orientation = img.getexif().get(0x0112)
    except Exception:  # noqa: BLE001 - a broken EXIF block is not worth refusing the pixels
        return img, None
    if orientation not in _ORIENTATIONS:
        return img, None
    turned = ImageOps.exif_transpose(img)
    return turned, f"EXIF orientation {orientation} applied ({_ORIENTATIONS[orientation]} to display upright)"


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
    return np.asarray(img if mode == "RGB" else img.convert("RGB"), dtype=np.uint8), notes


def _is_16bit_colour(img) -> bool:
    """Pillow decodes 16-bit-per-channel colour PNG/TIFF as 8-bit RGB(A) (high byte); detect it."""
    for tile in getattr(img, "tile", None) or []:
        args = tile.args if hasattr(tile, "args") else tile[3]
        rawmode = args[0] if isinstance(args, tuple) and args else args
        if isinstance(rawmode, str) and rawmode.startswith(("RGB;16", "RGBA;16")):
            return True
    return False


def read_image(
    path: str | os.PathLike,
    *,
    alpha: Policy = "convert",
    high_bit_depth: Policy = "convert",
    max_pixels: int | None = DEFAULT_MAX_PIXELS,
) -> LoadedImage:
    """Read an image file as H x W x 3 uint8 RGB, upright per its EXIF orientation.

    See the module docstring for the rules; ``max_pixels`` (None: no limit) refuses larger
    images before they are decoded.
    """
    if max_pixels is not None and (isinstance(max_pixels, bool) or max_pixels < 1):
        raise ImageReadError(f"max_pixels must be a positive int or None, got {max_pixels!r}")
    p = Path(path)
    img, deep = _open(p, max_pixels)
    mode, fmt = img.mode, img.format
    if deep and high_bit_depth == "refuse":
        raise ImageReadError(f"{p}: 16-bit-per-channel image refused")
    img, turned = _upright(img)
    rgb, notes = _to_rgb8(img, p, alpha, high_bit_depth)
    if deep:
        notes.insert(0, "16-bit per channel reduced to 8 bits")
    if turned:
        notes.append(turned)
    if rgb.shape[0] == 0 or rgb.shape[1] == 0:
        raise ImageReadError(f"{p}: image has zero size {rgb.shape[:2]}")
    return LoadedImage(np.ascontiguousarray(rgb), tuple(notes), mode, fmt)


def read_rgb(path: str | os.PathLike) -> np.ndarray:
    """Shorthand: :func:`read_image` with default conversions, returning only the array."""
    return read_image(path).rgb


class ProtectedPaths:
    """Files that must never be overwritten (a batch job's inputs), checked in O(1) per output:
    by resolved path and by device and inode (hard links, other spellings of the same file)."""

    def __init__(self, paths: Iterable[str | os.PathLike] = ()) -> None:
        self._paths: set[Path] = set()
        self._inodes: set[tuple[int, int]] = set()
        for p in paths:
            q = Path(p)
            try:
                self._paths.add(q.resolve())
                st = q.stat()
                self._inodes.add((st.st_dev, st.st_ino))
            except OSError:
                continue

    def __contains__(self, path: str | os.PathLike) -> bool:
        q = Path(path)
        try:
            if q.resolve() in self._paths:
                return True
            st = q.stat()
        except OSError:
            return False
        return (st.st_dev, st.st_ino) in self._inodes


def write_image(
    path: str | os.PathLike,
    rgb: np.ndarray,
    *,
    protect: Iterable[str | os.PathLike] | ProtectedPaths = (),
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
    guard = protect if isinstance(protect, ProtectedPaths) else ProtectedPaths(protect)
    if p in guard:
        raise ImageWriteError(f"{p}: refusing to overwrite an input file; choose another output")
    if p.exists() and not overwrite:
        raise ImageWriteError(f"{p}: exists; pass overwrite=True or choose another output")
    folder = p.parent if str(p.parent) else Path(".")
    if not folder.is_dir():
        raise ImageWriteError(f"{p}: output folder {folder} does not exist")
    if not os.access(folder, os.W_OK):
        raise ImageWriteError(f"{p}: output folder {folder} is not writable")
    tmp = ""  # named before it is created, so an interrupt at any point leaves no temporary behind
    try:
        for _ in range(100):
            tmp = str(_temporary_name(folder, p.suffix))
            try:
                os.close(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))
                break
            except FileExistsError:
                tmp = ""
        else:
            raise FileExistsError(f"{folder}: could not create a temporary file")
    except OSError as exc:
        if tmp and os.path.exists(tmp):
            os.unlink(tmp)
        raise ImageWriteError(f"{p}: output folder {folder} is not writable ({exc.strerror or exc})") from None
    except BaseException:
        if tmp and os.path.exists(tmp):
            os.unlink(tmp)
        raise
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


_TEMP_PREFIX = ".edgederain-"


def _host_tag() -> str:
    import hashlib
    import socket

    return hashlib.sha1(socket.gethostname().encode()).hexdigest()[:8]


def _temporary_name(folder: Path, suffix: str) -> Path:
    return folder / f"{_TEMP_PREFIX}{_host_tag()}-{os.getpid()}-{secrets.token_hex(6)}{suffix}"


def temporary_file(folder: Path, suffix: str) -> Path:
    """Create an empty, uniquely named hidden file in ``folder`` for an atomic write.

    Unlike :func:`tempfile.mkstemp` (always mode 0600) the file is created with mode 0666 less the
    process's umask, so the renamed output has the permissions of any file the user creates. The
    name carries this host and process (``.edgederain-HOST-PID-RANDOM.png``) so that
    :func:`remove_stale_temporaries` can tell a killed writer's leftovers from live ones.
    """
    for _ in range(100):
        path = _temporary_name(folder, suffix)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        except FileExistsError:
            continue
        os.close(fd)
        return path
    raise FileExistsError(f"{folder}: could not create a temporary file")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's live process
        return True
    return True


def remove_stale_temporaries(folder: str | os.PathLike) -> list[Path]:
    """Delete the temporary files in ``folder`` left by writers on this host that no longer run
    (a process killed with SIGKILL cannot clean up); returns what was removed. Files of live
    processes, of other hosts and anything not named by :func:`temporary_file` are kept."""
    f = Path(folder)
    removed: list[Path] = []
    if not f.is_dir():
        return removed
    host = _host_tag()
    for p in f.iterdir():
        parts = p.name[len(_TEMP_PREFIX):].split("-") if p.name.startswith(_TEMP_PREFIX) else []
        if len(parts) != 3 or parts[0] != host or not parts[1].isdigit():
            continue
        if int(parts[1]) != os.getpid() and not _alive(int(parts[1])):
            try:
                p.unlink()
                removed.append(p)
            except OSError:
                pass
    return removed


def list_images(folder: str | os.PathLike) -> list[Path]:
    """Image files directly in ``folder`` (by suffix), sorted naturally (2.png before 10.png)."""
    import re

    def natural(p: Path):
        return [int(t) if t.isdigit() else t.lower() for t in re.split(r"(\d+)", p.name)]

    f = Path(folder)
    if not f.is_dir():
        raise ImageReadError(f"{f}: not a folder")
    return sorted((p for p in f.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES), key=natural)
