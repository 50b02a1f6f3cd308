"""benchmarks/upsample_forms.py: the ConvTranspose form equals nearest x2 + conv; the record."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from benchmark_module import load_benchmark


@pytest.fixture(scope="module")
def bench():
    pytest.importorskip("torch")
    return load_benchmark("upsample_forms")


@pytest.mark.parametrize("hw", [(5, 7), (12, 16)])
def test_conv_transpose_form_is_the_same_function(bench, hw) -> None:
    import torch

    Up, ConvTransposeUp = bench.modules()
    torch.manual_seed(1)
    up = Up(6, 4).eval()
    x = torch.randn(2, 6, *hw)
    with torch.no_grad():
        torch.testing.assert_close(ConvTransposeUp(up)(x), up(x), rtol=0, atol=1e-5)


def test_record_has_every_level_in_both_forms(bench, tmp_path: Path) -> None:
    out = tmp_path / "u.json"
    assert bench.main(["--threads", "1", "--rounds", "1", "--scale", "10", "--out", str(out)]) == 0
    record = json.loads(out.read_text())
    assert [lv["shape"][:2] for lv in record["levels"]] == [[256, 128], [128, 64], [64, 32]]
    for lv in record["levels"]:
        assert set(lv["median_ms"]) == {"resize_conv_fp32", "resize_conv_int8", "conv_transpose_fp32",
                                        "conv_transpose_int8"}
        assert "ConvTranspose" in lv["ops"]["conv_transpose_fp32"] and "Resize" in lv["ops"]["resize_conv_fp32"]
        assert lv["torch_max_abs_diff"] < 1e-4
    assert "isa" in record["machine"]
