"""benchmarks/ort_profile.py: ORT profiler events summed per op type, convolution work per width."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from benchmark_module import load_benchmark
from runtime_fixtures import blur_model, tiny_net_model  # noqa: F401


@pytest.fixture(scope="module")
def prof():
    return load_benchmark("ort_profile")


def _event(name: str, op: str, dur_us: float, inputs=None, outputs=None) -> dict:
    args = {"op_name": op}
    if inputs is not None:
        args.update(input_type_shape=inputs, output_type_shape=outputs)
    return {"cat": "Node", "name": f"{name}_kernel_time", "dur": dur_us, "args": args}


def test_summary_of_events_with_a_prepacked_weight(prof) -> None:
    """A fused QLinearConv lists no weight shape: it is looked up by the Conv node's name."""
    events = [
        # 2 runs; a 3x3 conv 16 -> 32 on 10 x 20 output, weight given
        _event("c1", "Conv", 3000, [{"float": [1, 16, 10, 20]}, {"float": [32, 16, 3, 3]}], [{"float": [1, 32, 10, 20]}]),
        _event("c1", "Conv", 1000, [{"float": [1, 16, 10, 20]}, {"float": [32, 16, 3, 3]}], [{"float": [1, 32, 10, 20]}]),
        # QLinearConv without its weight (prepacked), named like ORT names a fused node
        _event("node_Conv_7_token_12", "QLinearConv", 500,
               [{"uint8": [1, 10, 20, 32]}, {"float": []}, {"uint8": []}, {"float": [8]}],
               [{"uint8": [1, 10, 20, 8]}]),
        _event("relu", "Relu", 1500),
        {"cat": "Session", "name": "model_run", "dur": 99999, "args": {}},
    ]
    s = prof.summarise(events, runs=2, weights={"node_Conv_7": [8, 32, 1, 1]})
    assert s["kernel_ms_per_run"] == pytest.approx(3.0)
    assert s["ops"]["Conv"] == {"ms": 2.0, "share": pytest.approx(2 / 3, abs=1e-4), "calls_per_run": 1}
    assert s["conv_calls_unmatched"] == 0
    g32, g8 = s["conv_by_out_channels"]["32"], s["conv_by_out_channels"]["8"]
    assert g32["gmac"] == pytest.approx(32 * 10 * 20 * 16 * 9 / 1e9, rel=1e-3)
    assert g8["gmac"] == pytest.approx(8 * 10 * 20 * 32 / 1e9 / 2, rel=1e-2)  # one call in 2 runs
    assert g32["gmac_per_s"] == pytest.approx(g32["gmac"] / 2e-3, rel=1e-2)
    # a conv whose weight is nowhere is counted as unmatched, not guessed
    assert prof.summarise(events[2:3], runs=1)["conv_calls_unmatched"] == 1


def test_profiles_the_blur_graph(prof, blur_model) -> None:
    s = prof.profile_file(blur_model, (32, 48), threads=1, runs=2)
    assert s["conv_calls_unmatched"] == 0
    assert s["conv_gmac"] == pytest.approx(3 * 32 * 48 * 9 / 1e9, abs=1e-4)
    assert sum(v["share"] for v in s["ops"].values()) == pytest.approx(1.0, abs=1e-3)


def test_every_convolution_of_an_exported_net_is_matched(prof, tiny_net_model, tmp_path: Path) -> None:
    out = tmp_path / "p.json"
    assert prof.main([f"tiny={tiny_net_model}", "--size", "32x48", "--runs", "1", "--out", str(out)]) == 0
    record = json.loads(out.read_text())
    tiny = record["models"]["tiny"]
    assert tiny["conv_calls_unmatched"] == 0 and tiny["conv_gmac"] > 0 and 0 < tiny["conv_share"] <= 1
    assert record["machine"]["isa"]["vendor"] and record["threads"] == 1
