"""Both stages train on tiny synthetic data (loss falls); interrupt + resume == uninterrupted."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest
import torch

from edgederain.errors import ConfigError
from edgederain.io import write_image
from edgederain.train.checkpoint import load_derain_model, read_checkpoint
from edgederain.train.config import TrainConfig
from edgederain.train.loop import train
from train_fixtures import tiny_train_config, write_backgrounds


@pytest.fixture(scope="module")
def backgrounds(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_backgrounds(tmp_path_factory.mktemp("backgrounds"), 72)


def _config(backgrounds: Path, out: Path, **kw) -> TrainConfig:
    return tiny_train_config(backgrounds, out, **kw)


def _losses(path: Path) -> list[float]:
    with path.open() as f:
        return [float(r["loss"]) for r in csv.DictReader(f)]


def test_both_stages_learn(backgrounds: Path, tmp_path: Path) -> None:
    cfg = _config(backgrounds, tmp_path / "run", ae_iterations=40, derain_iterations=40, lr=2e-3,
                  milestones=(0.9,))
    result = train(cfg, progress=False)
    assert [s.stage for s in result.stages] == ["ae", "derain"] and all(s.completed for s in result.stages)
    for stage in ("ae", "derain"):
        losses = _losses(tmp_path / "run" / f"{stage}_log.csv")
        assert len(losses) == 20
        assert np.mean(losses[-4:]) < np.mean(losses[:4]), (stage, losses)
    saved = json.loads((tmp_path / "run" / "config.json").read_text())
    assert saved["model"]["widths"] == [8, 16, 32, 64] and saved["rain"]["layers"]
    net, data = load_derain_model(tmp_path / "run" / "derain_best.pt")
    assert data["stage"] == "derain" and "psnr_rgb" in data["metrics"]
    last = read_checkpoint(tmp_path / "run" / "derain_last.pt")
    assert {"optimizer", "scheduler", "rng", "step", "train_config", "autoencoder"} <= set(last)
    with torch.no_grad():
        assert net.infer(torch.rand(1, 3, 37, 29)).shape == (1, 3, 37, 29)


def _weights(path: Path) -> dict[str, torch.Tensor]:
    return read_checkpoint(path)["model"]


@pytest.mark.parametrize("stop_after", [2, 3])  # 2: inside stage 1; 3: stage 1 done, inside stage 2
def test_interrupt_and_resume_is_bit_exact(backgrounds: Path, tmp_path: Path, stop_after: int) -> None:
    ae_its = 3 if stop_after == 2 else 2
    straight = _config(backgrounds, tmp_path / "straight", ae_iterations=ae_its, derain_iterations=5)
    train(straight, progress=False)
    cut = _config(backgrounds, tmp_path / "cut", ae_iterations=ae_its, derain_iterations=5)
    first = train(cut, stop_after=stop_after, progress=False)
    assert not first.stages[-1].completed and first.stages[-1].steps == stop_after
    with pytest.raises(ConfigError, match="--resume"):
        train(cut, progress=False)
    second = train(cut, resume=True, progress=False)
    assert second.stages[-1].completed and second.stages[-1].stage == "derain"
    for name in ("ae_final.pt", "derain_final.pt"):
        a, b = _weights(tmp_path / "straight" / name), _weights(tmp_path / "cut" / name)
        assert a.keys() == b.keys()
        assert all(torch.equal(a[k], b[k]) for k in a), name
    opt_a = read_checkpoint(tmp_path / "straight" / "derain_final.pt")["optimizer"]["state"]
    opt_b = read_checkpoint(tmp_path / "cut" / "derain_final.pt")["optimizer"]["state"]
    assert all(torch.equal(opt_a[k]["exp_avg"], opt_b[k]["exp_avg"]) for k in opt_a)
    rows = list(csv.DictReader((tmp_path / "cut" / "derain_log.csv").open()))
    assert [int(r["step"]) for r in rows] == [2, 4, 5]  # no duplicated rows after the resume


def test_resume_refuses_a_changed_config(backgrounds: Path, tmp_path: Path) -> None:
    cfg = _config(backgrounds, tmp_path / "run", ae_iterations=2)
    train(cfg, stop_after=1, progress=False)
    with pytest.raises(ConfigError, match="changed: lr"):
        train(cfg.replace(lr=5e-4), resume=True, progress=False)


def test_stage2_alone_needs_and_uses_an_autoencoder(backgrounds: Path, tmp_path: Path) -> None:
    ae_run = _config(backgrounds, tmp_path / "ae", stage="ae", ae_iterations=2)
    train(ae_run, progress=False)
    alone = _config(backgrounds, tmp_path / "d", stage="derain", derain_iterations=2)
    with pytest.raises(ConfigError, match="needs the trained autoencoder"):
        train(alone, progress=False)
    result = train(alone.replace(ae_checkpoint=str(tmp_path / "ae" / "ae_final.pt"), out_dir=str(tmp_path / "d2")),
                   progress=False)
    assert [s.stage for s in result.stages] == ["derain"] and result.stages[0].completed


def test_bf16_autocast_trains(backgrounds: Path, tmp_path: Path) -> None:
    cfg = _config(backgrounds, tmp_path / "bf16", amp="bf16", channels_last=True, ae_iterations=2,
                  derain_iterations=2)
    result = train(cfg, progress=False)
    assert all(np.isfinite(s.last_metrics.get("psnr_rgb", s.last_metrics.get("mse"))) for s in result.stages)


def test_trains_on_paired_folders_with_held_out_pairs(tmp_path: Path) -> None:
    from edgederain.data.synth import add_rain

    rng = np.random.default_rng(2)
    for sub in ("rainy", "clean"):
        (tmp_path / "pairs" / sub).mkdir(parents=True)
    for i in range(5):
        clean = rng.integers(30, 200, (40, 56, 3), dtype=np.uint8)
        write_image(tmp_path / "pairs" / "clean" / f"{i}.png", clean)
        write_image(tmp_path / "pairs" / "rainy" / f"{i}.png", add_rain(clean, rng=i))
    cfg = TrainConfig(model="tiny", out_dir=str(tmp_path / "run"), data=(str(tmp_path / "pairs"),),
                      crop=32, val_crop=32, holdout_every=5, ae_iterations=2, derain_iterations=2, threads=1)
    result = train(cfg, progress=False)
    assert all(s.completed for s in result.stages)
    assert result.stages[-1].last_metrics["input_psnr_rgb"] > 0  # validated on the held-out pair
