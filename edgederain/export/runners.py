"""The one loader: a model from a path, a checkpoint (``.pt``, ``.pth``, ``.ckpt``: FP32 PyTorch
eager, torch imported only then) or an exported ``.onnx`` file (the runtime's ``DerainSession`` on
the CPU, so it must carry its contract), as a runner of one shape: ``run(frames)`` (uint8 or float32
H x W x 3 or N x H x W x 3 in, the same out) and ``run_tensor(x)`` (float32 N x 3 x H x W in, out)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from edgederain.errors import CheckpointError
from edgederain.runtime.modelfile import CHECKPOINT_SUFFIXES


@dataclass(frozen=True)
class OpenedModel:
    """The runner (``TorchRunner`` or ``DerainSession``), its file, the checkpoint's dict (None: ONNX)."""

    runner: Any
    path: Path
    checkpoint: dict[str, Any] | None = None

    @property
    def label(self) -> str:
        return f"{'onnx' if self.checkpoint is None else 'pytorch'}:{self.path.name}"

    @property
    def info(self) -> dict[str, Any]:
        if self.checkpoint is None:
            return {"kind": "onnx", "path": str(self.path), "session": repr(self.runner)}
        from edgederain.train.checkpoint import sha256_of

        return {"kind": "checkpoint", "path": str(self.path), "sha256": sha256_of(self.path),
                "model_config": self.checkpoint["model_config"], "step": self.checkpoint.get("step")}


def open_model(path: str | os.PathLike, *, threads: int = 0, role: str = "model",
               hint: str = "pass a checkpoint (.pt) or an .onnx model") -> OpenedModel:
    """Open ``path`` by its suffix (``threads``: torch's, 0 = its default); a missing file or
    another suffix is a :class:`CheckpointError` naming the ``role``, ending with ``hint``."""
    p = Path(path)
    if not p.is_file():
        raise CheckpointError(f"{p}: {role} not found; {hint}")
    if p.suffix.lower() == ".onnx":
        from edgederain.runtime.session import DerainSession

        return OpenedModel(DerainSession(p), p)
    if p.suffix.lower() not in CHECKPOINT_SUFFIXES:
        raise CheckpointError(f"{p}: unknown {role} type {p.suffix!r}; {hint}")
    import torch

    from edgederain.export.torch_runner import TorchRunner
    from edgederain.train.checkpoint import load_derain_model

    if threads:
        torch.set_num_threads(threads)
    net, data = load_derain_model(p)
    return OpenedModel(TorchRunner(net), p, data)
