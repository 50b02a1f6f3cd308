"""The prepared GPU check: its dry run (CPU) writes every section, and the wheel chunk helper
splits, stashes part by part, refuses what is incomplete or corrupt, and installs."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SECTIONS = ("environment", "torch_eager", "ort_cuda", "fp16_numerics", "tensorrt")


def _bash(args: list[str], env: dict, cwd: Path = REPO) -> subprocess.CompletedProcess:
    return subprocess.run(["bash", *args], cwd=cwd, env={**os.environ, **env}, capture_output=True,
                          text=True, timeout=600)


def test_dry_run_writes_every_section(tmp_path):
    pytest.importorskip("torch")
    proc = _bash(["benchmarks/gpu_check.sh", "--dry-run", "--frames", str(tmp_path / "none.npz")],
                 {"OUT": str(tmp_path), "PYTHON": sys.executable})
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    record = json.loads((tmp_path / "gpu_check.json").read_text())
    assert record["dry_run"] is True
    for name in SECTIONS:
        assert "error" not in record[name], (name, record[name].get("error"))
    assert record["environment"]["machine"]["isa"]["summary"]
    thesis = record["torch_eager"]["models"]["thesis"]
    assert thesis["480x320"]["fp32"]["runs"] == 2 and thesis["480x320"]["fp16_vs_fp32"]["nan"] == 0
    assert set(record["ort_cuda"]["files"]) == {"fp32", "fp16"}
    assert record["ort_cuda"]["files"]["fp16"]["480x320_HEURISTIC_iobinding"]["median_ms"] > 0
    assert record["fp16_numerics"]["min_psnr_fp16_vs_fp32_db"] > 40
    assert "synthetic" in record["fp16_numerics"]["source"]
    assert "tried" in record["tensorrt"]


def _fake_wheel(folder: Path) -> Path:
    """A small valid pure-Python wheel standing in for onnxruntime-gpu."""
    path = folder / "onnxruntime_gpu-0.0.1-py3-none-any.whl"
    info = "onnxruntime_gpu-0.0.1.dist-info"
    files = {
        "fake_ort_gpu/__init__.py": "VALUE = 42\n" + "# padding\n" * 200,
        f"{info}/METADATA": "Metadata-Version: 2.1\nName: onnxruntime-gpu\nVersion: 0.0.1\n",
        f"{info}/WHEEL": "Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
    }
    files[f"{info}/RECORD"] = "".join(f"{name},,\n" for name in files) + f"{info}/RECORD,,\n"
    with zipfile.ZipFile(path, "w") as z:
        for name, text in files.items():
            z.writestr(name, text)
    return path


def test_wheel_is_split_carried_part_by_part_and_installed(tmp_path):
    wheel = _fake_wheel(tmp_path)
    carried, stash = tmp_path / "carried", tmp_path / "stash"
    env = {"WHEEL": str(wheel), "WHEEL_DIR": str(carried), "STASH": str(stash), "CHUNK": "400",
           "PYTHON": sys.executable}
    split = _bash(["benchmarks/gpu_wheel.sh", "split"], env)
    assert split.returncode == 0, split.stderr
    parts = sorted(carried.glob("part-*"))
    assert len(parts) >= 3 and f"parts {len(parts)}" in (carried / "manifest.txt").read_text()
    held = tmp_path / "held"
    held.mkdir()
    for p in parts:
        p.rename(held / p.name)
    for i, p in enumerate(sorted(held.iterdir())):  # one call per part: only that part travels
        (held / p.name).rename(carried / p.name)
        stashed = _bash(["benchmarks/gpu_wheel.sh", "stash"], env)
        assert stashed.returncode == 0 and f"holds {i + 1} of {len(parts)}" in stashed.stdout
        if i == 0:
            early = _bash(["benchmarks/gpu_wheel.sh", "install"], env)
            assert early.returncode == 4 and "carry the missing ones" in early.stderr
        (carried / p.name).unlink()
    done = _bash(["benchmarks/gpu_wheel.sh", "install"], env)
    assert done.returncode == 0, done.stderr
    check = subprocess.run([sys.executable, "-c", "import fake_ort_gpu; print(fake_ort_gpu.VALUE)"],
                           env={**os.environ, "PYTHONPATH": str(stash / "site")}, capture_output=True, text=True)
    assert check.stdout.strip() == "42"
    last = sorted(stash.glob("part-*"))[-1]
    last.write_bytes(b"corrupt" + last.read_bytes()[7:])
    bad = _bash(["benchmarks/gpu_wheel.sh", "install"], env)
    assert bad.returncode == 5 and "sha256 mismatch" in bad.stderr


def test_stash_refuses_a_wheel_for_another_python(tmp_path):
    carried = tmp_path / "carried"
    carried.mkdir()
    (carried / "manifest.txt").write_text(
        "wheel onnxruntime_gpu-1.0-cp39-cp39-manylinux_2_28_x86_64.whl\nsha256 x\nparts 1\n")
    env = {"WHEEL_DIR": str(carried), "STASH": str(tmp_path / "s"), "PYTHON": sys.executable}
    proc = _bash(["benchmarks/gpu_wheel.sh", "stash"], env)
    assert proc.returncode == 3 and "the wheel is for cp39" in proc.stderr and "PYVER=" in proc.stderr
