#!/usr/bin/env bash
# Build the packaged default model (edgederain/weights/) from a trained derain checkpoint:
#   1. keep only the network (and its config) from the training checkpoint;
#   2. export FP32, FP16 and INT8 ONNX files, each verified by `edgederain export`'s gates;
#      INT8 is calibrated on CamVid road frames with synthetic light rain (not on Rain100L).
# Usage: bash scripts/build_default_model.sh runs/short/derain_best.pt
set -euo pipefail
cd "$(dirname "$0")/.."
src=${1:?usage: build_default_model.sh TRAINED_CHECKPOINT}
out=edgederain/weights
mkdir -p "$out" runs/ship
.venv/bin/python - "$src" "$out/derain.pt" <<'PY'
import sys
from edgederain.train.checkpoint import load_derain_model, read_checkpoint, save_checkpoint
model, data = load_derain_model(sys.argv[1])
keep = {k: data[k] for k in ("stage", "step", "total", "metrics", "train_config") if k in data}
save_checkpoint(sys.argv[2], model, **keep)
print("wrote", sys.argv[2], "from", sys.argv[1], "keys:", sorted(read_checkpoint(sys.argv[2])))
PY
ed=.venv/bin/edgederain
$ed export "$out/derain.pt" -o "$out/derain_fp32.onnx" --json runs/ship/export_fp32.json
$ed export "$out/derain.pt" -o "$out/derain_fp16.onnx" --fp16 --json runs/ship/export_fp16.json
$ed export "$out/derain.pt" -o "$out/derain_int8.onnx" --int8 \
    --calib-data ../shared/data/backgrounds/camvid --calib-rain light --json runs/ship/export_int8.json
ls -l "$out"
