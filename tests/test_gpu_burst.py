"""scripts/gpu_burst.py: backgrounds packed in parts, stashed call by call, a dry-run burst, collected."""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import pytest

from benchmark_module import load_script
from train_fixtures import write_backgrounds

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def burst():
    return load_script("gpu_burst")


@pytest.fixture()
def packed(burst, tmp_path):
    (tmp_path / "backgrounds").mkdir()
    root = write_backgrounds(tmp_path / "backgrounds", 64, count=24)
    (root / "sub").mkdir()
    shutil.copy(root / "bg3.png", root / "sub" / "a.png")
    out = tmp_path / "parts"
    manifest = burst.pack(root, out, max_side=48, quality=90, chunk_mib=0.07)
    return root, out, manifest


def test_pack_splits_into_parts_and_keeps_names_and_order(burst, packed):
    root, out, manifest = packed
    assert manifest["files"] == 25 and len(manifest["parts"]) >= 2
    assert all((out / p["name"]).stat().st_size <= 0.07 * 2**20 for p in manifest["parts"])
    assert json.loads((out / "manifest.json").read_text()) == manifest


def test_stash_part_by_part_then_unpack(burst, packed, tmp_path):
    from edgederain.data.datasets import list_backgrounds, load_background

    root, out, manifest = packed
    store = tmp_path / "stash"
    for i, part in enumerate(manifest["parts"]):
        call = tmp_path / f"call{i}"  # what one call carried: one part and the manifest
        call.mkdir()
        shutil.copy(out / part["name"], call)
        shutil.copy(out / "manifest.json", call)
        assert burst.stash(call, store) == [part["name"]]
        if i == 0:
            with pytest.raises(SystemExit, match="lacks"):
                burst.unpack(store)
    unpacked = burst.unpack(store)
    got = [p.relative_to(unpacked).as_posix() for p in list_backgrounds([unpacked])]
    want = [p.relative_to(root).as_posix() + ".jpg" for p in list_backgrounds([root])]
    assert got == want  # same order: the same held-out split
    assert load_background(unpacked / "bg0.png.jpg", max_side=480).shape == (48, 48, 3)
    with pytest.raises(SystemExit, match="manifest"):
        burst.stash(tmp_path / "call0" / "nothing", store)


def test_dry_run_burst_returns_a_checkpoint_and_collect_prepares_the_next_segment(burst, packed, tmp_path, capsys):
    pytest.importorskip("torch")
    _, out, _ = packed
    store = tmp_path / "stash"
    burst.stash(out, store)
    config = tmp_path / "c.toml"
    config.write_text('model = "tiny"\nstage = "both"\ncrop = 32\nval_crop = 32\nae_iterations = 2\n'
                      'derain_iterations = 500\nthreads = 1\nrain = "heavy"\n')
    result = tmp_path / "OUT"
    code = burst.main(["run", str(config), "--stash", str(store), "--out", str(result), "--dry-run",
                       "--workers", "1", "--minutes", "5", "--python", sys.executable])
    assert code == 0, (result / "train.log").read_text()[-2000:]
    assert {"derain_best.pt", "derain_log.csv", "config.json", "train.log", "burst.json"} <= {
        p.name for p in result.iterdir()}
    saved = json.loads((result / "config.json").read_text())
    assert saved["derain_iterations"] == 2 and saved["workers"] == 1 and saved["device"] == "cpu"
    assert saved["backgrounds"] == [str(store / "backgrounds" / "backgrounds")]
    dest = tmp_path / "runs" / "burst-1"
    burst.main(["collect", str(result), "--to", str(dest)])
    assert (dest / "derain_best.pt").is_file()
    assert f"--init {dest / 'derain_best.pt'}" in capsys.readouterr().out


def test_the_script_imports_the_package_from_its_own_tree(tmp_path):
    """On the GPU machine the package is not installed: the script finds it in its own tree."""
    import subprocess
    import sysconfig

    (tmp_path / "backgrounds").mkdir()
    root = write_backgrounds(tmp_path / "backgrounds", 32, count=2)
    # -S: no site processing, so no editable install; the libraries alone come back on the path
    env = {"PYTHONPATH": sysconfig.get_paths()["purelib"], "PATH": "/usr/bin:/bin"}
    cmd = [sys.executable, "-S", str(REPO / "scripts" / "gpu_burst.py"), "pack", "--backgrounds", str(root),
           "--out", str(tmp_path / "parts")]
    done = subprocess.run(cmd, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "2 backgrounds in 1 parts" in done.stdout
