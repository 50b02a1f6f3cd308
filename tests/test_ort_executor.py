"""benchmarks/ort_executor.py: sequential vs parallel executor layouts, same outputs, JSON record."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from benchmark_module import load_benchmark
from runtime_fixtures import tiny_net_model  # noqa: F401


@pytest.fixture(scope="module")
def bench():
    return load_benchmark("ort_executor")


def test_layouts_use_the_same_cores(bench) -> None:
    two = bench.layouts(2)
    assert two["sequential"] == ("sequential", 2, 1)
    assert {spec[0] for spec in two.values()} == {"sequential", "parallel"}
    assert all(intra <= 2 and inter <= 2 for _, intra, inter in two.values())
    assert set(bench.layouts(1)) == {"sequential", "parallel intra 1 inter 1"}


def test_parallel_executor_computes_the_same_frame(bench, tiny_net_model) -> None:
    x = np.random.default_rng(1).random((1, 3, 40, 48), dtype=np.float32)
    seq = bench.make_runner(tiny_net_model, "sequential", 1, 1, x)()[0]
    par = bench.make_runner(tiny_net_model, "parallel", 1, 2, x)()[0]
    np.testing.assert_allclose(par, seq, rtol=0, atol=1e-6)


def test_record_has_every_layout_and_the_machine(bench, tiny_net_model, tmp_path: Path) -> None:
    out = tmp_path / "e.json"
    assert bench.main([f"tiny={tiny_net_model}", "--size", "32x48", "--rounds", "2", "--out", str(out)]) == 0
    record = json.loads(out.read_text())
    rows = record["results"]["tiny"]
    assert set(rows) == set(bench.layouts(2))
    assert rows["sequential"]["ratio_to_sequential"] == 1.0
    assert all(r["runs"] == 2 and r["median_ms"] > 0 for r in rows.values())
    assert "isa" in record["machine"] and "onnxruntime" in record["versions"]


def test_a_missing_file_is_a_usage_error(bench, tmp_path: Path) -> None:
    with pytest.raises(SystemExit) as exc:
        bench.main([f"x={tmp_path / 'none.onnx'}"])
    assert exc.value.code == 2
