#!/usr/bin/env bash
# Carry the onnxruntime-gpu wheel (~256 MB) to the GPU machine in chunks, reassemble and install it
# there (the GPU machine has torch with CUDA 13, onnx and a CPU-only onnxruntime, and no internet).
#
#   bash benchmarks/gpu_wheel.sh split     # here: pip download (cp312, manylinux) + split into
#                                          # runs/gpu_wheel/part-NN (CHUNK bytes each, default 25M)
#                                          # and runs/gpu_wheel/manifest.txt (name, sha256, parts)
#   bash benchmarks/gpu_wheel.sh stash     # there, once per call: copy the parts this call carried
#                                          # to $STASH (default /tmp/edgederain-ortgpu, kept while
#                                          # the machine stays warm); checks python3's version
#                                          # against the wheel's tag first
#   bash benchmarks/gpu_wheel.sh install   # there: cat the parts, check the sha256, pip install
#                                          # --no-deps --no-index --target $STASH/site; prints the
#                                          # PYTHONPATH to use (gpu_check.sh does this itself)
#
# Exact device calls (the run tool; the working tree plus what `carry` names must stay under
# 64 MiB per call, so CHUNK is what the tree leaves; consecutive calls, the machine is
# given back after ~30 s idle and then the stash is lost):
#   1..N-1:  run(carry=["runs/gpu_wheel/part-00", "runs/gpu_wheel/manifest.txt"],
#                command="bash benchmarks/gpu_wheel.sh stash")           # part-01, part-02, ...
#   N:       run(carry=["runs/gpu_wheel/part-NN", "runs/gpu_wheel/manifest.txt",
#                       "runs/gpu_check/frames.npz"],
#                command="bash benchmarks/gpu_wheel.sh stash && bash benchmarks/gpu_check.sh",
#                timeout_s=540)
#   (frames.npz: `.venv/bin/python benchmarks/gpu_check.py --prepare` here, 8 Rain100L pairs.)
# Size budget: the tracked tree is 55 MB (53 MiB) since the retired `light` model's files left it
# (it was 90 MB before, over the 64 MiB a call may carry, so no call could start). That leaves about
# 11 MiB a call: frames.npz (5.4 MB) and a wheel chunk of CHUNK=5M with a margin, i.e. some 50 calls
# for the whole wheel, more device time than a session is lent; so the GPU check's PyTorch CUDA part
# is what fits, and the ORT CUDA part needs a smaller tree or a larger carry limit. Measure with
#   git ls-files -z | xargs -0 du -cb | tail -1
# and set CHUNK to 64 MiB minus that, minus the manifest and frames.npz, with a margin.
# 1.31.1 for cp312 is 255.6 MB: 10 parts at CHUNK=25M.
# Never commit the wheel or its parts (runs/ is ignored).
set -euo pipefail
cd "$(dirname "$0")/.."
dir=${WHEEL_DIR:-runs/gpu_wheel}
stash=${STASH:-/tmp/edgederain-ortgpu}
py=${PYTHON:-python3}
cmd=${1:?usage: gpu_wheel.sh split|stash|install}

wheel_name() { sed -n 's/^wheel //p' "$1"; }

case "$cmd" in
split)
  mkdir -p "$dir/dl"
  if [ -z "${WHEEL:-}" ]; then
    ls "$dir"/dl/onnxruntime_gpu-*.whl >/dev/null 2>&1 || ${PIP:-.venv/bin/python -m pip} download --no-deps \
      --only-binary=:all: --python-version "${PYVER:-3.12}" --implementation cp \
      --platform manylinux_2_28_x86_64 --platform manylinux_2_27_x86_64 \
      --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 \
      -d "$dir/dl" "onnxruntime-gpu${ORT_VERSION:+==$ORT_VERSION}"
    WHEEL=$(ls "$dir"/dl/onnxruntime_gpu-*.whl | tail -1)
  fi
  rm -f "$dir"/part-*
  split -b "${CHUNK:-25M}" -d -a 2 "$WHEEL" "$dir/part-"
  parts=$(ls "$dir"/part-* | wc -l)
  { echo "wheel $(basename "$WHEEL")"; echo "sha256 $(sha256sum "$WHEEL" | cut -d' ' -f1)"; echo "parts $parts"; } > "$dir/manifest.txt"
  cat "$dir/manifest.txt"; ls -l "$dir"/part-*
  ;;
stash)
  [ -f "$dir/manifest.txt" ] || { echo "no $dir/manifest.txt: carry it with each part" >&2; exit 2; }
  tag=$(wheel_name "$dir/manifest.txt" | sed -n 's/.*-\(cp[0-9]*\)-cp[0-9]*-.*/\1/p')
  have=$($py -c 'import sys; print(f"cp{sys.version_info[0]}{sys.version_info[1]}")')
  if [ -n "$tag" ] && [ "$tag" != "$have" ]; then
    echo "the wheel is for $tag but $py is $have: run split again with PYVER=${have#cp3}" >&2; exit 3
  fi
  mkdir -p "$stash"
  cp "$dir/manifest.txt" "$stash/"
  found=0
  for p in "$dir"/part-*; do [ -f "$p" ] && cp "$p" "$stash/" && found=$((found + 1)); done
  echo "stashed $found part(s); $stash holds $(ls "$stash"/part-* 2>/dev/null | wc -l) of $(sed -n 's/^parts //p' "$stash/manifest.txt")"
  ;;
install)
  [ -f "$stash/manifest.txt" ] || { echo "nothing stashed in $stash (run stash first)" >&2; exit 2; }
  want=$(sed -n 's/^parts //p' "$stash/manifest.txt")
  have=$(ls "$stash"/part-* 2>/dev/null | wc -l)
  [ "$have" -eq "$want" ] || { echo "$stash holds $have of $want parts; carry the missing ones" >&2; exit 4; }
  name=$(wheel_name "$stash/manifest.txt")
  cat "$stash"/part-* > "$stash/$name"
  sum=$(sha256sum "$stash/$name" | cut -d' ' -f1)
  [ "$sum" = "$(sed -n 's/^sha256 //p' "$stash/manifest.txt")" ] || { echo "sha256 mismatch for $name" >&2; exit 5; }
  $py -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target "$stash/site" "$stash/$name"
  echo "installed $name into $stash/site; export PYTHONPATH=$stash/site:\$PYTHONPATH"
  ;;
*) echo "unknown command $cmd; use split, stash or install" >&2; exit 2 ;;
esac
