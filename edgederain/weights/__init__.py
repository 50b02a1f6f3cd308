"""The packaged default model (stdlib only, so the torch-free runtime can use it).

The thesis network (preset ``thesis``) trained with ``edgederain train --config
configs/short-cpu.toml`` on synthetic light rain over the clean photos of
``../shared/data/backgrounds`` (never on Rain100L or BSD images), then exported with
``scripts/build_default_model.sh``. ``MODEL_CARD.md`` beside this file has the recipe and the
measured scores. Files:

- ``derain_fp32.onnx``: the default for CPU (and the reference for parity);
- ``derain_fp16.onnx``: FP16 weights/compute with FP32 I/O, for CUDA / TensorRT;
- ``derain_int8.onnx``: U8S8 QDQ, calibrated on CamVid frames with synthetic rain, for CPU;
- ``derain.pt``: the PyTorch checkpoint (network only), the start of ``edgederain train --init default``;
- ``autoencoder.pt``: the rain autoencoder it was trained with (the embedding loss of a fine-tune).
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from edgederain.errors import ModelNotFoundError

WEIGHTS_DIR = Path(__file__).resolve().parent
Precision = Literal["fp32", "fp16", "int8"]
PRECISIONS: tuple[str, ...] = ("fp32", "fp16", "int8")


def model_file(precision: Precision = "fp32") -> Path:
    """Path of the packaged ONNX model of ``precision``."""
    if precision not in PRECISIONS:
        raise ValueError(f"precision must be one of {PRECISIONS}, got {precision!r}")
    return _existing(WEIGHTS_DIR / f"derain_{precision}.onnx")


def checkpoint_file() -> Path:
    """Path of the packaged PyTorch checkpoint (network and config only)."""
    return _existing(WEIGHTS_DIR / "derain.pt")


def autoencoder_file() -> Path:
    """Path of the packaged rain autoencoder (stage 1), the embedding target when fine-tuning."""
    return _existing(WEIGHTS_DIR / "autoencoder.pt")


def _existing(path: Path) -> Path:
    if not path.is_file():
        raise ModelNotFoundError(
            f"{path}: the packaged default model is missing from this installation; reinstall "
            "edgederain, or pass --model PATH with a model written by `edgederain export`"
        )
    return path
