#!/usr/bin/env bash
# Create .venv and install edgederain with everything needed to train, export, run and test.
# The CPU build of torch is installed first so pip never pulls a multi-GB CUDA build.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$PY" -m venv .venv
.venv/bin/python -m pip install --quiet --upgrade pip
.venv/bin/python -m pip install --quiet "torch==2.13.0"
.venv/bin/python -m pip install --quiet -e ".[cpu,export,video,dev]"
.venv/bin/edgederain --version
