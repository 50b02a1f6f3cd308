"""Where the packaged default model will come from.

No trained model ships with edgederain yet (it has its own issue). When one does, it will be
installed as package data and :func:`default_model_path` will return its path; every caller
(``edgederain derain`` without ``--model``, embedding code) already goes through this function.
"""

from __future__ import annotations

from pathlib import Path

from edgederain.errors import ModelNotFoundError


def default_model_path() -> Path:
    """The packaged default model's path; today it raises :class:`ModelNotFoundError`."""
    raise ModelNotFoundError(
        "no default model ships with this edgederain yet; pass --model PATH with an .onnx file "
        "written by `edgederain export` (or DerainSession(path) in Python)"
    )
