#!/usr/bin/env bash
# Reproduce the README / model card tables for a packaged model: Rain100L (all precisions), the
# fixed synthetic validation sets of scripts/make_val_sets.py (heavy, light, storm, camera; FP32 and
# INT8), Rain100L's clean images passed through (over-deraining check) and CPU latency at 480x320.
# Writes runs/<name>-eval/*.json and prints markdown tables.
# Usage: bash scripts/evaluate_default_model.sh [WEIGHTS_DIR] [RAIN100L_DIR]
#   WEIGHTS_DIR defaults to edgederain/weights (the all-weather default); edgederain/weights/lite
#   scores the lite model.
set -euo pipefail
cd "$(dirname "$0")/.."
w=${1:-edgederain/weights}
data=${2:-../shared/data/rain100l}
name=$(basename "$w"); [ "$name" = weights ] && name=default
out=runs/$name-eval
mkdir -p "$out"
ed=.venv/bin/edgederain
for s in heavy light storm camera fine; do
  [ -d "runs/val/$s" ] || { .venv/bin/python scripts/make_val_sets.py; break; }
done
$ed evaluate identity --data "$data" --json "$out/rainy.json" --no-progress
$ed evaluate "$w/derain.pt" --data "$data" --json "$out/pytorch.json" --grid "$out/grid.png" --no-progress
for p in fp32 fp16 int8; do
  $ed evaluate "$w/derain_$p.onnx" --data "$data" --json "$out/$p.json" --no-progress
done
for s in heavy light storm camera fine; do
  $ed evaluate identity --data "runs/val/$s" --json "$out/val_${s}_rainy.json" --no-progress
  for p in fp32 int8; do
    $ed evaluate "$w/derain_$p.onnx" --data "runs/val/$s" --json "$out/val_${s}_$p.json" --no-progress
  done
done
$ed evaluate "$w/derain_fp32.onnx" --data runs/val/rain100l-clean --json "$out/clean_fp32.json" --grid-count 0 --no-progress
for p in fp32 fp16 int8; do
  $ed bench "$w/derain_$p.onnx" --shape 320x480 --warmup 2 --iterations 10 --threads 2 --json "$out/bench_$p.json"
done
.venv/bin/python - "$out" <<'PY'
import json, sys
from pathlib import Path
out = Path(sys.argv[1])
load = lambda n: json.loads((out / f"{n}.json").read_text())["mean"]
print("Rain100L (100 pairs, full size)\n")
print("| model | PSNR RGB | SSIM RGB | PSNR Y | SSIM Y | CPU ms/frame 480x320 (p50) |")
print("|---|---:|---:|---:|---:|---:|")
for n in ("rainy", "pytorch", "fp32", "fp16", "int8"):
    m, bench, ms = load(n), out / f"bench_{n}.json", "-"
    if bench.exists():
        ms = f"{json.loads(bench.read_text())['onnxruntime']['latency']['p50_ms']:.0f}"
    print(f"| {n} | {m['psnr_rgb']:.2f} | {m['ssim_rgb']:.4f} | {m['psnr_y']:.2f} | {m['ssim_y']:.4f} | {ms} |")
print("\nSynthetic validation sets (17 held-out backgrounds each), PSNR Y / SSIM Y\n")
print("| set | rainy input | FP32 | INT8 | FP32 gain |")
print("|---|---:|---:|---:|---:|")
for s in ("heavy", "storm", "camera", "light", "fine"):
    r, f, i = (load(f"val_{s}_{p}") for p in ("rainy", "fp32", "int8"))
    print(f"| {s} | {r['psnr_y']:.2f} / {r['ssim_y']:.3f} | {f['psnr_y']:.2f} / {f['ssim_y']:.3f} "
          f"| {i['psnr_y']:.2f} / {i['ssim_y']:.3f} | {f['psnr_y'] - r['psnr_y']:+.2f} dB |")
c = load("clean_fp32")
print(f"\nRain100L clean images through FP32: {c['psnr_rgb']:.2f} dB RGB, {c['psnr_y']:.2f} dB Y against themselves")
PY
