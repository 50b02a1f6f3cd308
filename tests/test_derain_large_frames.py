"""``edgederain derain`` on frames run in tiles: tile progress, and the note when the runtime tiles
a frame too large for its memory budget by itself."""

from __future__ import annotations

import re

import numpy as np
from PIL import Image
from runtime_fixtures import blur_model  # noqa: F401
from typer.testing import CliRunner

from edgederain.cli import app


def _image(path, h, w, seed=0):
    Image.fromarray(np.random.default_rng(seed).integers(0, 256, (h, w, 3), dtype=np.uint8)).save(path)
    return path


def test_a_tiled_image_reports_progress_tile_by_tile(tmp_path, blur_model):
    from edgederain.derain_files import JobOptions, run_job
    from edgederain.runtime import DerainSession, SessionConfig

    src = _image(tmp_path / "big.png", 40, 56)
    session = DerainSession(blur_model, SessionConfig.for_provider("cpu", tile=8, tile_pad=4))
    plan = session.tile_plan(40, 56)
    seen = []
    summary = run_job(session, [src], JobOptions(tmp_path / "o"),
                      on_progress=lambda source, done, total: seen.append((source, done, total)))
    assert summary.ok and plan is not None and plan.count > 1
    assert [d for _, d, _ in seen] == list(range(1, plan.count + 1))
    assert {(s, t) for s, _, t in seen} == {(str(src), plan.count)}


def test_cli_shows_a_tile_bar_unless_quiet(tmp_path, blur_model):
    src = _image(tmp_path / "big.png", 40, 56)
    r = CliRunner().invoke(app, ["derain", str(src), "-o", str(tmp_path / "o"), "-m", str(blur_model),
                                 "--tile", "8", "--tile-pad", "4"])
    assert r.exit_code == 0, r.output
    assert "tile" in r.output.replace("--tile", "") and "big.png" in r.output
    q = CliRunner().invoke(app, ["derain", str(src), "-o", str(tmp_path / "q"), "-m", str(blur_model),
                                 "--tile", "8", "--tile-pad", "4", "-q"])
    assert q.exit_code == 0 and "tile/s" not in q.output and "it/s" not in q.output


def test_a_frame_over_the_memory_budget_is_tiled_with_a_printed_note(tmp_path, blur_model, monkeypatch):
    from edgederain.runtime import memory

    monkeypatch.setattr(memory, "resolve_budget", lambda budget: 60 * memory.MiB)
    src = _image(tmp_path / "large.png", 200, 200)
    r = CliRunner().invoke(app, ["derain", str(src), "-o", str(tmp_path / "o"), "-m", str(blur_model)])
    assert r.exit_code == 0, r.output
    note = re.search(r"note: \S*large\.png: a 200x200 frame [^\n]*", r.output)
    assert note and "tiles" in note.group(0) and "--tile" in note.group(0), r.output
    monkeypatch.undo()
    whole = CliRunner().invoke(app, ["derain", str(src), "-o", str(tmp_path / "w"), "-m", str(blur_model), "-q"])
    assert whole.exit_code == 0 and "note:" not in whole.output
    a = np.asarray(Image.open(tmp_path / "o" / "large.png"), dtype=int)
    b = np.asarray(Image.open(tmp_path / "w" / "large.png"), dtype=int)
    assert np.abs(a - b).max() <= 1  # the blur model is local: tiles change nothing but rounding
