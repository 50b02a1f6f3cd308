"""Fleet deraining on Ray Data (edgederain.fleet) on a local Ray instance of 2 CPUs.

The folder job run on Ray actors must give what the single-machine job gives: the same outputs
(pixel for pixel, same names), the corrupt file failed with the same reason, existing outputs
skipped on a rerun, and the same summary. Without Ray the package and its runtime import and the
Ray path says which extra to install.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from blocked_imports import run_without
from edgederain.derain_files import JobOptions, expand_inputs, run_job
from runtime_fixtures import blur_model  # noqa: F401

REPO = Path(__file__).resolve().parents[1]


def _ray():
    try:
        import ray
        import ray.data  # noqa: F401
    except ImportError:
        pytest.skip("Ray is not importable (install edgederain[ray]; scripts/setup.sh does)")
    return ray


@pytest.fixture(scope="module")
def ray_local():
    ray = _ray()
    started = not ray.is_initialized()
    if started:
        ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield ray
    if started:
        ray.shutdown()


@pytest.fixture()
def folder(tmp_path: Path) -> Path:
    d = tmp_path / "in"
    d.mkdir()
    rng = np.random.default_rng(0)
    for i in range(30):
        h, w = (24, 32) if i % 3 else (40, 24)
        img = Image.fromarray(rng.integers(0, 256, (h, w, 3), dtype=np.uint8))
        img.save(d / (f"f{i:02d}.png" if i % 5 else f"f{i:02d}.jpg"), quality=95)
    (d / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 40)
    return d


def test_unreachable_cluster_and_bad_pool_sizes_are_refused(tmp_path) -> None:
    import os
    import subprocess

    _ray()
    from edgederain.errors import ConfigError
    from edgederain.fleet import RayOptions

    with pytest.raises(ConfigError, match="actors and files_per_call must be >= 1"):
        RayOptions(actors=0)
    with pytest.raises(ConfigError, match="gpus_per_actor must be >= 0"):
        RayOptions(gpus_per_actor=-1)
    code = (
        "import ray\n"
        "from edgederain.fleet import _connect, RayOptions\n"
        "from edgederain.errors import ConfigError\n"
        "try:\n    _connect(ray, RayOptions(address='auto'))\n"
        "except ConfigError as e:\n    print('refused:', e)\n"
    )
    # runs before the module's local instance starts (first in the file): 'auto' finds no cluster
    env = {k: v for k, v in os.environ.items() if k != "RAY_ADDRESS"} | {"RAY_TMPDIR": str(tmp_path)}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120)
    if "Connected to Ray cluster" in done.stderr:
        pytest.skip("a Ray cluster is already running on this machine: 'auto' reaches it")
    assert "refused: cannot reach the Ray cluster at 'auto'" in done.stdout, done.stderr[-2000:]
    assert "ray start --head" in done.stdout


def _single(folder: Path, out: Path, model: Path):
    from edgederain.runtime import DerainSession

    files, _ = expand_inputs([str(folder)])
    return run_job(DerainSession(model), files, JobOptions(out))


def _key(summary):
    return sorted((Path(i.source).name, i.status, Path(i.output).name if i.output else None, i.reason)
                  for i in summary.items)


def _actor_leftovers() -> set[Path]:
    """Files the actors left in the temporary folder (model copies, staged remote files)."""
    import tempfile

    return {p for d in Path(tempfile.gettempdir()).glob("edgederain-ray-*") for p in d.rglob("*") if p.is_file()}


def test_ray_job_matches_the_single_machine_job(ray_local, folder, tmp_path, blur_model) -> None:
    from edgederain.fleet import RayOptions, derain_on_ray

    before = _actor_leftovers()
    seen = []
    out = tmp_path / "ray"
    summary = derain_on_ray([str(folder)], out, model=blur_model, ray_options=RayOptions(actors=2, progress=False),
                            on_result=seen.append, batch=2)
    reference = _single(folder, tmp_path / "single", blur_model)
    assert (summary.count("done"), summary.count("failed"), summary.count("skipped")) == (30, 1, 0)
    assert _key(summary) == _key(reference)
    [bad] = [i for i in summary.items if i.status == "failed"]
    assert bad.source == str(folder / "broken.png") and "corrupt" in bad.reason
    assert sorted(p.name for p in out.iterdir()) == sorted(p.name for p in (tmp_path / "single").iterdir())
    for p in (tmp_path / "single").iterdir():
        if p.suffix == ".png":  # lossless: the very same pixels
            assert np.array_equal(np.asarray(Image.open(p)), np.asarray(Image.open(out / p.name))), p.name
    assert [i.source for i in summary.items] == sorted((i.source for i in summary.items),
                                                       key=lambda s: [int(t) if t.isdigit() else t for t in
                                                                      __import__("re").split(r"(\d+)", s)])
    assert len(seen) == 31 and {i.source for i in seen} == {i.source for i in summary.items}
    assert not [p for p in out.iterdir() if p.name.startswith(".edgederain-")]
    assert _actor_leftovers() - before == set()  # no model copy left behind per actor


def test_rerun_skips_existing_outputs_and_overwrite_redoes_them(ray_local, folder, tmp_path, blur_model) -> None:
    from edgederain.fleet import RayOptions, derain_on_ray

    opts = RayOptions(actors=2, progress=False)
    out = tmp_path / "ray"
    derain_on_ray([str(folder)], out, model=blur_model, ray_options=opts)
    (out / "f01.png").write_bytes(b"kept")
    again = derain_on_ray([str(folder)], out, model=blur_model, ray_options=opts)
    assert (again.count("skipped"), again.count("failed"), again.count("done")) == (30, 1, 0)
    assert (out / "f01.png").read_bytes() == b"kept"  # never overwritten without --overwrite
    redo = derain_on_ray([str(folder)], out, model=blur_model, ray_options=opts, overwrite=True)
    assert redo.count("done") == 30 and Image.open(out / "f01.png").size == (32, 24)


def test_files_from_a_uri_filesystem(ray_local, folder, tmp_path, blur_model) -> None:
    """Inputs named by URI are read through pyarrow's filesystems (here file://)."""
    from edgederain.fleet import RayOptions, derain_on_ray

    out = tmp_path / "uri"
    before = _actor_leftovers()
    summary = derain_on_ray([f"file://{folder}", f"file://{tmp_path}/nowhere"], out, model=blur_model,
                            ray_options=RayOptions(actors=1, progress=False))
    assert (summary.count("done"), summary.count("failed")) == (30, 2)
    assert summary.items[0].source == f"file://{tmp_path}/nowhere" and "no such file" in summary.items[0].reason
    assert any(i.source == f"file://{folder}/broken.png" and "corrupt" in i.reason for i in summary.items)
    assert (out / "f00.jpg").is_file() and (out / "f01.png").is_file()
    assert _actor_leftovers() - before == set()  # staged copies of remote files removed


