"""Wrong model files get a project error that names the path and says what the file is."""

from __future__ import annotations

import os
import pickle
import zipfile

import pytest
from runtime_fixtures import blur_model, write_blur_model  # noqa: F401

from edgederain.contract import METADATA_KEY
from edgederain.errors import ConfigError, ContractError, ModelLoadError, ModelNotFoundError
from edgederain.runtime import DerainSession
from edgederain.weights import checkpoint_file


def test_no_model_given():
    with pytest.raises(ModelNotFoundError, match="no model given.*None.*default_model_path"):
        DerainSession(None)
    with pytest.raises(ConfigError, match="must be a path.*int"):
        DerainSession(3)


def test_packaged_pytorch_checkpoint_says_export_it_first():
    path = checkpoint_file()
    assert path.suffix == ".pt"
    with pytest.raises(ModelLoadError) as info:
        DerainSession(path)
    text = str(info.value)
    assert str(path) in text and "PyTorch checkpoint" in text
    assert f"edgederain export {path} -o derain.onnx" in text


def test_checkpoints_are_recognised_by_content_whatever_their_name(tmp_path):
    zipped = tmp_path / "weights.onnx"  # torch.save's zip format, misnamed
    with zipfile.ZipFile(zipped, "w") as z:
        z.writestr("weights/data.pkl", pickle.dumps({"state_dict": {}}, protocol=2))
        z.writestr("weights/version", "3\n")
    legacy = tmp_path / "weights.bin"  # torch.save's legacy pickle format
    legacy.write_bytes(pickle.dumps({"state_dict": {}}, protocol=2))
    for path in (zipped, legacy):
        with pytest.raises(ModelLoadError, match="PyTorch checkpoint.*edgederain export"):
            DerainSession(path)


def test_checkpoint_suffix_with_unknown_content(tmp_path):
    path = tmp_path / "model.pth"
    path.write_bytes(os.urandom(64))
    with pytest.raises(ModelLoadError, match="PyTorch checkpoint.*edgederain export"):
        DerainSession(path)


def test_a_zip_that_is_not_a_checkpoint_goes_to_onnx_runtime(tmp_path):
    path = tmp_path / "bundle.onnx"
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("readme.txt", "hello")
    with pytest.raises(ModelLoadError, match="cannot load this model") as info:
        DerainSession(path)
    assert str(path) in str(info.value) and "PyTorch" not in str(info.value)


def test_missing_file_and_folders(tmp_path):
    missing = tmp_path / "nope.onnx"
    with pytest.raises(ModelNotFoundError, match="not found") as info:
        DerainSession(missing)
    assert str(missing) in str(info.value)
    with pytest.raises(ModelNotFoundError, match="is a folder.*holds none"):
        DerainSession(tmp_path)
    write_blur_model(tmp_path / "a.onnx")
    with pytest.raises(ModelNotFoundError, match=r"is a folder.*one of the \.onnx files in it: a\.onnx"):
        DerainSession(tmp_path)


def test_empty_file(tmp_path):
    path = tmp_path / "empty.onnx"
    path.write_bytes(b"")
    with pytest.raises(ModelLoadError, match=r"the model file is empty \(0 bytes\)") as info:
        DerainSession(path)
    assert str(path) in str(info.value)


def test_random_bytes(tmp_path):
    path = tmp_path / "noise.onnx"
    path.write_bytes(os.urandom(4096))
    with pytest.raises(ModelLoadError, match="cannot load this model.*edgederain export") as info:
        DerainSession(path)
    assert str(path) in str(info.value)


def test_contract_that_is_not_json_names_the_model_file(tmp_path, blur_model):
    import onnx

    model = onnx.load(str(blur_model))
    for prop in model.metadata_props:
        if prop.key == METADATA_KEY:
            prop.value = "{not json"
    path = tmp_path / "badcontract.onnx"
    onnx.save(model, str(path))
    with pytest.raises(ContractError, match="JSON") as info:
        DerainSession(path)
    assert str(path) in str(info.value)
