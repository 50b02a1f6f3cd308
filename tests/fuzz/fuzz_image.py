"""Fuzz target: ``edgederain.io.read_image`` on arbitrary file contents (atheris / libFuzzer).

Every input is written to one temporary file and read back. Correct outcomes: an H x W x 3 uint8
array, or :class:`edgederain.errors.ImageReadError`. Anything else is a finding (see harness.py).

    .venv/bin/python tests/fuzz/fuzz_image.py CORPUS_DIR -max_total_time=600 -rss_limit_mb=2048

``CORPUS_DIR`` is filled with small valid PNG/JPEG/GIF/TIFF/BMP/WebP files when empty.
``EDGEDERAIN_FUZZ_MAX_PIXELS`` (default 4,000,000) is passed as ``read_image(max_pixels=...)``
so that damaged headers claiming huge sizes are refused quickly instead of decoding hundreds of
megabytes per input; the code paths are the same as at the default limit.
"""

from __future__ import annotations

import inspect
import os
import sys
import tempfile
from pathlib import Path

import atheris

sys.path.insert(0, str(Path(__file__).resolve().parent))
from harness import run  # noqa: E402
from seeds import image_seeds, write_seeds  # noqa: E402

with atheris.instrument_imports():
    from PIL import Image

    Image.init()  # import every format plugin now, so that they are instrumented too
    import edgederain.io as eio
    from edgederain.errors import ImageReadError

_MAX_PIXELS = int(os.environ.get("EDGEDERAIN_FUZZ_MAX_PIXELS", 4_000_000))
_LIMIT = {"max_pixels": _MAX_PIXELS} if "max_pixels" in inspect.signature(eio.read_image).parameters else {}


def _scratch() -> tuple[int, Path]:
    """A file for the inputs that leaves nothing behind: libFuzzer exits without running atexit,
    so the file is unlinked at once and read through /proc/self/fd where that exists."""
    fd, name = tempfile.mkstemp(prefix="edgederain-fuzz-image-", dir="/dev/shm" if os.path.isdir("/dev/shm") else None)
    if os.path.isdir(f"/proc/{os.getpid()}/fd"):
        os.unlink(name)
        return fd, Path(f"/proc/self/fd/{fd}")
    return fd, Path(name)


_FD, _FILE = _scratch()


def one_image(data: bytes) -> None:
    os.ftruncate(_FD, 0)
    os.pwrite(_FD, data, 0)
    loaded = eio.read_image(_FILE, **_LIMIT)
    rgb = loaded.rgb
    if rgb.dtype.name != "uint8" or rgb.ndim != 3 or rgb.shape[2] != 3 or 0 in rgb.shape:
        raise AssertionError(f"read_image returned {rgb.dtype} {rgb.shape}")


def main() -> None:
    corpus = [a for a in sys.argv[1:] if not a.startswith("-")]
    if corpus:
        write_seeds(Path(corpus[0]), image_seeds())
    run(one_image, (ImageReadError,))


if __name__ == "__main__":
    main()
