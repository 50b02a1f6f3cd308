"""Checkpoint files: what they hold and how to load a network from one.

A checkpoint is a ``torch.save`` dict with at least::

    format        "edgederain-checkpoint"
    version       1
    kind          "derain" (DerainNet) or "autoencoder" (RainAutoencoder)
    model_config  ModelConfig.to_dict()   -> the architecture, so export needs nothing else
    model         the network's state_dict

Training adds (loaders ignore keys they do not need)::

    stage         "ae" or "derain"
    step, total   iterations done / in the stage's schedule
    metrics       last validation metrics; best_score: the best validation score so far
    train_config  the resolved TrainConfig (absolute paths, model and rain configs expanded)
    optimizer, scheduler, rng     (``*_last.pt`` / ``*_final.pt`` only) state to resume bit for bit
    autoencoder   (stage-2 ``*_last.pt`` / ``*_final.pt``) the frozen AE's state_dict

``derain_best.pt`` holds only the model, metrics and config (no optimizer): what export needs.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Any

import torch

from edgederain.errors import CheckpointError, ConfigError
from edgederain.model.autoencoder import RainAutoencoder
from edgederain.model.config import ModelConfig
from edgederain.model.net import DerainNet

FORMAT = "edgederain-checkpoint"
VERSION = 1
KINDS = ("derain", "autoencoder")


def sha256_of(path: str | os.PathLike) -> str:
    """Hex SHA-256 of a file (recorded in exported contracts)."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def save_checkpoint(path: str | os.PathLike, model: DerainNet | RainAutoencoder, **extra: Any) -> Path:
    """Write ``model`` (and any extra entries) atomically to ``path``."""
    kind = "derain" if isinstance(model, DerainNet) else "autoencoder"
    payload = {
        "format": FORMAT,
        "version": VERSION,
        "kind": kind,
        "model_config": model.config.to_dict(),
        "model": model.state_dict(),
        **extra,
    }
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    tmp = p.with_name(p.name + ".tmp")
    torch.save(payload, tmp)
    os.replace(tmp, p)
    return p


def read_checkpoint(path: str | os.PathLike) -> dict[str, Any]:
    """Load and validate a checkpoint dict (on CPU). Raises :class:`CheckpointError`."""
    p = Path(path)
    if not p.is_file():
        raise CheckpointError(f"{p}: checkpoint not found")
    try:
        data = torch.load(p, map_location="cpu", weights_only=False)
    except Exception as exc:  # noqa: BLE001 - any unpickling failure means "not a checkpoint"
        raise CheckpointError(
            f"{p}: not a readable PyTorch checkpoint ({type(exc).__name__}); "
            "pass a .pt file written by `edgederain train`"
        ) from None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise CheckpointError(f"{p}: not an edgederain checkpoint (no format={FORMAT!r} entry)")
    if data.get("version") != VERSION:
        raise CheckpointError(f"{p}: checkpoint version {data.get('version')!r} is not supported")
    if data.get("kind") not in KINDS:
        raise CheckpointError(f"{p}: unknown checkpoint kind {data.get('kind')!r}")
    try:
        data["config"] = ModelConfig.from_dict(data["model_config"])
    except (ConfigError, KeyError, TypeError) as exc:
        raise CheckpointError(f"{p}: checkpoint describes an unknown model ({exc})") from None
    return data


def _load_network(path: str | os.PathLike, kind: str, cls: type, hint: str):
    data = read_checkpoint(path)
    if data["kind"] != kind:
        raise CheckpointError(f"{path}: holds a {data['kind']} network, not {hint}")
    model = cls(data["config"])
    try:
        model.load_state_dict(data["model"])
    except RuntimeError as exc:
        raise CheckpointError(f"{path}: weights do not match the stored config ({exc})") from None
    model.eval()
    return model, data


def load_derain_model(path: str | os.PathLike) -> tuple[DerainNet, dict[str, Any]]:
    """Rebuild the DerainNet stored in a checkpoint, in eval mode; returns (model, checkpoint)."""
    return _load_network(
        path, "derain", DerainNet, "a derain network; pass a stage-2 (derain) checkpoint"
    )


def load_autoencoder(path: str | os.PathLike) -> tuple[RainAutoencoder, dict[str, Any]]:
    """Rebuild the RainAutoencoder stored in a stage-1 checkpoint, in eval mode."""
    return _load_network(
        path, "autoencoder", RainAutoencoder,
        "the rain autoencoder; pass the stage-1 checkpoint (ae_final.pt)",
    )


def rng_state() -> dict[str, Any]:
    """Process RNG states (torch, CUDA when present, numpy's legacy global, Python's)."""
    import random

    import numpy as np

    state = {"torch": torch.get_rng_state(), "numpy": np.random.get_state(), "python": random.getstate()}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def restore_rng_state(state: dict[str, Any]) -> None:
    """Inverse of :func:`rng_state` (missing entries are left alone)."""
    import random

    import numpy as np

    if "torch" in state:
        torch.set_rng_state(state["torch"])
    if "numpy" in state:
        np.random.set_state(state["numpy"])
    if "python" in state:
        random.setstate(state["python"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])
