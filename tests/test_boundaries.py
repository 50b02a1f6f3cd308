"""The dependency boundary: shared vocabulary and the CLI's help import without torch."""

from __future__ import annotations

import subprocess
import sys

BLOCK = "import sys\nfor m in ('torch', 'onnx', 'onnxsim', 'polygraphy', 'onnxruntime'): sys.modules[m] = None\n"


def _run(code: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", BLOCK + code], capture_output=True, text=True, timeout=120)


def test_contract_metrics_and_io_import_with_torch_blocked():
    r = _run(
        "import edgederain, edgederain.contract, edgederain.metrics, edgederain.io\n"
        "import numpy as np\n"
        "a = np.zeros((16, 16, 3), np.uint8)\n"
        "print(edgederain.metrics.psnr(a, a), edgederain.contract.IOContract().precision)\n"
    )
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == ["inf", "fp32"]


def test_cli_help_works_without_torch_or_onnx():
    r = _run("import sys; sys.argv = ['edgederain', '--help']\nfrom edgederain.cli import run\nrun()\n")
    assert r.returncode == 0, r.stderr
    assert "model-info" in r.stdout


def test_model_info_without_torch_says_which_extra_to_install():
    r = _run("import sys; sys.argv = ['edgederain', 'model-info']\nfrom edgederain.cli import run\nrun()\n")
    assert r.returncode == 2
    assert "edgederain[train]" in r.stderr
