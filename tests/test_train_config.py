"""Training config: validation, files (TOML / JSON), CLI flags over the file."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, Optional

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


@pytest.mark.parametrize(
    "data, field, expected",
    [
        ({"ae_iterations": "fifty"}, "ae_iterations", "an integer or null"),
        ({"lr": "fast"}, "lr", "a number"),
        ({"lr": True}, "lr", "a number"),
        ({"flip": 1}, "flip", "true or false"),
        ({"stage": 2}, "stage", "one of 'both', 'ae', 'derain'"),
        ({"data": "pairs/"}, "data", "a list of strings"),
        ({"data": ["pairs/", 3]}, "data[1]", "a string"),
        ({"model": 7}, "model", "a string or a table"),
        ({"ae_checkpoint": 3}, "ae_checkpoint", "a string or null"),
        ({"milestones": [0.5, "0.75"]}, "milestones[1]", "a number"),
    ],
)
def test_wrong_types_in_a_training_config_name_field_type_and_value(data, field, expected) -> None:
    with pytest.raises(ConfigError) as info:
        TrainConfig.from_dict(data)
    value = next(iter(data.values()))
    shown = repr(value[1] if field.endswith("]") else value)
    assert str(info.value).startswith(f"training config: {field} must be {expected}, got {shown}")


def test_numbers_where_floats_are_expected_and_nulls_where_allowed_pass() -> None:
    cfg = TrainConfig.from_dict({"lr": 1, "gamma": 0.5, "ae_iterations": None, "milestones": [0.5]})
    assert cfg.lr == 1 and cfg.milestones == (0.5,) and cfg.schedule("ae") == ("epochs", 100)


def test_wrong_types_in_a_config_file_and_in_nested_configs(tmp_path: Path) -> None:
    from edgederain.model import ModelConfig
    from edgederain.data.synth import RainConfig

    p = tmp_path / "c.toml"
    p.write_text('lr = "fast"\n')
    with pytest.raises(ConfigError, match=r"training config: lr must be a number, got 'fast'"):
        load_train_config(p)
    p.write_text('model = {widths = [8, "16", 32, 64], mspam_widths = [8, 8, 16]}\n')
    with pytest.raises(ConfigError, match=r"model config: widths\[1\] must be an integer, got '16'"):
        load_train_config(p)
    with pytest.raises(ConfigError, match="model config: decoder_ca must be true or false, got 'yes'"):
        ModelConfig.from_dict({"decoder_ca": "yes"})
    layer = {"density": "dense", "length": [1, 2], "width": [1, 1], "intensity": [0.1, 0.2]}
    with pytest.raises(ConfigError, match=r"rain config: layers\[0\]\.density must be a number, got 'dense'"):
        RainConfig.from_dict({"layers": [layer]})
    with pytest.raises(ConfigError, match=r"rain config: angle must be a list of 2 \(a number, a number\)"):
        RainConfig.from_dict({"layers": [{**layer, "density": 1}], "angle": [10]})


@dataclass(frozen=True)
class Inner:
    size: int


@dataclass(frozen=True)
class Outer:
    mode: Literal["a", "b"] = "a"
    sizes: tuple[int, int] = (1, 2)
    inner: tuple[Inner, ...] = ()
    name: Optional[str] = None


def test_the_type_check_reads_any_config_dataclass() -> None:
    from edgederain.configkeys import check_known_keys

    check_known_keys(Outer, {"mode": "b", "sizes": [3, 4], "inner": [{"size": 2}], "name": None}, what="x")
    for data, match in [
        ({"mode": "c"}, "x: mode must be one of 'a', 'b', got 'c'"),
        ({"sizes": [1, 2, 3]}, r"x: sizes must be a list of 2 \(an integer, an integer\)"),
        ({"inner": [{"size": 2.5}]}, r"x: inner\[0\]\.size must be an integer, got 2\.5"),
        ({"inner": [{"sise": 2}]}, r"unknown inner keys \['sise'\] in x inner\[0\]"),
        ({"name": 5}, "x: name must be a string or null, got 5"),
    ]:
        with pytest.raises(ConfigError, match=match):
            check_known_keys(Outer, data, what="x")


def test_a_config_that_is_not_a_table_is_refused(tmp_path: Path) -> None:
    p = tmp_path / "c.json"
    p.write_text("[1, 2]")
    with pytest.raises(ConfigError, match="table of keys"):
        load_train_config(p)
