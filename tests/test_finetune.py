"""Fine-tuning from the packaged model: `train --init default` on a small paired folder."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest
import torch
from typer.testing import CliRunner

from edgederain.cli import app
from edgederain.errors import ConfigError
from edgederain.io import write_image
from edgederain.train.checkpoint import load_derain_model, read_checkpoint, sha256_of
from edgederain.train.config import FINETUNE_DEFAULTS, TrainConfig
from edgederain.train.loop import init_model_config, train
from edgederain.train.setup import Compute, build_datasets
from edgederain.data.synth import add_rain
from edgederain.train.validation import validate_derain
from edgederain.weights import WEIGHTS_DIR, checkpoint_file


def _pairs(root: Path, n: int = 3) -> Path:
    rng = np.random.default_rng(0)
    (root / "rainy").mkdir(parents=True)
    (root / "clean").mkdir()
    yy, xx = np.mgrid[0:48, 0:64]
    for i in range(n):
        clean = np.clip(90 + 60 * np.sin(xx / (5.0 + i))[..., None] + rng.normal(0, 8, (48, 64, 3)), 0, 255)
        clean = clean.astype(np.uint8)
        write_image(root / "rainy" / f"{i}.png", add_rain(clean, config="light", rng=i))
        write_image(root / "clean" / f"{i}.png", clean)
    return root


def _config(tmp_path: Path, **kw) -> TrainConfig:
    data = _pairs(tmp_path / "pairs")
    base = dict(model=init_model_config("default"), stage="derain", init="default", data=(str(data),), val_data=str(data),
                out_dir=str(tmp_path / "run"), crop=32, batch_size=1, val_count=2, val_crop=32,
                derain_iterations=1, val_every=1, checkpoint_every=1, threads=1, lr=1e-5)
    return TrainConfig(**{**base, **kw})


def _first_row(run: Path) -> dict[str, str]:
    with (run / "derain_log.csv").open(newline="") as f:
        return next(csv.DictReader(f))


def _packaged_validation(cfg: TrainConfig) -> dict[str, float]:
    net, _ = load_derain_model(checkpoint_file())
    _, val = build_datasets(cfg)
    return validate_derain(net, val, Compute(torch.device("cpu")))


def test_first_validation_of_a_finetune_is_the_packaged_model(tmp_path: Path) -> None:
    cfg = _config(tmp_path, w_embedding=0.0)  # no autoencoder needed
    result = train(cfg, progress=False)
    assert result.stages[0].completed and result.stages[0].steps == 1
    row = _first_row(Path(cfg.out_dir))
    assert row["step"] == "0"
    expected = _packaged_validation(cfg)
    assert float(row["val_psnr_rgb"]) == pytest.approx(expected["psnr_rgb"], abs=1e-4)
    assert float(row["val_psnr_y"]) == pytest.approx(expected["psnr_y"], abs=1e-4)
    # and training then moved the weights
    last = read_checkpoint(Path(cfg.out_dir) / "derain_last.pt")["model"]
    start = read_checkpoint(checkpoint_file())["model"]
    assert any(not torch.equal(last[k], start[k]) for k in start if start[k].is_floating_point())


@pytest.mark.skipif(not (WEIGHTS_DIR / "autoencoder.pt").is_file(), reason="no packaged autoencoder")
def test_finetune_uses_the_packaged_autoencoder_for_the_embedding_loss(tmp_path: Path) -> None:
    cfg = _config(tmp_path)
    train(cfg, progress=False)
    with (Path(cfg.out_dir) / "derain_log.csv").open(newline="") as f:
        rows = list(csv.DictReader(f))
    assert float(rows[-1]["embed"]) > 0  # measured against the packaged AE's ideal embedding


def test_cli_init_applies_the_finetune_defaults(tmp_path: Path) -> None:
    data = _pairs(tmp_path / "pairs")
    out = tmp_path / "run"
    args = ["train", "--init", "default", "--data", str(data), "--val-data", str(data), "--out", str(out),
            "--crop", "32", "--batch-size", "1", "--derain-iterations", "1", "--threads", "1", "--no-progress"]
    cfg = tmp_path / "c.json"
    cfg.write_text(json.dumps({"stage": "derain", "w_embedding": 0.0, "val_count": 1, "val_crop": 32, "val_every": 1}))
    result = CliRunner().invoke(app, [*args, "--config", str(cfg)])
    assert result.exit_code == 0, result.output
    saved = json.loads((out / "config.json").read_text())
    assert saved["init"] == "default" and saved["lr"] == 1e-3  # a config file keeps its own settings
    other = tmp_path / "run2"
    plain = [a if a != str(out) else str(other) for a in args]
    result = CliRunner().invoke(app, [*plain, "--help"])
    assert result.exit_code == 0 and "--init" in result.output
    assert TrainConfig(**FINETUNE_DEFAULTS).lr == FINETUNE_DEFAULTS["lr"] < TrainConfig().lr


def test_init_with_a_network_of_another_shape_is_refused(tmp_path: Path) -> None:
    cfg = _config(tmp_path, model="tiny", w_embedding=0.0)
    with pytest.raises(ConfigError, match="preset"):
        train(cfg, progress=False)


def test_cli_init_without_model_takes_the_checkpoints_network(tmp_path: Path) -> None:
    from edgederain.model import build_model
    from edgederain.train.checkpoint import save_checkpoint

    torch.manual_seed(0)
    from edgederain.model import RainAutoencoder, get_preset

    init = save_checkpoint(tmp_path / "veil.pt", build_model("tiny-veil"))
    ae = save_checkpoint(tmp_path / "ae.pt", RainAutoencoder(get_preset("tiny-veil")))
    data = _pairs(tmp_path / "pairs")
    out = tmp_path / "run"
    result = CliRunner().invoke(app, [
        "train", "--init", str(init), "--ae-checkpoint", str(ae), "--data", str(data), "--val-data", str(data), "--out", str(out),
        "--crop", "32", "--batch-size", "1", "--derain-iterations", "1", "--threads", "1", "--no-progress"])
    assert result.exit_code == 0, result.output
    saved = json.loads((out / "config.json").read_text())
    assert saved["model"] == build_model("tiny-veil").config.to_dict()
    net, _ = load_derain_model(out / "derain_last.pt")
    assert net.config.veil


def _another_digest(digest: str) -> str:
    """A 16-digit prefix that ``digest`` does not start with."""
    return ("0" if digest[0] != "0" else "1") + digest[1:16]


def test_init_sha256_pins_the_start(tmp_path: Path) -> None:
    digest = sha256_of(checkpoint_file())
    # the right digest (a prefix, any case) trains as without it
    cfg = _config(tmp_path, w_embedding=0.0, init_sha256=digest[:12].upper())
    assert cfg.init_sha256 == digest[:12]
    assert train(cfg, progress=False).stages[0].completed
    # another digest is refused before anything is written, naming both and how to restore
    wrong = _another_digest(digest)
    bad = cfg.replace(init_sha256=wrong, out_dir=str(tmp_path / "run2"))
    with pytest.raises(ConfigError) as err:
        train(bad, progress=False)
    msg = str(err.value)
    assert digest[:12] in msg and wrong[:12] in msg and "git log" in msg
    assert not (tmp_path / "run2" / "config.json").exists()


def test_init_sha256_is_not_checked_when_a_run_resumes_from_its_own_weights(tmp_path: Path) -> None:
    cfg = _config(tmp_path, w_embedding=0.0, derain_iterations=2)
    train(cfg, progress=False, stop_after=1)
    # the init changed since (here: the pin no longer matches); the run continues from derain_last.pt
    moved = cfg.replace(init_sha256=_another_digest(sha256_of(checkpoint_file())))
    result = train(moved, resume=True, progress=False)
    assert result.stages[0].completed and result.stages[0].steps == 2


@pytest.mark.parametrize("value", ["abc", "xyz12345", "0" * 65])
def test_init_sha256_must_be_hex_digits(tmp_path: Path, value: str) -> None:
    with pytest.raises(ConfigError, match="init_sha256"):
        TrainConfig(init="default", init_sha256=value)


def test_init_sha256_needs_an_init() -> None:
    with pytest.raises(ConfigError, match="init is not"):
        TrainConfig(init_sha256="c88ae3aa")