def test_cli_ray_flag(ray_local, folder, tmp_path, blur_model) -> None:
    from typer.testing import CliRunner

    from edgederain.cli import app

    out = tmp_path / "cli"
    r = CliRunner().invoke(app, ["derain", str(folder), "-o", str(out), "-m", str(blur_model), "--ray", "local",
                                 "--ray-actors", "2", "-q"])
    assert r.exit_code == 1, r.output  # one input failed, as without --ray
    assert "done 30 (30 frames), skipped 0, failed 1" in r.output and "broken.png" in r.output
    r = CliRunner().invoke(app, ["derain", str(folder), "-o", str(tmp_path / "x.png"), "-m", str(blur_model),
                                 "--ray", "local", "-q"])
    assert r.exit_code == 2 and "a Ray job writes into a folder" in r.output


def test_missing_ray_names_the_extra(folder, tmp_path, blur_model, monkeypatch) -> None:
    from typer.testing import CliRunner

    from edgederain.cli import app

    monkeypatch.setitem(sys.modules, "ray", None)  # import ray -> ImportError
    r = CliRunner().invoke(app, ["derain", str(folder), "-o", str(tmp_path / "o"), "-m", str(blur_model),
                                 "--ray", "local", "-q"])
    assert r.exit_code == 2
    assert "pip install 'edgederain[ray]'" in r.output
    assert not (tmp_path / "o").exists()


def test_installing_without_the_ray_extra_pulls_no_ray() -> None:
    tomllib = pytest.importorskip("tomllib", reason="reading pyproject.toml needs Python >= 3.11")

    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    assert not [d for d in project["dependencies"] if d.lower().startswith("ray")]
    extras = project["optional-dependencies"]
    assert any(d.startswith("ray[data]") for d in extras["ray"])
    assert [name for name, deps in extras.items() if any(d.lower().startswith("ray") for d in deps)] == ["ray"]
    code = "import edgederain.runtime, edgederain.fleet, edgederain.derain_files, edgederain.cli; print('ok')"
    done = run_without(["ray", "torch"], code)
    assert done.returncode == 0 and done.stdout.strip() == "ok", done.stderr


def test_an_actor_that_cannot_create_its_session_fails_the_job_clearly(ray_local, folder, tmp_path, blur_model) -> None:
    from typer.testing import CliRunner

    from edgederain.cli import app

    out = tmp_path / "gpu"
    r = CliRunner().invoke(app, ["derain", str(folder), "-o", str(out), "-m", str(blur_model), "--ray", "local",
                                 "--ray-actors", "1", "--provider", "cuda", "-q"])
    try:
        import onnxruntime

        if "CUDAExecutionProvider" in onnxruntime.get_available_providers():
            pytest.skip("this machine has the CUDA provider: the actors would run")
    except ImportError:
        pass
    assert r.exit_code == 2, r.output
    assert "the Ray job stopped after 0 of 31 inputs" in r.output and "'cuda' is not available" in r.output
    assert not out.exists()  # the folder the job made is removed again when nothing was written

