"""The packaged models (stdlib only, so the torch-free runtime can use it).

Two trained networks, each in a folder with the same files (``MODEL_CARD.md`` beside this file
has recipes, scores and when to pick which):

- ``all-weather`` (this folder, the default): fine-tuned on the ``all-weather`` rain mixture,
  drizzle to downpour with a veil and camera effects (``configs/all-weather.toml``);
- ``lite`` (``lite/``): the ``lite`` preset (4.4x fewer MACs), distilled from ``all-weather`` on the
  same mixture (``configs/lite.toml``), for small edge devices.

The first packaged model, ``light`` (Rain100L-like light rain only), was retired: ``all-weather``
scores higher on light rain too (:data:`RETIRED` says where its files are).

All were trained on synthetic rain over ``../shared/data/backgrounds`` (never on Rain100L, BSD or
the real-rain photos) and exported with ``scripts/build_default_model.sh``. Files:

- ``derain_fp32.onnx``: the default for CPU (and the reference for parity);
- ``derain_fp16.onnx``: FP16 weights/compute with FP32 I/O, for CUDA / TensorRT;
- ``derain_int8.onnx``: U8S8 QDQ, calibrated on CamVid frames with synthetic rain, for CPU;
- ``derain.pt``: the PyTorch checkpoint (network only), the start of ``edgederain train --init NAME``;
- ``autoencoder.pt`` (``all-weather`` only): the rain autoencoder it was trained with, the embedding
  target of a fine-tune.
"""

from __future__ import annotations

from pathlib import Path
from edgederain.choices import PRECISIONS, Precision
from edgederain.errors import ModelNotFoundError

WEIGHTS_DIR = Path(__file__).resolve().parent
# packaged models by name: the all-weather default here, the distilled edge variant in lite/
MODELS: dict[str, Path] = {"all-weather": WEIGHTS_DIR, "lite": WEIGHTS_DIR / "lite"}
DEFAULT_MODEL = "all-weather"
MODEL_NAMES: tuple[str, ...] = tuple(MODELS)
# names of models that were packaged once, and what to use instead
RETIRED: dict[str, str] = {
    "light": (
        "the packaged model 'light' (light rain only) was retired: the default 'all-weather' model "
        "scores higher on light rain too (on the light validation set and on Rain100L; the figures are "
        "in edgederain/weights/MODEL_CARD.md) and removes heavy rain as well; use --model all-weather "
        "(the default). Its files are in the project's history: `git show "
        "80324e3:edgederain/weights/light/derain_fp32.onnx > light_fp32.onnx` (derain.pt, "
        "derain_fp16.onnx and derain_int8.onnx likewise)"
    ),
}


def is_packaged_name(text: str | Path | None) -> bool:
    """True when ``text`` names a packaged model (or ``"default"``, or a retired model, whose
    lookup then says what to use instead) and no file of that name exists (an existing file of
    that name wins: it is what the user pointed at)."""
    return (text is not None and str(text) in (*MODEL_NAMES, *RETIRED, "default")
            and not Path(text).exists())


def model_dir(name: str = DEFAULT_MODEL) -> Path:
    """Folder of the packaged model ``name`` (``"default"`` is the all-weather one)."""
    key = DEFAULT_MODEL if name == "default" else name
    if key in RETIRED:
        raise ModelNotFoundError(RETIRED[key])
    if key not in MODELS:
        raise ModelNotFoundError(f"no packaged model named {name!r}; choose one of {list(MODEL_NAMES)}")
    return MODELS[key]


def model_file(precision: Precision = "fp32", name: str = DEFAULT_MODEL) -> Path:
    """Path of the packaged ONNX model ``name`` in ``precision``."""
    if precision not in PRECISIONS:
        raise ValueError(f"precision must be one of {PRECISIONS}, got {precision!r}")
    return _existing(model_dir(name) / f"derain_{precision}.onnx")


def checkpoint_file(name: str = DEFAULT_MODEL) -> Path:
    """Path of the packaged PyTorch checkpoint of ``name`` (network and config only)."""
    return _existing(model_dir(name) / "derain.pt")


def autoencoder_file(name: str = DEFAULT_MODEL) -> Path:
    """Path of the rain autoencoder ``name`` was trained with (the embedding target of a fine-tune)."""
    path = model_dir(name) / "autoencoder.pt"
    if not path.is_file():
        raise ModelNotFoundError(
            f"{path}: the packaged {name!r} model ships without its rain autoencoder; fine-tune from "
            "'all-weather', pass ae_checkpoint / --ae-checkpoint, or set w_embedding = 0"
        )
    return path


def _existing(path: Path) -> Path:
    if not path.is_file():
        raise ModelNotFoundError(
            f"{path}: the packaged model is missing from this installation; reinstall "
            "edgederain, or pass --model PATH with a model written by `edgederain export`"
        )
    return path
