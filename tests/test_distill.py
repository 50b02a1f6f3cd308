"""Distillation in stage 2: a frozen teacher network (another preset) whose output the student matches."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
import torch

from edgederain.errors import ConfigError
from edgederain.model import build_model
from edgederain.train.checkpoint import read_checkpoint, save_checkpoint
from edgederain.train.config import TrainConfig
from edgederain.train.losses import LossWeights, derain_loss
from edgederain.train.loop import train
from train_fixtures import write_backgrounds


def _teacher(path: Path) -> Path:
    torch.manual_seed(0)
    return save_checkpoint(path, build_model("tiny").eval())


def _config(tmp_path: Path, **kw) -> TrainConfig:
    (tmp_path / "bg").mkdir()
    bgs = write_backgrounds(tmp_path / "bg", 64)
    base = dict(model="tiny", stage="derain", teacher=str(_teacher(tmp_path / "teacher.pt")),
                w_embedding=0.0, backgrounds=(str(bgs),), holdout_every=3, out_dir=str(tmp_path / "run"),
                crop=32, batch_size=2, val_count=2, val_crop=32, derain_iterations=3, val_every=3,
                checkpoint_every=3, threads=1)
    return TrainConfig(**{**base, **kw})


def _rows(run: Path) -> list[dict[str, str]]:
    with (run / "derain_log.csv").open(newline="") as f:
        return list(csv.DictReader(f))


def test_the_distillation_term_is_the_l1_distance_to_the_teacher() -> None:
    torch.manual_seed(0)
    net = build_model("tiny").eval()
    rainy, clean = torch.rand(2, 3, 32, 32), torch.rand(2, 3, 32, 32)
    out = net(rainy)
    z = out.steps[-1].embedding.detach()
    teacher = torch.rand(2, 3, 32, 32)
    plain, plain_terms = derain_loss(out, rainy, clean, z, weights=LossWeights(distill=0.0), teacher=teacher)
    with_teacher, terms = derain_loss(out, rainy, clean, z, weights=LossWeights(distill=2.0), teacher=teacher)
    l1 = float((out.image - teacher).abs().mean().detach())
    assert "distill" not in plain_terms
    assert terms["distill"] == pytest.approx(l1, rel=1e-5)
    assert float((with_teacher - plain).detach()) == pytest.approx(2.0 * l1, rel=1e-4)


def test_a_distilled_run_needs_no_autoencoder_and_logs_the_term(tmp_path: Path) -> None:
    cfg = _config(tmp_path)
    result = train(cfg, progress=False)
    assert result.stages[0].completed
    rows = _rows(Path(cfg.out_dir))
    assert all(float(r["distill"]) > 0 for r in rows if r.get("distill"))
    assert any(r.get("distill") for r in rows)
    assert read_checkpoint(Path(cfg.out_dir) / "derain_final.pt")["train_config"]["teacher"] == cfg.teacher


def test_the_teacher_pulls_the_student_towards_its_output(tmp_path: Path) -> None:
    """With only the distillation term, training lowers the student's distance to the teacher."""
    cfg = _config(tmp_path, w_image=0.0, w_attention=0.0, w_distill=1.0, derain_iterations=40, lr=3e-3,
                  val_every=40, checkpoint_every=40)
    train(cfg, progress=False)
    rows = [float(r["distill"]) for r in _rows(Path(cfg.out_dir)) if r.get("distill")]
    assert len(rows) >= 3
    assert sum(rows[-2:]) / 2 < sum(rows[:2]) / 2


def test_a_missing_teacher_file_is_refused_with_its_path(tmp_path: Path) -> None:
    cfg = _config(tmp_path, teacher=str(tmp_path / "nope.pt"))
    with pytest.raises(Exception, match="nope.pt"):
        train(cfg, progress=False)


def test_a_negative_distillation_weight_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="w_distill"):
        TrainConfig(w_distill=-1.0)
