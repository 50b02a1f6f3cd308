"""benchmarks/attention_mul.py: the expanded form gives the broadcast form's bytes; the record."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from benchmark_module import load_benchmark


@pytest.fixture(scope="module")
def bench():
    pytest.importorskip("onnxruntime")
    return load_benchmark("attention_mul")


def test_the_graph_computes_the_quantized_product(bench) -> None:
    import onnxruntime as ort

    c, h, w = 3, 4, 5
    rng = np.random.default_rng(2)
    x = rng.integers(0, 256, (1, c, h, w), dtype=np.uint8)
    f = rng.integers(0, 256, (1, c, 1, 1), dtype=np.uint8)
    sess = ort.InferenceSession(bench.build("channel", c, h, w), providers=["CPUExecutionProvider"])
    y = sess.run(None, {"x": x, "f": f})[0]
    (sa, za), (sb, zb), (sc, zc) = bench.SCALES.values()
    want = np.clip(np.rint((x.astype(np.float64) - za) * sa * (f.astype(np.float64) - zb) * sb / sc) + zc, 0, 255)
    assert y.shape == x.shape
    assert np.abs(y.astype(int) - want.astype(int)).max() <= 1


def test_record_has_every_level_thread_count_and_form(bench, tmp_path: Path) -> None:
    out = tmp_path / "a.json"
    assert bench.main(["--rounds", "1", "--scale", "8", "--out", str(out)]) == 0
    record = json.loads(out.read_text())
    assert [(lv["shape"][0], lv["threads"]) for lv in record["levels"]] == [
        (64, 1), (64, 2), (128, 1), (128, 2), (256, 1), (256, 2)]
    for lv in record["levels"]:
        assert set(lv["median_ms"]) == set(bench.FORMS)
        assert lv["expanded_equals_broadcast"] is True
    assert "isa" in record["machine"]
