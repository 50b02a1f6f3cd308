"""Write the fixed synthetic validation sets the default model is scored on (never trained on).

Backgrounds are the ones every training run holds out (every 20th image of
``../shared/data/backgrounds`` in sorted order, ``holdout_every = 20``), downscaled to at most
480 px like the training data; rain is drawn once with a fixed seed per preset. Also writes a
"clean pass-through" set for Rain100L: its clean images as both input and target, which checks that
the model leaves rain-free images alone.

    .venv/bin/python scripts/make_val_sets.py [--out runs/val] [--presets heavy light storm camera fine]
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from edgederain.data.datasets import list_backgrounds, split_holdout
from edgederain.data.synth_folder import write_synthetic_pairs

REPO = Path(__file__).resolve().parents[1]
DATA = REPO.parent / "shared" / "data"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=REPO / "runs" / "val")
    ap.add_argument("--presets", nargs="*", default=["heavy", "light", "storm", "camera", "fine"])
    ap.add_argument("--seed", type=int, default=2026)
    args = ap.parse_args()
    _, held = split_holdout(list_backgrounds([DATA / "backgrounds"]), every=20)
    for k, preset in enumerate(args.presets):
        out = args.out / preset
        n = write_synthetic_pairs(held, out, rain=preset, max_side=480, seed=args.seed + k)
        print(f"{preset}: {n} pairs from {len(held)} held-out backgrounds -> {out}")
    clean = DATA / "rain100l" / "clean"
    if clean.is_dir():
        through = args.out / "rain100l-clean"
        through.mkdir(parents=True, exist_ok=True)
        for name in ("rainy", "clean"):
            link = through / name
            if not link.exists():
                os.symlink(clean.resolve(), link)
        print(f"rain100l-clean: clean images as input and target -> {through}")


if __name__ == "__main__":
    main()
