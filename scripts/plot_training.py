"""Plot validation PSNR (Y) against training step, per rain preset, from a run's derain_log.csv.

    .venv/bin/python scripts/plot_training.py docs/training-logs/all-weather-2 --step-offset 2200 \
        --out docs/img/training_curves.png

Reads every ``val_psnr_y_<preset>`` column (and its ``val_input_psnr_y_<preset>`` reference) of
``<run>/derain_log.csv``; several runs may be given (each its own line style). Needs matplotlib
(the ``docs`` extra). The logs of the packaged model's training segments that were kept are
committed under ``docs/training-logs/``.
"""

from __future__ import annotations

import argparse
import csv
import json
import math
from pathlib import Path


def _read(run: Path) -> dict[str, list[tuple[int, float]]]:
    series: dict[str, list[tuple[int, float]]] = {}
    with (run / "derain_log.csv").open(newline="") as f:
        for row in csv.DictReader(f):
            for key, value in row.items():
                if key.startswith(("val_psnr_y_", "val_input_psnr_y_")) and value:
                    if math.isfinite(float(value)):  # a rain-free preset's input is infinitely close
                        series.setdefault(key, []).append((int(row["step"]), float(value)))
    if not series:
        raise SystemExit(f"{run}/derain_log.csv has no per-preset validation columns (set val_rain)")
    return series


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("runs", nargs="+", type=Path)
    ap.add_argument("--out", type=Path, default=Path("docs/img/training_curves.png"))
    ap.add_argument("--step-offset", type=int, nargs="*", default=[],
                    help="Steps already trained before each run (e.g. the packaged model's).")
    args = ap.parse_args()
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4), dpi=110)
    for k, run in enumerate(args.runs):
        offset = args.step_offset[k] if k < len(args.step_offset) else 0
        for key, points in sorted(_read(run).items()):
            preset = key.rsplit("_", 1)[-1]
            steps, values = zip(*points)
            steps = [s + offset for s in steps]
            if key.startswith("val_input"):
                ax.plot(steps, values, ":", color="grey", linewidth=1)
                ax.annotate(f"{preset} input", (steps[-1], values[-1]), fontsize=7, color="grey")
            else:
                ax.plot(steps, values, "-o", markersize=3, label=f"{run.name}: {preset}")
    crops = sorted({(c.get("batch_size"), c.get("crop")) for c in
                    (json.loads((r / "config.json").read_text()) for r in args.runs if (r / "config.json").is_file())})
    what = ", ".join(f"batch {b} of {c} x {c}" for b, c in crops) or "batch 4 of 96 x 96"
    ax.set_xlabel(f"stage-2 step ({what})")
    ax.set_ylabel("validation PSNR, Y (dB)")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="center left", bbox_to_anchor=(1.01, 0.5))
    fig.tight_layout()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(args.out, bbox_inches="tight")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
