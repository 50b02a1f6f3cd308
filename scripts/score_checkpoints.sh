#!/usr/bin/env bash
# Score training checkpoints side by side before one is packaged: Y-PSNR / SSIM Y (PyTorch, FP32)
# on Rain100L, the fixed synthetic validation sets of scripts/make_val_sets.py and Rain100L's clean
# images passed through (over-deraining). Writes runs/score/<label>/*.json and prints one table.
# Usage: bash scripts/score_checkpoints.sh LABEL=CHECKPOINT [LABEL=CHECKPOINT ...]
#   bash scripts/score_checkpoints.sh shipped=edgederain/weights/derain.pt a=runs/all-weather-5/derain_best.pt
set -euo pipefail
cd "$(dirname "$0")/.."
[ $# -ge 1 ] || { echo "usage: score_checkpoints.sh LABEL=CHECKPOINT [...]" >&2; exit 2; }
ed=.venv/bin/edgederain
sets="heavy storm light camera fine"
for s in $sets rain100l-clean; do
  [ -d "runs/val/$s" ] || { .venv/bin/python scripts/make_val_sets.py; break; }
done
labels=()
for arg in "$@"; do
  label=${arg%%=*}; ckpt=${arg#*=}
  [ -f "$ckpt" ] || { echo "no checkpoint $ckpt" >&2; exit 2; }
  out=runs/score/$label; mkdir -p "$out"; labels+=("$label")
  $ed evaluate "$ckpt" --data ../shared/data/rain100l --json "$out/rain100l.json" --grid-count 0 --no-progress
  for s in $sets rain100l-clean; do
    $ed evaluate "$ckpt" --data "runs/val/$s" --json "$out/$s.json" --grid-count 0 --no-progress
  done
done
.venv/bin/python - "${labels[@]}" <<'PY'
import json, sys
from pathlib import Path
sets = ["rain100l", "heavy", "storm", "light", "camera", "fine", "rain100l-clean"]
print("| checkpoint | " + " | ".join(sets) + " |")
print("|---|" + "---:|" * len(sets))
for label in sys.argv[1:]:
    cells = []
    for s in sets:
        m = json.loads((Path("runs/score") / label / f"{s}.json").read_text())["mean"]
        cells.append(f"{m['psnr_y']:.2f} / {m['ssim_y']:.3f}")
    print(f"| {label} | " + " | ".join(cells) + " |")
PY
