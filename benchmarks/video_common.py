"""What the video benchmarks share: the machine record, library versions, backgrounds."""

from __future__ import annotations

import os
import platform
import subprocess
import sys
from importlib import metadata
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
DATA = REPO.parent / "shared" / "data"
sys.path.insert(0, str(REPO))

ISA_FLAGS = ("avx2", "avx512f", "avx512_vnni", "avx_vnni", "avx512_bf16", "amx_tile", "amx_bf16", "amx_int8")
PACKAGES = ("edgederain", "numpy", "onnxruntime", "av", "opencv-python-headless", "pillow")


def machine() -> dict:
    """CPU model and ISA flags (lscpu), core count, load average, Python and library versions."""
    info: dict = {"cpu": None, "cpu_flags": [], "logical_cpus": os.cpu_count(),
                  "load_average_at_start": list(os.getloadavg()), "python": platform.python_version()}
    try:
        text = subprocess.run(["lscpu"], capture_output=True, text=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        text = ""
    for line in text.splitlines():
        key, _, value = line.partition(":")
        if key.strip() == "Model name":
            info["cpu"] = value.strip()
        if key.strip() == "Flags":
            info["cpu_flags"] = [f for f in ISA_FLAGS if f in value.split()]
    versions = {}
    for name in PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    info["versions"] = versions
    return info


def load_background(path: Path, *, width: int = 480) -> np.ndarray:
    """A background photo as uint8 RGB, scaled so its width is ``width`` (keeping the aspect)."""
    from PIL import Image

    img = Image.open(path).convert("RGB")
    if img.width != width:
        img = img.resize((width, round(img.height * width / img.width)), Image.Resampling.LANCZOS)
    return np.asarray(img, dtype=np.uint8).copy()
