"""Synthetic-rain statistics per preset beside Rain100L's (rainy - clean), written as JSON.

For each pair the rain layer D = rainy - clean (8-bit levels, max over RGB) is summarised by:
PSNR(rainy, clean) on RGB and Y; mean D; coverage (share of pixels with D >= 1, 10, 30 levels);
a histogram of D; streaks as connected components of D >= 20 levels (count per 100k pixels,
median length and width from their second moments, within-image angle spread); and the image's
dominant streak angle from the structure tensor of D. Reported as mean / p10 / p50 / p90 over
images. Synthetic rain is drawn on held-out-free backgrounds (``../shared/data/backgrounds``,
downscaled to a 480-pixel longer side, the size of Rain100L's images).

    python benchmarks/rain_stats.py --out runs/rain_stats.json [--presets light heavy] [--count 60]

Needs scipy (installed with scikit-image, the ``dev`` extra) for connected components.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
from scipy import ndimage as ndi

from edgederain.io import list_images, read_rgb
from edgederain.metrics import psnr
from edgederain.data.datasets import list_backgrounds, load_background
from edgederain.data.rain_presets import PRESETS
from edgederain.data.synth import add_rain

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "data"
BINS = [1, 2, 4, 8, 16, 32, 64, 128, 256]


def _streaks(m: np.ndarray) -> dict:
    lab, n = ndi.label(m >= 20)
    lengths, widths, angles = [], [], []
    for i, sl in enumerate(ndi.find_objects(lab), start=1):
        ys, xs = np.nonzero(lab[sl] == i)
        if len(ys) < 6:
            continue
        evals, evecs = np.linalg.eigh(np.cov(np.stack([xs, ys]).astype(float)))
        lengths.append(np.sqrt(12 * max(evals[1], 0)))
        widths.append(np.sqrt(12 * max(evals[0], 0)))
        angles.append(np.degrees(np.arctan2(evecs[0, 1], evecs[1, 1])))  # from vertical
    a = np.radians(np.array(angles) * 2)  # axial data: double the angle
    spread = np.degrees(np.sqrt(-2 * np.log(max(np.hypot(np.cos(a).mean(), np.sin(a).mean()), 1e-9))) / 2) if len(a) else 0.0
    return {
        "streaks_per_100k_px": 1e5 * len(lengths) / m.size,
        "streak_length_px": float(np.median(lengths)) if lengths else 0.0,
        "streak_width_px": float(np.median(widths)) if widths else 0.0,
        "angle_spread_deg": float(spread),
    }


def _dominant_angle(d: np.ndarray) -> float:
    gy, gx = np.gradient(d)
    jxx, jyy, jxy = (gx * gx).sum(), (gy * gy).sum(), (gx * gy).sum()
    return float(0.5 * np.degrees(np.arctan2(2 * jxy, jxx - jyy)))  # gradient dir = streak from vertical


def pair_stats(rainy: np.ndarray, clean: np.ndarray) -> dict:
    """Statistics of one rainy/clean pair (uint8 H x W x 3)."""
    d = rainy.astype(np.int16) - clean.astype(np.int16)
    m = d.max(axis=-1).clip(min=0)
    hist = np.histogram(m, bins=[0] + BINS)[0] / m.size
    return {
        "psnr_rgb": psnr(rainy, clean),
        "psnr_y": psnr(rainy, clean, y_channel=True),
        "mean_diff": float(d.mean()),
        "coverage_1": float((m >= 1).mean()),
        "coverage_10": float((m >= 10).mean()),
        "coverage_30": float((m >= 30).mean()),
        "darkened": float((d.min(axis=-1) <= -2).mean()),
        "angle_deg": _dominant_angle(d.mean(axis=-1).astype(float)),
        **_streaks(m),
        **{f"hist_{lo}_{hi}": float(h) for lo, hi, h in zip([0] + BINS, BINS, hist)},
    }


def summarise(rows: list[dict]) -> dict:
    out = {}
    for key in rows[0]:
        a = np.array([r[key] for r in rows], dtype=float)
        out[key] = {"mean": a.mean(), "p10": np.percentile(a, 10), "p50": np.median(a), "p90": np.percentile(a, 90)}
    return out


def rain100l_rows(root: Path) -> list[dict]:
    return [pair_stats(read_rgb(p), read_rgb(root / "clean" / p.name)) for p in list_images(root / "rainy")]


def preset_rows(name: str, backgrounds: list[Path], seed: int) -> list[dict]:
    rows = []
    for i, path in enumerate(backgrounds):
        clean = load_background(path, max_side=480)
        rows.append(pair_stats(add_rain(clean, config=PRESETS[name], rng=[seed, i]), clean))
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=Path("runs/rain_stats.json"))
    ap.add_argument("--presets", nargs="*", default=sorted(set(PRESETS) - {"clear"}))  # clear adds nothing
    ap.add_argument("--count", type=int, default=60, help="backgrounds per preset (evenly spaced)")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    report = {}
    if (SHARED / "rain100l" / "rainy").is_dir():
        report["rain100l"] = summarise(rain100l_rows(SHARED / "rain100l"))
    bgs = list_backgrounds([SHARED / "backgrounds"])
    picked = [bgs[int(i)] for i in np.linspace(0, len(bgs) - 1, min(args.count, len(bgs)))]
    for name in args.presets:
        report[name] = summarise(preset_rows(name, picked, args.seed))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=1))
    keys = ["psnr_rgb", "psnr_y", "mean_diff", "coverage_1", "coverage_10", "coverage_30",
            "darkened", "streaks_per_100k_px", "streak_length_px", "streak_width_px", "angle_spread_deg", "angle_deg"]
    print(f"{'stat':22s}" + "".join(f"{k:>26s}" for k in report))
    for key in keys:
        cells = "".join(
            f"{v[key]['mean']:8.2f} ({v[key]['p10']:6.2f},{v[key]['p90']:6.2f})" for v in report.values()
        )
        print(f"{key:22s}{cells}")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
