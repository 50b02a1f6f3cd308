"""Option errors name what the user passes: the Python keyword, and the CLI flag where there is one."""

from __future__ import annotations

import pytest

from edgederain.errors import ConfigError
from edgederain.runtime import CPUOptions, OpenVINOOptions, SessionConfig, TileConfig
from edgederain.runtime.providers import parse_provider


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"tile": 4}, r"^tile \(--tile\) must be an int >= 8 or None, got 4"),
        ({"tile": 64.0}, r"^tile \(--tile\) must be an int >= 8 or None, got 64.0"),
        ({"tile_pad": -1}, r"^tile_pad \(--tile-pad\) must be an int >= 0, got -1"),
        ({"threads": -2}, r"^threads \(--threads\) must be an int >= 0, got -2"),
        ({"threads": True}, r"^threads \(--threads\)"),
        ({"max_batch": 0}, r"^max_batch must be an int >= 1 or None, got 0"),
        ({"openvino_precision": "int4"}, r"^openvino_precision \(--precision\) must be one of f32, bf16, f16"),
        ({"provider": "rocm"}, r"unknown execution provider 'rocm' for provider \(--provider\); choose one of"),
        ({"memory_budget": 0}, r"^memory_budget must be a number of bytes"),
        ({"memory_budget": "lots"}, r"^memory_budget must be a number of bytes.*'auto' or None, got 'lots'"),
        ({"large_frames": "shrink"}, r"^large_frames must be one of tile, refuse; got 'shrink'"),
    ],
)
def test_for_provider_names_its_keywords_and_flags(kwargs, message):
    with pytest.raises(ConfigError, match=message):
        SessionConfig.for_provider(**kwargs)


@pytest.mark.parametrize(
    "build, message",
    [
        (lambda: TileConfig(tile=4), r"^tile \(--tile\) must be an int >= 8, got 4"),
        (lambda: TileConfig(pad=-1), r"^pad \(--tile-pad\) must be an int >= 0, got -1"),
        (lambda: TileConfig(batch=0), r"^batch must be an int >= 1, got 0"),
        (lambda: CPUOptions(intra_op_threads=-1), r"^intra_op_threads \(--threads\) must be an int >= 0"),
        (lambda: CPUOptions(inter_op_threads=-1), r"^inter_op_threads must be an int >= 0"),
        (lambda: OpenVINOOptions(num_threads=-1), r"^num_threads \(--threads\) must be an int >= 0"),
        (lambda: OpenVINOOptions(precision="int4"), r"precision \(--precision\) must be f32, bf16 or f16"),
        (lambda: SessionConfig(large_frames="shrink"), r"^large_frames must be one of"),
        (lambda: SessionConfig(memory_budget=True), r"^memory_budget must be a number of bytes"),
    ],
)
def test_option_classes_name_their_fields_and_flags(build, message):
    with pytest.raises(ConfigError, match=message) as info:
        build()
    assert "tile tile" not in str(info.value) and "tile pad" not in str(info.value)


def test_valid_memory_options_are_kept():
    assert SessionConfig.for_provider(memory_budget=1 << 30).memory_budget == 1 << 30
    assert SessionConfig.for_provider(memory_budget=None, large_frames="refuse").large_frames == "refuse"
    assert SessionConfig().memory_budget == "auto" and SessionConfig().large_frames == "tile"
    with pytest.raises(ConfigError, match=r"provider \(--provider\)"):
        parse_provider("gpu")
