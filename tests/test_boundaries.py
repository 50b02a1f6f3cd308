"""The dependency boundary: which parts of the package may need torch, onnx or typer.

Each check runs in a fresh interpreter whose meta-path finder refuses the blocked packages
(:mod:`blocked_imports`), and imports every module of the package found on disk.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from blocked_imports import run_without

PACKAGE = Path(__file__).resolve().parents[1] / "edgederain"
ONNX = ("onnx", "onnxsim", "onnxscript", "polygraphy", "onnxconverter_common")

# Which parts of the package may need each dependency at import time (module-name prefixes).
# Every other module must import without it.
MAY_NEED = {
    "torch": ("edgederain.model", "edgederain.train", "edgederain.export"),
    "onnx": ("edgederain.export", "edgederain.calibration", "edgederain.onnxgraph"),
    "typer": ("edgederain.cli", "edgederain.commands"),
}
# The camera side, and the vocabulary every side shares: numpy and onnxruntime at most.
TORCH_FREE = (
    "edgederain", "edgederain.choices", "edgederain.contract", "edgederain.errors",
    "edgederain.configkeys", "edgederain.io", "edgederain.metrics", "edgederain.weights",
    "edgederain.runtime", "edgederain.data.pairs", "edgederain.export.data",
)

_IMPORT_ALL = """
import importlib, json, sys
failed = {{}}
for name in {modules!r}:
    try:
        importlib.import_module(name)
    except ImportError as exc:
        failed[name] = str(exc)
print(json.dumps(failed))
"""


def _modules() -> list[str]:
    names = []
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        if parts[-1] != "__main__":  # running it would start the command line
            names.append(".".join(parts[:-1] if parts[-1] == "__init__" else parts))
    return names


def _failures(blocked, modules) -> dict[str, str]:
    proc = run_without(blocked, _IMPORT_ALL.format(modules=list(modules)))
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def _allowed(module: str, prefixes) -> bool:
    return any(module == p or module.startswith(p + ".") for p in prefixes)


@pytest.mark.parametrize("dependency", sorted(MAY_NEED))
def test_only_the_allowed_subpackages_need(dependency):
    blocked = ONNX if dependency == "onnx" else (dependency,)
    failed = _failures(blocked, _modules())
    outside = {m: why for m, why in failed.items() if not _allowed(m, MAY_NEED[dependency])}
    assert outside == {}, f"these modules need {dependency} at import time: {outside}"
    assert all("blocked" in why for why in failed.values()), failed  # nothing else went wrong


def test_the_allow_list_is_not_stale():
    """Each allowed subpackage exists, and torch really is needed where it is allowed."""
    modules = set(_modules())
    for prefixes in MAY_NEED.values():
        assert all(p in modules for p in prefixes), prefixes
    failed = _failures(("torch",), ["edgederain.model", "edgederain.train.loop", "edgederain.export.onnx_export"])
    assert sorted(failed) == ["edgederain.export.onnx_export", "edgederain.model", "edgederain.train.loop"]


def test_shared_vocabulary_and_runtime_import_with_every_heavy_dependency_blocked():
    runtime = [m for m in _modules() if _allowed(m, ("edgederain.runtime",))]
    assert len(runtime) >= 10
    failed = _failures(("torch", "typer", *ONNX), [*TORCH_FREE, *runtime])
    assert failed == {}


def test_cli_imports_without_torch_onnx_or_onnxruntime_and_runs_no_command():
    proc = run_without(
        ("torch", "onnxruntime", *ONNX),
        "import sys\nimport edgederain.cli as cli\n"
        "print(sorted(m for m in ('numpy', 'PIL', 'av') if m in sys.modules), len(cli.app.registered_commands))\n",
    )
    assert proc.returncode == 0, proc.stderr
    heavy, commands = proc.stdout.split(" ", 1)[0], int(proc.stdout.rsplit(" ", 1)[1])
    assert heavy == "[]" and commands >= 10


def test_contract_metrics_and_io_work_with_torch_blocked():
    proc = run_without(
        ("torch", *ONNX),
        "import edgederain.contract, edgederain.metrics, edgederain.io\nimport numpy as np\n"
        "a = np.zeros((16, 16, 3), np.uint8)\n"
        "print(edgederain.metrics.psnr(a, a), edgederain.contract.IOContract().precision)\n",
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["inf", "fp32"]


def test_cli_help_works_without_torch_or_onnx():
    proc = run_without(("torch", "onnxruntime", *ONNX),
                       "import sys; sys.argv = ['edgederain', '--help']\nfrom edgederain.cli import run\nrun()\n")
    assert proc.returncode == 0, proc.stderr
    assert "model-info" in proc.stdout


def test_model_info_without_torch_says_which_extra_to_install():
    # torch absent as pip leaves it: ModuleNotFoundError naming the module (run_without raises a
    # plain ImportError, which the CLI rightly treats as a bug)
    code = ("import sys\nclass _Absent:\n    def find_spec(self, name, path=None, target=None):\n"
            "        if name.split('.')[0] == 'torch':\n"
            "            raise ModuleNotFoundError(f'No module named {name!r}', name=name)\n"
            "sys.meta_path.insert(0, _Absent())\n"
            "sys.argv = ['edgederain', 'model-info']\nfrom edgederain.cli import run\nrun()\n")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2
    assert "edgederain[train]" in proc.stderr


def test_the_import_graph_has_no_cycles():
    """No cycle between modules or between subpackages, counting imports inside functions too."""
    script = Path(__file__).resolve().parents[1] / "scripts" / "import_cycles.py"
    run = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stdout + run.stderr
    assert run.stdout.count(": 0 cycle group(s)") == 4, run.stdout
