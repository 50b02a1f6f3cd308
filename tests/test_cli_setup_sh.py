"""``scripts/setup.sh --dry-run``: which pip commands it would run, torch's index especially.

pip itself is replaced by a stand-in venv whose ``python -m pip install --dry-run`` prints a canned
``--report``, so nothing is resolved or installed and no network is needed.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SETUP = REPO / "scripts" / "setup.sh"
CPU_INDEX = "https://download.pytorch.org/whl/cpu"

pytestmark = pytest.mark.skipif(shutil.which("bash") is None, reason="needs bash")


def _report(version: str, requires: list[str]) -> dict:
    return {"install": [{"metadata": {"name": "torch", "version": version, "requires_dist": requires}}]}


def _fake_venv(tmp_path: Path, report: dict | None) -> Path:
    """A venv whose python answers pip's dry run with ``report`` (or fails) and is Python otherwise."""
    venv = tmp_path / "venv"
    (venv / "bin").mkdir(parents=True)
    answer = tmp_path / "report.json"
    answer.write_text(json.dumps(report) if report is not None else "")
    on_query = f'cat "{answer}"; exit 0' if report is not None else "echo 'no network' >&2; exit 1"
    python = venv / "bin" / "python"
    python.write_text(
        "#!/usr/bin/env bash\n"
        f'if [ "$1 $2 $3 $4" = "-m pip install --dry-run" ]; then {on_query}; fi\n'
        f'exec "{sys.executable}" "$@"\n'
    )
    python.chmod(0o755)
    return venv


def _dry_run(venv: Path, **env: str) -> subprocess.CompletedProcess:
    full = {k: v for k, v in os.environ.items() if k != "TORCH_INDEX_URL"}
    full.update(VENV=str(venv), **env)
    return subprocess.run(["bash", str(SETUP), "--dry-run"], capture_output=True, text=True, env=full,
                          timeout=60, check=True)


def _torch_line(stdout: str) -> str:
    (line,) = [ln for ln in stdout.splitlines() if "torch==" in ln]
    return line


def test_a_cuda_build_on_the_configured_index_gets_the_cpu_index(tmp_path):
    venv = _fake_venv(tmp_path, _report("2.13.0", ["filelock", "nvidia-cublas-cu12==12.8; platform_system == 'Linux'"]))
    r = _dry_run(venv)
    assert _torch_line(r.stdout) == f"{venv}/bin/python -m pip install --quiet --index-url {CPU_INDEX} torch==2.13.0"
    assert "CUDA build" in r.stderr and CPU_INDEX in r.stderr


def test_a_configured_cpu_build_is_installed_as_before(tmp_path):
    venv = _fake_venv(tmp_path, _report("2.13.0+cpu", ["filelock", "sympy>=1.13"]))
    r = _dry_run(venv)
    assert r.stdout.splitlines() == [
        f"{venv}/bin/python -m pip install --quiet --upgrade pip",
        f"{venv}/bin/python -m pip install --quiet torch==2.13.0",
        f"{venv}/bin/python -m pip install --quiet -e '.[cpu,export,video,ray,openvino,docs,dev]'",
        f"{venv}/bin/edgederain --version",
    ]
    assert r.stderr == ""


def test_torch_index_url_wins_without_asking_pip(tmp_path):
    venv = _fake_venv(tmp_path, _report("2.13.0", ["nvidia-cublas-cu12"]))
    r = _dry_run(venv, TORCH_INDEX_URL="https://mirror.example/whl/cu128")
    assert "--index-url https://mirror.example/whl/cu128 torch==2.13.0" in _torch_line(r.stdout)


def test_when_pip_cannot_be_asked_the_configured_index_is_used_with_a_hint(tmp_path):
    venv = _fake_venv(tmp_path, None)
    r = _dry_run(venv)
    assert _torch_line(r.stdout) == f"{venv}/bin/python -m pip install --quiet torch==2.13.0"
    assert f"TORCH_INDEX_URL={CPU_INDEX}" in r.stderr


def test_unknown_arguments_are_refused(tmp_path):
    r = subprocess.run(["bash", str(SETUP), "--cuda"], capture_output=True, text=True, timeout=60)
    assert r.returncode == 2 and "--dry-run" in r.stderr
