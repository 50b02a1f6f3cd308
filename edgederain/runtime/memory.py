"""How much memory a frame needs, checked before ONNX Runtime tries (stdlib only).

Without this, a 10000 x 10000 frame run whole dies inside ONNX Runtime with "Failed to allocate
memory for requested buffer of size 6400000000" (one of its activations alone) after a long
wait, or the machine starts swapping. The session estimates a run's memory before it starts and
compares it with :attr:`SessionConfig.memory_budget <edgederain.runtime.SessionConfig>`.

The estimate is linear in the (padded) pixels a run feeds the model: ``FIXED_BYTES +
BYTES_PER_PIXEL[precision] * N * H * W``. The figures were measured on the packaged network
(``single`` variant) on the CPU provider, 2 threads, with ``benchmarks/runtime_memory.py``:
peak resident memory of one untiled run minus the memory just before the frame was made, at
256x256, 512x512, 720x1280 and 1024x1024. FP32: 1353-1389 bytes per pixel (least-squares fit
0.4 MiB + 1377 B/pixel, ``benchmarks/results/runtime_memory.json``; an earlier run 1366, and 1389
with 1 thread); the FP16 file on CPU (computed in FP32 there): 1224 B/pixel; INT8: 439 B/pixel. The figures below round those up. They count ONNX Runtime's
activations and arena, the float32 input tensor and the output; on GPU providers the
activations live in GPU memory, where FP16 needs less, so the FP32 figure is a safe bound.

Default budget (``"auto"``): half of the machine's physical memory (4 GiB where it cannot be
read), so a frame that fits runs whole and one that does not is tiled (or refused) up front.
"""

from __future__ import annotations

import os
import re
from typing import Any

from edgederain.runtime.tiling import TileConfig

MiB = 1 << 20
GiB = 1 << 30
BYTES_PER_PIXEL: dict[str, int] = {"fp32": 1400, "fp16": 1400, "int8": 450}
FIXED_BYTES = 32 * MiB
FALLBACK_BUDGET = 4 * GiB
MIN_AUTO_TILE = 64  # below this a tile has too little context to be worth running
_ALLOCATION_MARKERS = ("failed to allocate memory", "bad_alloc", "out of memory")


def physical_memory() -> int | None:
    """Total physical memory in bytes, or None where the OS does not say (POSIX sysconf)."""
    try:
        return int(os.sysconf("SC_PAGE_SIZE")) * int(os.sysconf("SC_PHYS_PAGES"))
    except (AttributeError, ValueError, OSError):
        return None


def resolve_budget(budget: int | str | None) -> int | None:
    """``"auto"`` -> half of physical memory (4 GiB if unknown); an int stays; None: no check."""
    if budget != "auto":
        return budget  # type: ignore[return-value]
    total = physical_memory()
    return total // 2 if total else FALLBACK_BUDGET


def _padded(side: int, multiple: int) -> int:
    return -(-side // multiple) * multiple


def estimate_bytes(height: int, width: int, *, batch: int = 1, precision: str = "fp32",
                   multiple: int = 8) -> int:
    """Estimated memory of one run of ``batch`` frames of ``height`` x ``width``."""
    per_pixel = BYTES_PER_PIXEL.get(precision, BYTES_PER_PIXEL["fp32"])
    pixels = _padded(height, multiple) * _padded(width, multiple)
    return FIXED_BYTES + per_pixel * pixels * batch


def fitting_tile(
    budget: int, *, precision: str, multiple: int, pad: int = TileConfig.pad
) -> TileConfig | None:
    """The default tiling, or a smaller tile whose window fits ``budget``; None if none does."""
    tile = TileConfig.tile
    while tile >= MIN_AUTO_TILE:
        cfg = TileConfig(tile=tile, pad=pad)
        side = cfg.window(multiple)
        if estimate_bytes(side, side, precision=precision, multiple=multiple) <= budget:
            return cfg
        tile //= 2
    return None


def is_allocation_failure(exc: BaseException) -> bool:
    """True for ONNX Runtime's out-of-memory errors (RuntimeException / Fail, or MemoryError)."""
    if isinstance(exc, MemoryError):
        return True
    text = str(exc).lower()
    return any(marker in text for marker in _ALLOCATION_MARKERS)


def allocation_detail(exc: BaseException) -> str:
    """The useful part of an allocation failure: ORT's "Failed to allocate ... size N" line."""
    text = str(exc)
    found = re.search(r"Failed to allocate memory for requested buffer of size \d+", text)
    if found:
        return found.group(0)
    lines = text.strip().splitlines()
    return lines[0][:200] if lines else type(exc).__name__


def human(nbytes: Any) -> str:
    """``1.5 GiB`` / ``300 MiB``."""
    return f"{nbytes / GiB:.1f} GiB" if nbytes >= GiB else f"{nbytes / MiB:.0f} MiB"
