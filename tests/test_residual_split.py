"""benchmarks/residual_split.py: the low / high band split and the two oracle bounds."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from benchmark_module import load_benchmark
from edgederain.data.pairs import find_pairs
from edgederain.io import write_image

def _pairs(root: Path, degrade) -> Path:
    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[0:64, 0:80]
    for side in ("clean", "rainy"):
        (root / side).mkdir(parents=True)
    for i in range(3):
        clean = 100 + 50 * np.sin(xx / (4.0 + i))[..., None] * np.cos(yy / 7.0)[..., None] + rng.normal(0, 10, (64, 80, 3))
        clean = np.clip(clean, 0, 255)
        write_image(root / "clean" / f"{i}.png", clean.astype(np.uint8))
        write_image(root / "rainy" / f"{i}.png", np.clip(degrade(clean, rng), 0, 255).astype(np.uint8))
    return root


def test_a_global_veil_is_low_band_and_the_affine_bound_undoes_it(tmp_path):
    mod = load_benchmark("residual_split")
    folder = _pairs(tmp_path / "veil", lambda c, rng: 0.7 * c + 60)
    r = mod.split(lambda x: x.copy(), find_pairs(folder), sigma=4.0)["mean"]
    assert r["low_share"] > 0.95
    assert r["psnr_y_global_affine"] > r["psnr_y"] + 15
    assert r["psnr_y_low_oracle"] > r["psnr_y"] + 10


def test_fine_streaks_are_high_band_and_no_global_correction_helps(tmp_path):
    mod = load_benchmark("residual_split")
    def streaks(c, rng):
        out = c.copy()
        out[:, ::3] += rng.choice([-20.0, 20.0], size=out[:, ::3].shape)  # zero-mean, thin columns
        return out
    folder = _pairs(tmp_path / "streaks", streaks)
    r = mod.split(lambda x: x.copy(), find_pairs(folder), sigma=4.0)["mean"]
    assert r["low_share"] < 0.2
    assert r["psnr_y_global_affine"] < r["psnr_y"] + 1.0


def test_cli_writes_json_with_the_machine(tmp_path):
    mod = load_benchmark("residual_split")
    folder = _pairs(tmp_path / "veil", lambda c, rng: 0.8 * c + 40)
    out = tmp_path / "split.json"
    assert mod.main(["--model", "id=identity", "--data", str(folder), "--out", str(out), "--sigma", "4"]) == 0
    data = json.loads(out.read_text())
    assert "isa" in data["machine"] or "cpu" in json.dumps(data["machine"]).lower()
    m = data["models"]["id"]["sets"]["veil"]
    assert m["count"] == 3 and 0.0 <= m["mean"]["low_share"] <= 1.0
