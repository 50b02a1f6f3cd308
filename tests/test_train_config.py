"""Training config: validation, files (TOML / JSON), CLI flags over the file."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from edgederain.errors import ConfigError
from edgederain.train.config import TrainConfig, load_train_config

REPO = Path(__file__).resolve().parents[1]


def test_defaults_are_the_thesis_settings() -> None:
    cfg = TrainConfig()
    assert (cfg.lr, cfg.batch_size, cfg.crop, cfg.grad_clip, cfg.gamma) == (1e-3, 4, 96, 5.0, 0.2)
    assert cfg.milestones == (0.25, 0.5, 0.75)
    assert cfg.schedule("ae") == ("epochs", 100) and cfg.schedule("derain") == ("epochs", 100)
    assert TrainConfig(derain_iterations=50).schedule("derain") == ("iterations", 50)


@pytest.mark.parametrize(
    "changes,match",
    [
        ({"ae_epochs": 3, "ae_iterations": 10}, "not both"),
        ({"crop": 100}, "multiple of 8"),
        ({"amp": "fp16"}, "amp must be one of"),
        ({"stage": "all"}, "stage must be one of"),
        ({"model": "huge"}, "unknown model preset"),
        ({"rain": "drizzle"}, "unknown rain preset"),
        ({"milestones": (0.5, 0.25)}, "increasing"),
        ({"backgrounds": "folder"}, "must be a list"),
        ({"batch_size": 0}, "batch_size must be > 0"),
    ],
)
def test_invalid_values_are_rejected(changes: dict, match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        TrainConfig(**changes)


def test_unknown_keys_are_rejected(tmp_path: Path) -> None:
    p = tmp_path / "c.json"
    p.write_text(json.dumps({"lr": 1e-3, "learning_rate": 1e-4}))
    with pytest.raises(ConfigError, match="learning_rate"):
        load_train_config(p)


def test_toml_file_and_model_dict(tmp_path: Path) -> None:
    p = tmp_path / "c.toml"
    p.write_text('model = {widths = [8, 16, 32, 64], mspam_widths = [8, 8, 16]}\nderain_iterations = 7\n')
    cfg = load_train_config(p)
    assert cfg.model_config().widths == (8, 16, 32, 64) and cfg.schedule("derain") == ("iterations", 7)
    resolved = cfg.resolved()
    assert Path(resolved["out_dir"]).is_absolute() and resolved["rain"]["layers"]
    with pytest.raises(ConfigError, match="cannot parse"):
        (tmp_path / "bad.toml").write_text("lr = = 3")
        load_train_config(tmp_path / "bad.toml")
    (tmp_path / "c.yaml").write_text("lr: 0.001\n")
    with pytest.raises(ConfigError, match=".toml or .json"):
        load_train_config(tmp_path / "c.yaml")


@pytest.mark.parametrize("path", sorted((REPO / "configs").glob("*.toml")))
def test_shipped_configs_load(path: Path) -> None:
    assert isinstance(load_train_config(path), TrainConfig)


def test_cli_flags_override_the_file_schedule() -> None:
    from edgederain.commands.train import _apply_flags

    base = TrainConfig(derain_iterations=100, ae_epochs=5)
    cfg = _apply_flags(base, {"derain_epochs": 2, "ae_iterations": 9, "lr": None, "amp": "bf16"})
    assert cfg.schedule("derain") == ("epochs", 2) and cfg.schedule("ae") == ("iterations", 9)
    assert cfg.amp == "bf16" and cfg.lr == 1e-3
