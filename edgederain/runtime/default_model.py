"""Which packaged model to run when the caller names none.

edgederain ships the thesis network trained on synthetic rain (``edgederain/weights``, see its
``MODEL_CARD.md``) in FP32, FP16 and INT8. Without an explicit model, ``edgederain derain`` runs
the file :func:`default_model_path` picks (pass it to :class:`~edgederain.runtime.DerainSession`
yourself, which needs a path): the FP32 file on CPU-type providers (CPU, OpenVINO) and the FP16
file when the first requested provider is CUDA or TensorRT, where FP16 is the fast format. INT8
is never chosen implicitly: it trades accuracy for speed, so ask for it. Two models are
packaged (``edgederain.weights.MODEL_NAMES``): ``all-weather`` (the default) and ``lite``;
:func:`resolve_model` turns a ``--model`` argument (a name or a path) into a file.
"""

from __future__ import annotations

from pathlib import Path

from edgederain.runtime.config import SessionConfig
from edgederain.runtime.providers import Provider
from edgederain.weights import DEFAULT_MODEL, Precision, is_packaged_name, model_file

GPU_PROVIDERS = (Provider.CUDA, Provider.TENSORRT)


def default_precision(config: SessionConfig | None = None) -> Precision:
    """``"fp16"`` when the first requested provider is CUDA or TensorRT, else ``"fp32"``."""
    providers = (config or SessionConfig()).providers.providers
    return "fp16" if providers and providers[0] in GPU_PROVIDERS else "fp32"


def default_model_path(
    config: SessionConfig | None = None, *, precision: Precision | None = None, name: str = DEFAULT_MODEL
) -> Path:
    """Path of the packaged model ``name`` for ``config``'s providers (or of ``precision`` if given)."""
    return model_file(precision or default_precision(config), name)


def resolve_model(model: str | Path | None, config: SessionConfig | None = None) -> Path:
    """What a ``--model`` argument means: None -> the default packaged model; a packaged model's
    name (``all-weather``, ``lite``, ``default``) that is not also an existing file -> that model
    in the precision :func:`default_precision` picks (a retired name: :class:`ModelNotFoundError`
    saying what to use instead); anything else -> the path itself."""
    if model is None:
        return default_model_path(config)
    if is_packaged_name(model):
        return default_model_path(config, name=str(model))
    return Path(model)
