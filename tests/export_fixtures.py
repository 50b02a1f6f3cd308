"""Exported models shared by the export, calibration, verify and inspect tests.

Tracing with the dynamo exporter takes ~10 s per model on a 2-core machine, so each model is
built once per test session (cached here, in one temporary folder) and shared across modules.
Import the helpers into a test module: ``from export_fixtures import tiny_fp32``.
"""

from __future__ import annotations

import atexit
import functools
import shutil
import tempfile
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
RAIN100L = REPO.parent / "shared" / "data" / "rain100l"
_WORK = Path(tempfile.mkdtemp(prefix="edgederain-export-tests-"))
atexit.register(shutil.rmtree, _WORK, ignore_errors=True)


def workdir() -> Path:
    return _WORK


@functools.cache
def checkpoint(preset: str) -> Path:
    """A seeded random-weight checkpoint of ``preset``."""
    import torch

    from edgederain.model import build_model
    from edgederain.train.checkpoint import save_checkpoint

    torch.manual_seed(0)
    return save_checkpoint(_WORK / f"{preset}.pt", build_model(preset))


@functools.cache
def tiny_fp32():
    """(path, ExportResult) of the tiny preset, FP32, dynamic N/H/W, default settings."""
    from edgederain.export import ExportConfig, export_onnx

    result = export_onnx(checkpoint("tiny"), _WORK / "tiny_fp32.onnx", config=ExportConfig())
    return result.path, result


@functools.cache
def thesis_fp16():
    """(path, ExportResult) of the thesis preset in FP16; Rain100L frames in the gates if present."""
    from edgederain.export import ExportConfig, export_onnx

    data = RAIN100L if (RAIN100L / "rainy").is_dir() else None
    config = ExportConfig(precision="fp16", verify_data=data, verify_frames=1)
    result = export_onnx(checkpoint("thesis"), _WORK / "thesis_fp16.onnx", config=config)
    return result.path, result


def write_images(folder: Path, count: int, *, size=(40, 48), seed: int = 0) -> list[Path]:
    """Write ``count`` small rainy-looking PNGs into ``folder``."""
    from edgederain.io import write_image
    from edgederain.export.parity import synthetic_frames

    folder.mkdir(parents=True, exist_ok=True)
    frames = synthetic_frames(count, *size, seed=seed)
    return [
        write_image(folder / f"{i}.png", np.rint(f.transpose(1, 2, 0) * 255).astype(np.uint8))
        for i, f in enumerate(frames)
    ]


def write_pairs(root: Path, count: int, *, size=(40, 48)) -> Path:
    """A paired folder root/rainy + root/clean (clean = rainy smoothed) for ground-truth checks."""
    from edgederain.io import read_rgb, write_image

    rainy = write_images(root / "rainy", count, size=size)
    (root / "clean").mkdir(parents=True, exist_ok=True)
    for p in rainy:
        rgb = read_rgb(p).astype(np.float32)
        clean = (rgb + np.roll(rgb, 1, axis=0) + np.roll(rgb, 1, axis=1)) / 3.0
        write_image(root / "clean" / p.name, np.rint(clean).astype(np.uint8))
    return root
