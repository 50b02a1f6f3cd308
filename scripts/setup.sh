#!/usr/bin/env bash
# Create .venv and install edgederain with everything needed to train, export, run and test.
#
# torch comes first, as the CPU build of 2.13.0, so that pip never pulls a multi-GB CUDA build:
# - With TORCH_INDEX_URL set, torch is installed from that index (a mirror, or a CUDA build on
#   purpose, e.g. https://download.pytorch.org/whl/cu128).
# - Otherwise pip is first asked (a dry run, metadata only) which build `torch==2.13.0` resolves
#   to with your pip configuration. On Linux x86_64 the public PyPI's torch wheel is the CUDA
#   build (it pulls several GB of nvidia-* packages); in that case torch comes from PyTorch's CPU
#   index, https://download.pytorch.org/whl/cpu (the build named 2.13.0+cpu), and everything
#   else from your usual index. Where the configured index already serves the CPU build (a local
#   wheel folder or mirror, as on this project's CI machines) or only CPU builds exist (macOS,
#   Windows, Linux aarch64), torch==2.13.0 is installed from it unchanged.
#
# Usage: bash scripts/setup.sh [--dry-run]
#   --dry-run   print the commands instead of running them (the dry-run query of pip still runs)
# Environment: PYTHON (interpreter for a new venv, default python3), VENV (default .venv),
#   TORCH_INDEX_URL (see above).
set -euo pipefail

TORCH_VERSION=2.13.0
CPU_INDEX=https://download.pytorch.org/whl/cpu
DRY_RUN=0
for arg in "$@"; do
    case "$arg" in
        --dry-run) DRY_RUN=1 ;;
        -h | --help) awk 'NR > 1 && /^#/ { print; next } NR > 1 { exit }' "$0"; exit 0 ;;
        *) echo "setup.sh: unknown argument '$arg' (usage: bash scripts/setup.sh [--dry-run])" >&2; exit 2 ;;
    esac
done
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
VENV=${VENV:-.venv}
VPY="$VENV/bin/python"

run() {  # run a command, or print it with --dry-run (arguments with special characters quoted)
    if [ "$DRY_RUN" = 1 ]; then
        local out="" a
        for a in "$@"; do
            if [[ "$a" =~ ^[A-Za-z0-9_./:=+@%-]+$ ]]; then out+=" $a"; else out+=" '$a'"; fi
        done
        echo "${out# }"
    else
        "$@"
    fi
}

# Prints "cuda" or "cpu": which torch build pip would install as configured; nothing if unknown.
torch_build() {
    local py=$1
    "$py" -m pip install --dry-run --no-deps --ignore-installed --quiet --report - \
        "torch==$TORCH_VERSION" 2>/dev/null | "$py" -c '
import json, sys
report = json.load(sys.stdin)
meta = report["install"][0]["metadata"]
cuda = any(r.startswith("nvidia-") for r in meta.get("requires_dist") or [])
print("cuda" if cuda else "cpu")
' 2>/dev/null || true
}

[ -x "$VPY" ] || run "$PY" -m venv "$VENV"
run "$VPY" -m pip install --quiet --upgrade pip

torch_args=()
if [ -n "${TORCH_INDEX_URL:-}" ]; then
    torch_args=(--index-url "$TORCH_INDEX_URL")
    echo "setup.sh: torch from $TORCH_INDEX_URL (TORCH_INDEX_URL)" >&2
else
    probe_py="$VPY"
    [ -x "$probe_py" ] || probe_py="$PY"
    case "$(torch_build "$probe_py")" in
        cuda)
            torch_args=(--index-url "$CPU_INDEX")
            echo "setup.sh: the configured index offers torch $TORCH_VERSION as a CUDA build;" \
                "installing the CPU build from $CPU_INDEX (set TORCH_INDEX_URL to choose)" >&2 ;;
        cpu) ;;
        *)
            echo "setup.sh: could not ask pip which torch build it would install; installing" \
                "torch==$TORCH_VERSION from the configured index (set TORCH_INDEX_URL=$CPU_INDEX" \
                "to force the CPU build)" >&2 ;;
    esac
fi
run "$VPY" -m pip install --quiet ${torch_args[@]+"${torch_args[@]}"} "torch==$TORCH_VERSION"
run "$VPY" -m pip install --quiet -e ".[cpu,export,video,ray,openvino,docs,dev]"
run "$VENV/bin/edgederain" --version
