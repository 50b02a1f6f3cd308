"""Benchmark core and ``edgederain bench``: statistics, records, JSON (no timing assertions)."""

from __future__ import annotations

import json

import numpy as np
import pytest
from runtime_fixtures import blur_model  # noqa: F401
from typer.testing import CliRunner

from edgederain.bench import BenchConfig, LatencyStats, json_ready, make_frames, run_benchmark, time_calls
from edgederain.cli import app
from edgederain.errors import ConfigError
from edgederain.runtime import SessionConfig


def test_latency_stats_from_known_samples():
    stats = LatencyStats.from_samples([0.001 * i for i in range(1, 101)], batch=2)
    assert stats.runs == 100 and stats.min_ms == pytest.approx(1.0) and stats.max_ms == pytest.approx(100.0)
    assert stats.p50_ms == pytest.approx(50.5) and stats.p99_ms == pytest.approx(99.01)
    assert stats.p50_ms <= stats.p90_ms <= stats.p95_ms <= stats.p99_ms <= stats.max_ms
    assert stats.throughput_fps == pytest.approx(200 / 5.05)


def test_bench_config_validation():
    with pytest.raises(ConfigError, match="exactly one"):
        BenchConfig(iterations=None)
    with pytest.raises(ConfigError, match="exactly one"):
        BenchConfig(iterations=5, duration_s=1.0)
    with pytest.raises(ConfigError):
        BenchConfig(shape=(0, 10))


def test_frames_are_deterministic_uint8():
    a, b = make_frames(BenchConfig(shape=(16, 24), batch=2)), make_frames(BenchConfig(shape=(16, 24), batch=2))
    assert a.shape == (2, 16, 24, 3) and a.dtype == np.uint8
    np.testing.assert_array_equal(a, b)


def test_time_calls_counts_warmup_and_iterations():
    calls = []
    samples = time_calls(lambda: calls.append(1), BenchConfig(warmup=2, iterations=5))
    assert len(samples) == 5 and len(calls) == 7
    assert len(time_calls(lambda: None, BenchConfig(warmup=0, iterations=None, duration_s=0.01))) >= 1


def test_run_benchmark_records_everything(blur_model):
    cfg = BenchConfig(shape=(32, 48), batch=2, warmup=1, iterations=4)
    result = run_benchmark(blur_model, SessionConfig.for_provider("cpu", threads=1), cfg)
    d = result.to_dict()
    assert d["shape"] == (32, 48) and d["batch"] == 2 and d["precision"] == "fp32"
    o = d["onnxruntime"]
    assert o["latency"]["runs"] == 4 and o["setup_s"] > 0 and o["first_run_s"] > 0
    assert o["details"]["active"] == ["CPUExecutionProvider"] and o["details"]["threads"] == 1
    assert o["peak_rss_mb"] >= d["rss_before_mb"] > 0
    assert d["torch"] is None and d["ratio_onnxruntime_to_torch_p50"] is None
    assert "onnxruntime" in d["versions"] and d["machine"]["logical_cpus"] >= 1


def test_bench_cli_writes_json(blur_model, tmp_path):
    out = tmp_path / "b" / "bench.json"
    r = CliRunner().invoke(app, ["bench", str(blur_model), "--shape", "24x40", "--duration", "0.05",
                                 "--warmup", "1", "--threads", "1", "--json", str(out)])
    assert r.exit_code == 0, r.output
    assert "p99" in r.output and "peak RSS" in r.output
    data = json.loads(out.read_text())
    assert data["shape"] == [24, 40] and data["onnxruntime"]["latency"]["runs"] >= 1


def test_bench_cli_errors(blur_model):
    r = CliRunner().invoke(app, ["bench", str(blur_model), "--shape", "big"])
    assert r.exit_code == 2 and "320x480" in r.output
    r = CliRunner().invoke(app, ["bench", str(blur_model), "-n", "3", "--duration", "1"])
    assert r.exit_code == 2 and "not both" in r.output


def test_json_ready_turns_infinities_into_strings():
    assert json_ready({"a": [float("inf"), 1.0], "b": (2, float("nan"))}) == {"a": ["inf", 1.0], "b": [2, "nan"]}
