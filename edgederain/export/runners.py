"""Opening a model from a path: a PyTorch checkpoint or an exported ``.onnx`` file, as one runner.

:func:`open_model` is the one loader that ``evaluate``, ``verify`` and ``bench`` use. Its runner
has :class:`edgederain.runtime.DerainSession`'s shape:

- ``run(frames)``: uint8 or float32 H x W x 3 RGB (or an N x H x W x 3 batch) in, the same out;
- ``run_tensor(x)``: float32 N x 3 x H x W in [0, 1] in, the model's float32 output out.

A checkpoint (``.pt``, ``.pth``, ``.ckpt``) runs as a :class:`~edgederain.export.torch_runner.
TorchRunner` (FP32 eager, torch imported only then); an ``.onnx`` file as a ``DerainSession`` on
the CPU (so it must carry its contract).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from edgederain.errors import CheckpointError
from edgederain.runtime.modelfile import CHECKPOINT_SUFFIXES

HINT = f"pass a checkpoint ({', '.join(CHECKPOINT_SUFFIXES)}) or an .onnx model"


class ModelRunner(Protocol):
    def run(self, frames: np.ndarray) -> np.ndarray: ...

    def run_tensor(self, x: np.ndarray) -> np.ndarray: ...


@dataclass(frozen=True)
class OpenedModel:
    """A runner and where it came from (``checkpoint`` is the loaded checkpoint's dict)."""

    runner: ModelRunner
    path: Path
    checkpoint: dict[str, Any] | None = None

    @property
    def label(self) -> str:
        """``pytorch:NAME`` or ``onnx:NAME``, for reports."""
        return f"{'onnx' if self.checkpoint is None else 'pytorch'}:{self.path.name}"

    @property
    def info(self) -> dict[str, Any]:
        """What evaluation reports record about the model."""
        if self.checkpoint is None:
            return {"kind": "onnx", "path": str(self.path), "session": repr(self.runner)}
        from edgederain.train.checkpoint import sha256_of

        return {"kind": "checkpoint", "path": str(self.path), "sha256": sha256_of(self.path),
                "model_config": self.checkpoint["model_config"], "step": self.checkpoint.get("step")}


def open_model(path: str | os.PathLike, *, threads: int = 0, role: str = "model",
               hint: str = HINT) -> OpenedModel:
    """Open a checkpoint or an ONNX model by its suffix; ``threads`` (torch's, 0 = its default)
    applies to checkpoints. A missing file or another suffix is a :class:`CheckpointError`
    naming the ``role`` and ending with ``hint``."""
    p = Path(path)
    if not p.is_file():
        raise CheckpointError(f"{p}: {role} not found; {hint}")
    suffix = p.suffix.lower()
    if suffix == ".onnx":
        from edgederain.runtime.session import DerainSession

        return OpenedModel(DerainSession(p), p)
    if suffix not in CHECKPOINT_SUFFIXES:
        raise CheckpointError(f"{p}: unknown {role} type {suffix!r}; {hint}")
    import torch

    from edgederain.export.torch_runner import TorchRunner
    from edgederain.train.checkpoint import load_derain_model

    if threads:
        torch.set_num_threads(threads)
    net, data = load_derain_model(p)
    return OpenedModel(TorchRunner(net), p, data)
