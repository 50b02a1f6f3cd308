"""The packaged default model: contracts, provenance, and an offline run of the installed package."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from edgederain.contract import IOContract
from edgederain.io import read_rgb
from edgederain.metrics import psnr
from edgederain.model.config import ModelConfig, get_preset
from edgederain.weights import MODEL_NAMES, PRECISIONS, WEIGHTS_DIR, checkpoint_file, model_file

REPO = Path(__file__).resolve().parents[1]
# the network preset each packaged model was trained as (its model card says so too)
PRESET = {"all-weather": "thesis-veil", "lite": "lite-veil"}

# Refuse every network connection, so the run proves the package needs none.
NO_NETWORK = """
import socket
def _refuse(*a, **k):
    raise OSError("network access attempted")
socket.socket.connect = _refuse
socket.create_connection = _refuse
"""


@pytest.mark.parametrize("name", MODEL_NAMES)
@pytest.mark.parametrize("precision", PRECISIONS)
def test_packaged_models_carry_their_contract_and_provenance(precision, name):
    import onnxruntime as ort

    from edgederain.train.checkpoint import sha256_of

    sess = ort.InferenceSession(str(model_file(precision, name)), providers=["CPUExecutionProvider"])
    contract = IOContract.from_metadata(sess.get_modelmeta().custom_metadata_map)
    assert contract.precision == precision
    preset = PRESET[name]
    # files exported before a config field existed lack it; it reads back as the field's default
    assert contract.variant == "single" and ModelConfig.from_dict(contract.model_config) == get_preset(preset)
    assert contract.checkpoint_sha256 == sha256_of(checkpoint_file(name))
    gates = [g for g in (contract.parity or {}).values() if isinstance(g, dict) and "passed" in g]
    assert gates and all(g["passed"] for g in gates)
    assert model_file(precision, name).stat().st_size < 15_000_000


@pytest.mark.parametrize("name", MODEL_NAMES)
def test_packaged_checkpoint_rebuilds_the_network(name):
    from edgederain.train.checkpoint import load_derain_model

    model, data = load_derain_model(checkpoint_file(name))
    assert data["kind"] == "derain" and model.config.variant == "single"
    assert "optimizer" not in data  # network only: small enough to ship


def test_the_default_ships_its_rain_autoencoder_and_lite_says_it_does_not():
    from edgederain.errors import ModelNotFoundError
    from edgederain.train.checkpoint import load_autoencoder
    from edgederain.weights import autoencoder_file

    ae, data = load_autoencoder(autoencoder_file())
    assert data["kind"] == "autoencoder" and "optimizer" not in data
    with pytest.raises(ModelNotFoundError, match="w_embedding"):
        autoencoder_file("lite")


def test_models_are_chosen_by_name_or_path(tmp_path, monkeypatch):
    from edgederain.errors import ModelNotFoundError
    from edgederain.runtime import SessionConfig
    from edgederain.runtime.default_model import resolve_model

    assert resolve_model(None) == model_file("fp32") == WEIGHTS_DIR / "derain_fp32.onnx"
    assert resolve_model("lite") == WEIGHTS_DIR / "lite" / "derain_fp32.onnx"
    assert resolve_model("default", SessionConfig.for_provider("cuda")).name == "derain_fp16.onnx"
    assert resolve_model(Path("some/model.onnx")) == Path("some/model.onnx")
    monkeypatch.chdir(tmp_path)
    (tmp_path / "lite").write_bytes(b"")  # a file of that name wins over the packaged model
    assert resolve_model("lite") == Path("lite")
    with pytest.raises(ModelNotFoundError, match="all-weather"):
        model_file("fp32", "heavy")


def test_a_retired_model_name_says_what_to_use_instead(tmp_path, monkeypatch):
    from edgederain.errors import ModelNotFoundError
    from edgederain.runtime.default_model import resolve_model
    from edgederain.weights import MODELS, RETIRED

    assert "light" in RETIRED and "light" not in MODELS
    for lookup in (lambda: model_file("fp32", "light"), lambda: checkpoint_file("light"),
                   lambda: resolve_model("light")):
        with pytest.raises(ModelNotFoundError, match="retired.*all-weather.*git show"):
            lookup()
    monkeypatch.chdir(tmp_path)
    (tmp_path / "light").write_bytes(b"")  # a file of that name is still the user's file
    assert resolve_model("light") == Path("light")


def test_installed_package_derains_a_rain100l_image_offline(tmp_path, rain100l_dir):
    site = tmp_path / "site"
    pip = [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-index",
           "--no-build-isolation", "--target", str(site), str(REPO)]
    subprocess.run(pip, check=True, capture_output=True, timeout=600, cwd=tmp_path)
    for rel in ("derain_fp32.onnx", "autoencoder.pt", "lite/derain_fp32.onnx", "lite/MODEL_CARD.md"):
        assert (site / "edgederain" / "weights" / rel).is_file(), rel
    assert not (site / "edgederain" / "weights" / "light").exists()  # retired

    rainy = rain100l_dir / "rainy" / "1.png"
    out = tmp_path / "out"
    code = NO_NETWORK + (
        "import sys\nsite = sys.argv[3]\n"
        "sys.argv = ['edgederain', 'derain', sys.argv[1], '-o', sys.argv[2], '-q']\n"
        "import edgederain\nassert edgederain.__file__.startswith(site), edgederain.__file__\n"
        "from edgederain.cli import run\nrun()\n"
    )
    env = {**os.environ, "PYTHONPATH": str(site)}
    r = subprocess.run([sys.executable, "-c", code, str(rainy), str(out), str(site)],
                       capture_output=True, text=True, timeout=600, cwd=tmp_path, env=env)
    assert r.returncode == 0, r.stdout + r.stderr
    derained = read_rgb(out / "1.png")
    clean = read_rgb(rain100l_dir / "clean" / "1.png")
    before = psnr(read_rgb(rainy), clean, y_channel=True)
    after = psnr(derained, clean, y_channel=True)
    assert derained.shape == clean.shape and derained.dtype == np.uint8
    assert after > before + 2.0, (before, after)


def test_default_model_follows_the_first_requested_provider():
    from edgederain.runtime import SessionConfig
    from edgederain.runtime.default_model import default_model_path, default_precision

    assert default_precision() == "fp32"
    assert default_precision(SessionConfig.for_provider("cuda")) == "fp16"
    assert default_precision(SessionConfig.for_provider("tensorrt")) == "fp16"
    assert default_precision(SessionConfig.for_provider("openvino")) == "fp32"
    assert default_model_path().name == "derain_fp32.onnx"
    assert default_model_path(SessionConfig.for_provider("cuda")).name == "derain_fp16.onnx"
    assert default_model_path(precision="int8").name == "derain_int8.onnx"
    with pytest.raises(ValueError, match="precision"):
        default_model_path(precision="bf16")
