#!/usr/bin/env bash
# Build a packaged model (the default in edgederain/weights/, or another folder) from a trained
# derain checkpoint:
#   1. keep only the network (and its config) from the training checkpoint, and the same of the
#      rain autoencoder it was trained with (the embedding target of `train --init default`;
#      "-" for a model trained without one, such as the distilled lite variant);
#   2. export FP32, FP16 and INT8 ONNX files, each verified by `edgederain export`'s gates;
#      INT8 is calibrated on CamVid road frames with synthetic all-weather rain (not on Rain100L).
#   INT8_KEEP_FLOAT (default rlcn,io,veil,stem) names the node groups the INT8 file keeps in float:
#   the stem (the full-resolution first convolutions) costs the default weights 1.8 dB on Rain100L
#   in INT8; the lite files were built with rlcn,io,veil.
# Usage: bash scripts/build_default_model.sh TRAINED_CHECKPOINT [AUTOENCODER_CHECKPOINT|-] [OUT_DIR]
#   bash scripts/build_default_model.sh runs/all-weather-3/derain_best.pt edgederain/weights/autoencoder.pt
#   bash scripts/build_default_model.sh runs/lite/derain_best.pt - edgederain/weights/lite
set -euo pipefail
cd "$(dirname "$0")/.."
src=${1:?usage: build_default_model.sh TRAINED_CHECKPOINT [AUTOENCODER_CHECKPOINT|-] [OUT_DIR]}
ae=${2:-$(dirname "$src")/ae_final.pt}
out=${3:-edgederain/weights}
name=$(basename "$out")
mkdir -p "$out" runs/ship
.venv/bin/python - "$src" "$out/derain.pt" "$ae" "$out/autoencoder.pt" <<'PY'
import sys
from edgederain.train.checkpoint import load_autoencoder, load_derain_model, read_checkpoint, save_checkpoint
keys = ("stage", "step", "total", "metrics", "train_config")
jobs = [(load_derain_model, sys.argv[1], sys.argv[2])]
if sys.argv[3] != "-":
    jobs.append((load_autoencoder, sys.argv[3], sys.argv[4]))
for load, src, dst in jobs:
    model, data = load(src)
    save_checkpoint(dst, model, **{k: data[k] for k in keys if k in data})
    print("wrote", dst, "from", src, "keys:", sorted(read_checkpoint(dst)))
PY
ed=.venv/bin/edgederain
$ed export "$out/derain.pt" -o "$out/derain_fp32.onnx" --json "runs/ship/${name}_export_fp32.json"
$ed export "$out/derain.pt" -o "$out/derain_fp16.onnx" --fp16 --json "runs/ship/${name}_export_fp16.json"
$ed export "$out/derain.pt" -o "$out/derain_int8.onnx" --int8 \
    --calib-data ../shared/data/backgrounds/camvid --calib-rain all-weather \
    --keep-float "${INT8_KEEP_FLOAT:-rlcn,io,veil,stem}" --json "runs/ship/${name}_export_int8.json"
ls -l "$out"
