"""CLI: synth writes a paired set the loaders read; train runs from a config file plus flags."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from typer.testing import CliRunner

from edgederain.cli import app
from edgederain.io import read_rgb, write_image
from edgederain.data.pairs import find_pairs, load_pair


def _backgrounds(folder: Path) -> Path:
    folder.mkdir()
    rng = np.random.default_rng(1)
    for i in range(3):
        write_image(folder / f"b{i}.png", rng.integers(30, 180, (64, 80, 3), dtype=np.uint8))
    return folder


def test_synth_writes_pairs(tmp_path: Path) -> None:
    bgs = _backgrounds(tmp_path / "bg")
    out = tmp_path / "set"
    result = CliRunner().invoke(app, ["synth", str(bgs), "--out", str(out), "--copies", "2", "--seed", "4"])
    assert result.exit_code == 0, result.output
    pairs = find_pairs(out)
    assert len(pairs) == 6 and {p.clean.name for p in pairs} == {"b0.png", "b1.png", "b2.png"}
    rainy, clean = load_pair(pairs[0])
    assert (rainy >= clean).all() and (rainy > clean).any()
    assert np.array_equal(clean, read_rgb(bgs / "b0.png"))


def test_train_from_config_and_flags(tmp_path: Path) -> None:
    bgs = _backgrounds(tmp_path / "bg")
    cfg = tmp_path / "c.toml"
    cfg.write_text(
        f'model = "tiny"\nbackgrounds = ["{bgs}"]\ncrop = 32\nval_crop = 32\nval_count = 2\n'
        "holdout_every = 3\nthreads = 1\nae_epochs = 50\n"
    )
    out = tmp_path / "run"
    args = ["train", "--config", str(cfg), "--out", str(out), "--ae-iterations", "2",
            "--derain-iterations", "2", "--no-progress"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "derain: done at step 2/2" in result.output
    saved = json.loads((out / "config.json").read_text())
    assert saved["ae_iterations"] == 2 and saved["ae_epochs"] is None
    again = CliRunner().invoke(app, args)
    assert again.exit_code == 2 and "--resume" in again.output
    resumed = CliRunner().invoke(app, [*args, "--resume", "--workers", "1"])  # workers may change
    assert resumed.exit_code == 0 and "ae: done at step 2/2" in resumed.output
    assert json.loads((out / "config.json").read_text())["workers"] == 1


def test_train_with_a_wrong_type_in_the_config_exits_2_in_one_line(tmp_path: Path) -> None:
    cfg = tmp_path / "c.json"
    cfg.write_text(json.dumps({"model": "tiny", "ae_iterations": "fifty"}))
    out = tmp_path / "run"
    result = CliRunner().invoke(app, ["train", "--config", str(cfg), "--out", str(out), "--no-progress"])
    assert result.exit_code == 2
    assert result.output.strip() == (
        "error: training config: ae_iterations must be an integer or null, got 'fifty' (a string)")
    assert not out.exists()


def test_a_run_that_fails_before_training_leaves_no_folder_behind(tmp_path: Path) -> None:
    out = tmp_path / "runs" / "new"
    args = ["train", "--model", "tiny", "--data", str(tmp_path / "missing"), "--out", str(out),
            "--ae-iterations", "1", "--derain-iterations", "1", "--no-progress"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 2 and "missing" in result.output
    assert not (tmp_path / "runs").exists()


def test_a_failed_run_keeps_a_folder_that_existed_and_what_was_in_it(tmp_path: Path) -> None:
    out = tmp_path / "mine"
    out.mkdir()
    (out / "notes.txt").write_text("keep me")
    args = ["train", "--model", "tiny", "--data", str(tmp_path / "missing"), "--out", str(out),
            "--ae-iterations", "1", "--derain-iterations", "1", "--no-progress"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 2
    assert sorted(p.name for p in out.iterdir()) == ["notes.txt"]
