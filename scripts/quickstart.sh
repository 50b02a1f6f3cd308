#!/usr/bin/env bash
# Set up .venv and run the main job end to end on rainy/clean pairs (default: Rain100L):
#   derain a folder with the packaged model, score it, export an FP16 model from the packaged
#   checkpoint (`edgederain export --fp16`, verified at export), and gate it with `verify`.
# Usage: bash scripts/quickstart.sh [PAIRED_DIR with rainy/ and clean/]
set -euo pipefail
cd "$(dirname "$0")/.."
data=${1:-../shared/data/rain100l}
out=runs/quickstart
bash scripts/setup.sh
if [ ! -d "$data/rainy" ]; then
  echo "no rainy/ + clean/ folder at $data; pass one as the first argument" >&2
  exit 2
fi
ed=.venv/bin/edgederain
mkdir -p "$out"
echo "== derain the first frames with the packaged FP32 model"
mapfile -t frames < <(ls "$data/rainy" | sort -n | head -8 | sed "s|^|$data/rainy/|")
$ed derain "${frames[@]}" -o "$out/derained"
echo "== score the packaged model (first 20 pairs)"
$ed evaluate edgederain/weights/derain_fp32.onnx --data "$data" --limit 20 \
    --json "$out/eval_fp32.json" --grid "$out/grid.png" --no-progress
echo "== export FP16 from the packaged checkpoint and gate it against PyTorch"
$ed export edgederain/weights/derain.pt -o "$out/derain_fp16.onnx" --fp16
$ed verify "$out/derain_fp16.onnx" --reference edgederain/weights/derain.pt --data "$data" \
    --limit 8 --json "$out/verify_fp16.json"
echo "done: outputs in $out"
