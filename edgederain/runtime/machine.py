"""What the machine offers the runtime: CPU vendor, model and ISA features, and whether an NVIDIA
GPU is present (stdlib only).

The same model runs several times faster or slower depending on the CPU's matrix and vector
units, so benchmarks record them (:meth:`CPUFeatures.to_dict`) and ``--provider auto`` ranks
providers by them (:mod:`edgederain.runtime.auto`):

- ``amx``: Intel AMX tiles (``amx_tile`` with ``amx_bf16`` / ``amx_int8``), Sapphire Rapids and
  later Xeons; OpenVINO's bf16 and int8 kernels use them (bf16 84 ms vs ORT FP32 308 ms at
  480x320 on 2 cores, ``docs/speed.md``).
- ``avx512`` (``avx512f``), ``vnni`` (``avx512_vnni`` or ``avx_vnni``: int8 dot products, what
  ORT's U8S8 convs use), ``avx512_bf16`` (bf16 dot products without AMX, e.g. AMD Zen 4/5).

Features are read from ``/proc/cpuinfo`` (Linux); elsewhere the flags are empty and the vendor
comes from :func:`platform.processor`, so ranking falls back to what needs no special unit.
"""

from __future__ import annotations

import os
import platform
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

# Flags recorded by benchmarks, in the order they are listed.
ISA_FLAGS: tuple[str, ...] = (
    "avx2", "fma", "f16c", "avx512f", "avx512bw", "avx512vl", "avx512_vnni", "avx_vnni",
    "avx512_bf16", "avx512_fp16", "amx_tile", "amx_bf16", "amx_int8", "amx_fp16",
)
NVIDIA_GPU_PATHS: tuple[str, ...] = ("/proc/driver/nvidia/gpus", "/dev/nvidia0")


@dataclass(frozen=True)
class CPUFeatures:
    """A CPU as the runtime cares about it: vendor, model name, and its ISA flags."""

    vendor: str
    model: str
    flags: frozenset[str]

    @classmethod
    def from_cpuinfo(cls, text: str) -> "CPUFeatures":
        """Parse the first processor block of ``/proc/cpuinfo`` text (x86 or Arm field names)."""
        fields: dict[str, str] = {}
        for line in text.splitlines():
            if not line.strip():
                if fields:
                    break
                continue
            key, _, value = line.partition(":")
            fields.setdefault(key.strip().lower(), value.strip())
        flags = fields.get("flags") or fields.get("features") or ""
        return cls(
            vendor=fields.get("vendor_id") or fields.get("cpu implementer") or "unknown",
            model=fields.get("model name") or fields.get("processor") or "unknown",
            flags=frozenset(flags.split()),
        )

    @classmethod
    def detect(cls, cpuinfo: str | os.PathLike = "/proc/cpuinfo") -> "CPUFeatures":
        """This machine's CPU (empty flags where ``/proc/cpuinfo`` cannot be read)."""
        try:
            return cls.from_cpuinfo(Path(cpuinfo).read_text(encoding="utf-8", errors="replace"))
        except OSError:
            return cls(vendor="unknown", model=platform.processor() or "unknown", flags=frozenset())

    @property
    def intel(self) -> bool:
        return self.vendor == "GenuineIntel"

    @property
    def amx(self) -> bool:
        """AMX tiles with bf16 or int8 units."""
        return "amx_tile" in self.flags and bool({"amx_bf16", "amx_int8"} & self.flags)

    @property
    def avx512(self) -> bool:
        return "avx512f" in self.flags

    @property
    def vnni(self) -> bool:
        """int8 dot-product instructions (AVX-512 VNNI or AVX-VNNI)."""
        return bool({"avx512_vnni", "avx_vnni"} & self.flags)

    @property
    def bf16(self) -> bool:
        """bf16 arithmetic units (AVX-512 BF16 or AMX-BF16)."""
        return "avx512_bf16" in self.flags or "amx_bf16" in self.flags

    @property
    def summary(self) -> str:
        """One line that tells machines apart in benchmark records, e.g.
        ``"AMD EPYC (AuthenticAMD): avx512 vnni bf16, no amx"``."""
        have = [n for n in ("avx512", "vnni", "bf16", "amx") if getattr(self, n)]
        missing = "" if self.amx else ", no amx"
        return f"{self.model} ({self.vendor}): {' '.join(have) or 'no avx512/vnni/bf16'}{missing}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "vendor": self.vendor, "model": self.model,
            "flags": [f for f in ISA_FLAGS if f in self.flags],
            "avx512": self.avx512, "vnni": self.vnni, "bf16": self.bf16, "amx": self.amx,
            "summary": self.summary,
        }


def nvidia_gpu_present(paths: tuple[str, ...] = NVIDIA_GPU_PATHS) -> bool:
    """Whether the NVIDIA driver exposes a GPU (its /proc entries or device node).

    onnxruntime-gpu lists the CUDA provider as available on machines without a GPU; this is the
    cheap check made before trying it.
    """
    for p in paths:
        path = Path(p)
        try:
            if any(path.iterdir()) if path.is_dir() else path.exists():
                return True
        except OSError:
            continue
    return False


def warn_if_bf16_emulated(use: str, consequence: str) -> None:
    """A RuntimeWarning for the caller's caller when ``use`` asks for bf16 on a CPU without bf16
    units (``avx512_bf16`` / ``amx_bf16``): there bf16 is emulated, slower than FP32, not faster."""
    cpu = CPUFeatures.detect()
    if not cpu.bf16:
        warnings.warn(f"{use} on a CPU without bf16 units ({cpu.summary}; bf16 needs avx512_bf16 or "
                      f"amx_bf16): {consequence}", RuntimeWarning, stacklevel=3)


def warn_if_s8s8_without_amx(calibration: dict | None, device: str) -> None:
    """A RuntimeWarning when an S8S8 INT8 file (``calibration.scheme``) is compiled by OpenVINO for
    a CPU without AMX: measured on an Ice Lake Xeon (AVX-512 VNNI), OpenVINO 2026.4 ran it 3.8-4.4
    dB below FP32 on Rain100L, against 0.05 dB on an AMX Xeon (docs/speed.md)."""
    if not calibration or calibration.get("scheme") != "s8s8" or not device.upper().startswith("CPU"):
        return
    cpu = CPUFeatures.detect()
    if not cpu.amx:
        warnings.warn(f"an S8S8 INT8 file on OpenVINO's CPU plugin without AMX ({cpu.summary}): measured "
                      "3.8-4.4 dB below FP32 on Rain100L on an AVX-512 VNNI Xeon, against 0.05 dB with AMX; "
                      "use the U8S8 INT8 file (edgederain export --int8, the default scheme) on this CPU",
                      RuntimeWarning, stacklevel=3)
