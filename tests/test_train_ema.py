"""Weight EMA in training: the averaged weights are what is validated and saved; resume is exact."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from edgederain.errors import ConfigError
from edgederain.train.checkpoint import read_checkpoint
from edgederain.train.config import TrainConfig
from edgederain.train.loop import train
from train_fixtures import tiny_train_config, write_backgrounds


@pytest.fixture(scope="module")
def backgrounds(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_backgrounds(tmp_path_factory.mktemp("backgrounds"), 48)


def _config(backgrounds: Path, out: Path, **kw) -> TrainConfig:
    base = dict(batch_size=2, ae_iterations=2, derain_iterations=5, seed=4, ema=0.5, lr=2e-3)
    return tiny_train_config(backgrounds, out, **{**base, **kw})


def _float_items(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    return {k: v for k, v in state.items() if v.is_floating_point()}


def test_checkpoints_hold_the_average_and_the_training_weights(backgrounds: Path, tmp_path: Path) -> None:
    ema = train(_config(backgrounds, tmp_path / "ema", stage="ae", ae_iterations=5), progress=False)
    plain = train(_config(backgrounds, tmp_path / "plain", stage="ae", ae_iterations=5, ema=0.0), progress=False)
    final = read_checkpoint(tmp_path / "ema" / "ae_final.pt")
    assert final["ema_updates"] == 5
    raw, avg = _float_items(final["train_model"]), _float_items(final["model"])
    # the training weights are those of the run without EMA (EMA does not change the optimisation)
    ref = _float_items(read_checkpoint(tmp_path / "plain" / "ae_final.pt")["model"])
    assert all(torch.equal(raw[k], ref[k]) for k in ref)
    # the stored model is the average: it differs from the last training weights
    assert any(not torch.equal(raw[k], avg[k]) for k in raw)
    # and validation scored the average (the metrics differ from the plain run's)
    assert ema.stages[-1].last_metrics["mse"] != plain.stages[-1].last_metrics["mse"]
    # stage 2 of a two-stage run starts from the averaged autoencoder; its best file is export-only
    train(_config(backgrounds, tmp_path / "both"), progress=False)
    best = read_checkpoint(tmp_path / "both" / "derain_best.pt")
    assert "train_model" not in best and "psnr_rgb" in best["metrics"]


def test_average_follows_the_decay(backgrounds: Path, tmp_path: Path) -> None:
    """The first update copies the weights (w1); with decay d the second gives d * w1 + (1 - d) * w2."""
    from edgederain.train import runner as runner_mod

    seen: list[dict[str, torch.Tensor]] = []
    original = runner_mod.StageRunner._iterate

    def spy(self):
        seen.append({k: v.detach().clone() for k, v in self.model.state_dict().items() if v.is_floating_point()})
        return original(self)

    runner_mod.StageRunner._iterate = spy
    try:
        train(_config(backgrounds, tmp_path / "r", stage="ae", ae_iterations=2, ema=0.25), progress=False)
    finally:
        runner_mod.StageRunner._iterate = original
    final = read_checkpoint(tmp_path / "r" / "ae_final.pt")
    assert final["ema_updates"] == 2 and len(seen) == 2
    w1, w2, avg = seen[1], _float_items(final["train_model"]), _float_items(final["model"])
    assert any(not torch.equal(w1[k], w2[k]) for k in w2)
    for k in w2:
        torch.testing.assert_close(avg[k], 0.25 * w1[k] + 0.75 * w2[k])


@pytest.mark.parametrize("stop_after", [3, 4])  # inside stage 2 (stage 1 has 2 steps)
def test_resume_with_ema_is_bit_exact(backgrounds: Path, tmp_path: Path, stop_after: int) -> None:
    train(_config(backgrounds, tmp_path / "straight"), progress=False)
    cut = _config(backgrounds, tmp_path / "cut")
    train(cut, stop_after=stop_after, progress=False)
    train(cut, resume=True, progress=False)
    for key in ("model", "train_model"):
        a = read_checkpoint(tmp_path / "straight" / "derain_final.pt")[key]
        b = read_checkpoint(tmp_path / "cut" / "derain_final.pt")[key]
        assert all(torch.equal(a[k], b[k]) for k in a), key


def test_resume_refuses_to_switch_ema(backgrounds: Path, tmp_path: Path) -> None:
    cfg = _config(backgrounds, tmp_path / "run", ema=0.0)
    train(cfg, stop_after=1, progress=False)
    with pytest.raises(ConfigError, match="changed: ema"):
        train(cfg.replace(ema=0.9), resume=True, progress=False)


@pytest.mark.parametrize("decay", [-0.1, 1.0, 1.5])
def test_ema_decay_must_be_below_one(decay: float) -> None:
    with pytest.raises(ConfigError, match="ema is a decay"):
        TrainConfig(ema=decay)
