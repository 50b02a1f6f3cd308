"""Checking a model path before ONNX Runtime reads it (stdlib only), so that a wrong file gets a
message saying what it is and what to do, instead of a protobuf parse error.

Refused up front: no path (None), a path that does not exist, a folder, an empty file, an
unreadable file, and a PyTorch checkpoint (``torch.save`` writes a zip archive holding
``data.pkl``, or, in the legacy format, a pickle stream). A file ONNX Runtime then fails to load
is reported by :func:`load_error`, which names the path and, for a ``.pt`` / ``.pth`` / ``.ckpt``
name, says how to export it.
"""

from __future__ import annotations

import os
import zipfile
from pathlib import Path

from edgederain.errors import ConfigError, ModelLoadError, ModelNotFoundError

CHECKPOINT_SUFFIXES = (".pt", ".pth", ".ckpt")
_ZIP_MAGIC = b"PK\x03\x04"
_PICKLE_PROTOCOLS = range(2, 6)  # torch.save's legacy format writes protocol 2


def _export_hint(path: Path) -> str:
    return (
        f"{path}: this is a PyTorch checkpoint, not an ONNX model: export it first with "
        f"`edgederain export {path} -o {path.with_suffix('.onnx').name}` "
        "and pass the .onnx file"
    )


def _is_torch_zip(path: Path) -> bool:
    try:
        with zipfile.ZipFile(path) as z:
            return any(n.endswith(("data.pkl", "constants.pkl")) for n in z.namelist())
    except (zipfile.BadZipFile, OSError):
        return False


def _looks_like_checkpoint(path: Path, head: bytes) -> bool:
    if head.startswith(_ZIP_MAGIC):
        return _is_torch_zip(path)
    return len(head) >= 2 and head[0] == 0x80 and head[1] in _PICKLE_PROTOCOLS


def check_model_file(model_path: object) -> Path:
    """The model's :class:`Path`, or a project error saying what is wrong with it."""
    if model_path is None:
        raise ModelNotFoundError(
            "no model given (model_path is None): pass the path of an exported .onnx file, or "
            "edgederain.runtime.default_model.default_model_path() for the packaged model"
        )
    if not isinstance(model_path, (str, os.PathLike)):
        raise ConfigError(
            f"model_path must be a path (str or os.PathLike), got {type(model_path).__name__}"
        )
    p = Path(model_path)
    if p.is_dir():
        found = sorted(c.name for c in p.glob("*.onnx"))
        which = f"one of the .onnx files in it: {', '.join(found[:5])}" if found else (
            "the .onnx file itself (this folder holds none)")
        raise ModelNotFoundError(f"{p} is a folder, not a model file; pass {which}")
    if not p.is_file():
        raise ModelNotFoundError(f"{p}: model file not found; pass the path of an exported .onnx file")
    try:
        with open(p, "rb") as f:
            head = f.read(16)
    except OSError as exc:
        raise ModelLoadError(f"{p}: cannot read the model file ({exc.strerror or exc})") from None
    if not head:
        raise ModelLoadError(f"{p}: the model file is empty (0 bytes); export it again")
    if _looks_like_checkpoint(p, head):
        raise ModelLoadError(_export_hint(p))
    return p


def load_error(path: Path, exc: BaseException) -> ModelLoadError:
    """The error for a file that exists but that ONNX Runtime cannot load."""
    if path.suffix.lower() in CHECKPOINT_SUFFIXES:
        return ModelLoadError(_export_hint(path))
    detail = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    if len(detail) > 300:
        detail = detail[:300] + "..."
    return ModelLoadError(
        f"{path}: ONNX Runtime cannot load this model ({detail}); pass an .onnx file written by "
        "`edgederain export` (a truncated or corrupt file must be exported again)"
    )
