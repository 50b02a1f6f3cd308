#!/usr/bin/env bash
# The GPU check: everything that needs a GPU, in one call, JSON into $OUT (or runs/gpu_check/out).
#
#   bash benchmarks/gpu_check.sh             # on the GPU machine (python3 with torch + CUDA)
#   bash benchmarks/gpu_check.sh --dry-run   # here / in CI: the same code on the CPU, small frames
#
# On the GPU machine: installs onnxruntime-gpu from the parts stashed by benchmarks/gpu_wheel.sh
# (see its header for the exact device calls) into $STASH/site and puts it first on PYTHONPATH,
# points LD_LIBRARY_PATH at the nvidia-* CUDA 13 libraries (cuDNN, cuBLAS, ...) that its torch
# ships, then runs benchmarks/gpu_check.py (sections, JSON fields: its docstring). Without the
# wheel it still runs the torch sections; the ORT CUDA sections then record why they failed.
# Extra arguments go to gpu_check.py (e.g. --iterations 100, --sections torch_eager).
set -uo pipefail
cd "$(dirname "$0")/.."
out=${OUT:-runs/gpu_check/out}
mkdir -p "$out"
if [ "${1:-}" = "--dry-run" ]; then
  shift
  exec "${PYTHON:-.venv/bin/python}" benchmarks/gpu_check.py --dry-run --out "$out" "$@"
fi
py=${PYTHON:-python3}
stash=${STASH:-/tmp/edgederain-ortgpu}
if [ -f "$stash/manifest.txt" ]; then
  bash benchmarks/gpu_wheel.sh install 2>&1 | tee "$out/wheel_install.log" || echo "onnxruntime-gpu install failed" >&2
fi
[ -d "$stash/site" ] && export PYTHONPATH="$stash/site:${PYTHONPATH:-}"
nvlibs=$($py - <<'PY'
import glob, os, site, sys
roots = site.getsitepackages() + [site.getusersitepackages()]
libs = sorted({os.path.dirname(p) for r in roots for p in glob.glob(os.path.join(r, "nvidia", "**", "lib*.so*"), recursive=True)})
print(":".join(libs))
PY
)
export LD_LIBRARY_PATH="${nvlibs}${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
export PYTHONPATH="$PWD:${PYTHONPATH:-}" PYTHONUNBUFFERED=1
nvidia-smi 2>&1 | head -15 > "$out/nvidia_smi.txt" || true
"$py" benchmarks/gpu_check.py --out "$out" "$@" 2>&1 | tee "$out/gpu_check.log"
exit "${PIPESTATUS[0]}"
