"""``time_limit``: a stage ends after its minutes or its iterations, and its decays fit the minutes."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest
import torch

from edgederain.errors import ConfigError
from edgederain.train import runner as runner_mod
from edgederain.train.checkpoint import read_checkpoint
from edgederain.train.config import TrainConfig
from edgederain.train.loop import train
from train_fixtures import tiny_train_config, write_backgrounds

SECONDS_PER_STEP = 10.0


@pytest.fixture(scope="module")
def backgrounds(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_backgrounds(tmp_path_factory.mktemp("backgrounds"), 48)


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """A fake clock for the runner: every iteration takes SECONDS_PER_STEP; the learning rates seen."""
    now = [0.0]
    lrs: list[float] = []
    monkeypatch.setattr(runner_mod, "time", SimpleNamespace(perf_counter=lambda: now[0]))
    original = runner_mod.StageRunner._iterate

    def timed(self):
        lrs.append(self.optimizer.param_groups[0]["lr"])
        now[0] += SECONDS_PER_STEP
        return original(self)

    monkeypatch.setattr(runner_mod.StageRunner, "_iterate", timed)
    return lrs


def _config(backgrounds: Path, out: Path, **kw) -> TrainConfig:
    base = dict(stage="ae", ae_iterations=100, lr=1e-3, milestones=(0.5,), gamma=0.1, log_every=1)
    return tiny_train_config(backgrounds, out, **{**base, **kw})


def test_the_stage_ends_at_its_minutes_and_decays_at_their_fractions(backgrounds, tmp_path, clock) -> None:
    # one minute at 10 s a step: 6 steps of 100; the decay at half the minute, after step 3
    result = train(_config(backgrounds, tmp_path, time_limit=1.0), progress=False)
    stage = result.stages[-1]
    assert stage.completed and stage.steps == 6 and stage.total == 100
    assert clock == pytest.approx([1e-3] * 3 + [1e-4] * 3)
    final = read_checkpoint(tmp_path / "ae_final.pt")
    assert final["step"] == 6 and final["trained_seconds"] == pytest.approx(60.0)
    rows = list(csv.DictReader(open(tmp_path / "ae_log.csv")))
    assert rows[-1]["step"] == "6" and rows[-1]["val_mse"]  # the stage's end is validated
    assert float(rows[-1]["lr"]) == pytest.approx(1e-4)


def test_iterations_first_trains_as_without_a_limit(backgrounds, tmp_path, clock) -> None:
    # 5 iterations long before 1000 minutes: the step milestones (MultiStepLR's rounding) decide alone
    kw = dict(ae_iterations=5, milestones=(0.6, 0.85))
    train(_config(backgrounds, tmp_path / "limited", time_limit=1000.0, **kw), progress=False)
    limited = list(clock)
    clock.clear()
    train(_config(backgrounds, tmp_path / "plain", **kw), progress=False)
    assert limited == pytest.approx(clock) and len(clock) == 5 and clock[3] < clock[2]
    a = read_checkpoint(tmp_path / "limited" / "ae_final.pt")["model"]
    b = read_checkpoint(tmp_path / "plain" / "ae_final.pt")["model"]
    assert all(torch.equal(a[k], b[k]) for k in b)


def test_resume_keeps_the_minutes_already_trained(backgrounds, tmp_path, clock) -> None:
    cfg = _config(backgrounds, tmp_path / "resumed", time_limit=1.0)
    first = train(cfg, stop_after=4, progress=False)
    assert not first.stages[-1].completed
    assert read_checkpoint(tmp_path / "resumed" / "ae_last.pt")["trained_seconds"] == pytest.approx(40.0)
    second = train(cfg, resume=True, progress=False)
    assert second.stages[-1].steps == 6  # 20 s were left, not a fresh minute
    assert clock == pytest.approx([1e-3] * 3 + [1e-4] * 3)
    straight = _config(backgrounds, tmp_path / "straight", time_limit=1.0)
    train(straight, progress=False)
    a = read_checkpoint(tmp_path / "resumed" / "ae_final.pt")["model"]
    b = read_checkpoint(tmp_path / "straight" / "ae_final.pt")["model"]
    assert all(torch.equal(a[k], b[k]) for k in b)


@pytest.mark.parametrize("minutes", [-1.0, float("nan"), float("inf")])
def test_time_limit_must_be_finite_minutes(minutes: float) -> None:
    with pytest.raises(ConfigError, match="time_limit"):
        TrainConfig(time_limit=minutes)


def test_cli_time_limit_stops_a_long_schedule(backgrounds, tmp_path) -> None:
    out = tmp_path / "cli"
    config = tmp_path / "tiny.json"
    config.write_text(json.dumps(_config(backgrounds, out, ae_iterations=500).to_dict()))
    cmd = [sys.executable, "-m", "edgederain", "train", "--config", str(config), "--time-limit", "0.0001",
           "--no-progress"]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    final = read_checkpoint(out / "ae_final.pt")
    assert final["step"] == 1 and final["total"] == 500  # 6 ms is over after the first step


def test_an_interrupt_inside_the_weight_update_waits_for_the_step_to_end(backgrounds, tmp_path, monkeypatch) -> None:
    """Ctrl-C (or SIGTERM) landing between the optimizer step and the step count still leaves a
    checkpoint, at the step just finished, and the resumed run ends where an unbroken one does."""
    import signal

    scheduler_step = torch.optim.lr_scheduler.MultiStepLR.step
    fired = []

    def interrupted_mid_update(self, *args, **kwargs):
        if self.last_epoch == 2 and not fired:  # the third training step, weights already updated
            fired.append(True)
            signal.raise_signal(signal.SIGINT)
        return scheduler_step(self, *args, **kwargs)

    monkeypatch.setattr(torch.optim.lr_scheduler.MultiStepLR, "step", interrupted_mid_update)
    config = _config(backgrounds, tmp_path / "cut", ae_iterations=6)
    with pytest.raises(KeyboardInterrupt):
        train(config, progress=False)
    assert fired
    last = read_checkpoint(tmp_path / "cut" / "ae_last.pt")
    assert last["step"] == 3 and last["scheduler"]["last_epoch"] == 3
    train(config, resume=True, progress=False)
    train(_config(backgrounds, tmp_path / "whole", ae_iterations=6), progress=False)
    a = read_checkpoint(tmp_path / "cut" / "ae_final.pt")["model"]
    b = read_checkpoint(tmp_path / "whole" / "ae_final.pt")["model"]
    assert all(torch.equal(a[k], b[k]) for k in b)


def test_sigterm_stops_a_run_with_a_checkpoint_and_resume_continues(backgrounds, tmp_path) -> None:
    """kill / a scheduler's stop: the loop saves its last checkpoint, as on Ctrl-C."""
    import signal
    import time

    out = tmp_path / "term"
    config = tmp_path / "long.json"
    config.write_text(json.dumps(_config(backgrounds, out, ae_iterations=100000).to_dict()))
    cmd = [sys.executable, "-m", "edgederain", "train", "--config", str(config), "--no-progress"]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    log = out / "ae_log.csv"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and proc.poll() is None:
        if log.is_file() and len(log.read_text().splitlines()) > 3:  # a few steps trained
            break
        time.sleep(0.05)
    assert proc.poll() is None and len(log.read_text().splitlines()) > 3, "training never got going"
    proc.send_signal(signal.SIGTERM)
    stdout, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 143, (stdout, stderr)
    assert "stopped by SIGTERM" in stdout and "--resume" in stdout
    step = read_checkpoint(out / "ae_last.pt")["step"]
    assert 2 < step < 100000
    again = [*cmd, "--resume", "--time-limit", "0.0001"]
    refused = subprocess.run(again, capture_output=True, text=True, timeout=120)
    assert refused.returncode != 0 and "time_limit" in refused.stderr + refused.stdout  # settings are the run's
