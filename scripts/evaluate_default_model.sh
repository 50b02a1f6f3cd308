#!/usr/bin/env bash
# Reproduce the README's Rain100L table and CPU latencies for the packaged default model.
# Writes runs/default-eval/*.json (per precision) and prints a markdown table.
# Usage: bash scripts/evaluate_default_model.sh [DATA_DIR]   (default ../shared/data/rain100l)
set -euo pipefail
cd "$(dirname "$0")/.."
data=${1:-../shared/data/rain100l}
w=edgederain/weights
out=runs/default-eval
mkdir -p "$out"
ed=.venv/bin/edgederain
$ed evaluate identity --data "$data" --json "$out/rainy.json" --no-progress
$ed evaluate "$w/derain.pt" --data "$data" --json "$out/pytorch.json" --grid "$out/grid.png" --no-progress
for p in fp32 fp16 int8; do
  $ed evaluate "$w/derain_$p.onnx" --data "$data" --json "$out/$p.json" --no-progress
  $ed bench "$w/derain_$p.onnx" --shape 320x480 --warmup 2 --iterations 10 --threads 2 --json "$out/bench_$p.json"
done
.venv/bin/python - "$out" <<'PY'
import json, sys
from pathlib import Path
out = Path(sys.argv[1])
print("| model | PSNR RGB | SSIM RGB | PSNR Y | SSIM Y | CPU ms/frame 480x320 (p50) |")
print("|---|---:|---:|---:|---:|---:|")
for name in ("rainy", "pytorch", "fp32", "fp16", "int8"):
    m = json.loads((out / f"{name}.json").read_text())["mean"]
    bench = out / f"bench_{name}.json"
    ms = "-"
    if bench.exists():
        b = json.loads(bench.read_text())
        ms = f"{b['onnxruntime']['latency']['p50_ms']:.0f}"
    print(f"| {name} | {m['psnr_rgb']:.2f} | {m['ssim_rgb']:.4f} | {m['psnr_y']:.2f} | {m['ssim_y']:.4f} | {ms} |")
PY
