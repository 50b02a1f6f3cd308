"""``edgederain compare``: the no-reference rain figures, the before/after sheet, and batch errors."""

from __future__ import annotations

import json

import numpy as np
import pytest
from blocked_imports import run_without
from PIL import Image
from runtime_fixtures import blur_model  # noqa: F401
from typer.testing import CliRunner

from edgederain.cli import app
from edgederain.compare import (
    GAP,
    LABEL_HEIGHT,
    CompareOptions,
    StreakConfig,
    difference_map,
    rain_change,
)
from edgederain.contract import IOContract
from edgederain.errors import ConfigError


def _scene(h=64, w=80):
    """A smooth, streak-free background (gradients only)."""
    yy, xx = np.mgrid[0:h, 0:w]
    return np.stack([30 + xx, 50 + yy, 80 + (xx + yy) // 2], -1).clip(0, 255).astype(np.uint8)


def _with_streaks(clean, value=230):
    """``clean`` with thin, slanted bright lines drawn on it, and the mask of those lines."""
    rainy, mask = clean.copy(), np.zeros(clean.shape[:2], bool)
    h, w = mask.shape
    for x0 in range(-6, w, 9):
        for t in range(4, h - 4):
            if 4 <= x0 + t // 6 < w - 4:
                mask[t, x0 + t // 6] = True
    rainy[mask] = value
    return rainy, mask


def test_identity_output_removes_nothing_and_changes_nothing():
    rainy, _ = _with_streaks(_scene())
    c = rain_change(rainy, rainy.copy())
    assert c.streak_cover > 0.05  # the streaks are found...
    assert c.rain_removed == 0 and c.streak_drop == 0  # ...and none of them is removed
    assert c.mean_change == 0 and c.scene_change == 0 and c.brightness_shift == 0


def test_removing_bright_streaks_scores_near_one_and_leaves_the_scene_alone():
    clean = _scene()
    rainy, lines = _with_streaks(clean)
    c = rain_change(rainy, clean)
    assert c.rain_removed > 0.95
    assert c.scene_change < 0.05
    assert c.mean_change > 1 and c.brightness_shift < 0
    assert abs(c.streak_cover - lines.mean()) < 0.2 * lines.mean()


def test_darkening_everything_shows_as_scene_change_not_as_more_rain_removed():
    rainy, _ = _with_streaks(_scene())
    darker = (rainy.astype(int) - 30).clip(0, 255).astype(np.uint8)
    c = rain_change(rainy, darker)
    assert 0.05 < c.rain_removed < 0.4  # clipped to the streak's own excess brightness
    assert c.scene_change == pytest.approx(30, abs=1)
    assert c.brightness_shift == pytest.approx(-30 * 219 / 255, abs=0.5)  # BT.601 Y spans 219 levels


def test_image_without_streaks_has_no_removed_fraction():
    flat = np.full((32, 32, 3), 120, np.uint8)
    c = rain_change(flat, flat)
    assert c.streak_cover == 0 and c.rain_removed is None and c.streak_drop is None


def test_difference_map_abs_and_signed():
    a = np.full((2, 2, 3), 100, np.uint8)
    b = a.copy()
    b[0, 0] = 90  # the output is 10 darker here
    b[1, 1] = 110
    assert difference_map(a, b, amplify=4)[0, 0, 0] == 40
    assert difference_map(a, b, amplify=4)[1, 1, 0] == 40
    signed = difference_map(a, b, amplify=4, mode="signed")
    assert signed[0, 0, 0] == 168 and signed[1, 1, 0] == 88 and signed[0, 1, 0] == 128
    assert difference_map(a, b, amplify=100)[0, 0, 0] == 255


@pytest.mark.parametrize("bad", [{"median": 6}, {"median": 1}, {"threshold": -1}])
def test_streak_settings_are_validated(bad):
    with pytest.raises(ConfigError):
        StreakConfig(**bad)


@pytest.mark.parametrize("bad", [{"amplify": 0}, {"diff": "square"}, {"row_height": 4}, {"max_side": 2}])
def test_options_are_validated(bad):
    with pytest.raises(ConfigError):
        CompareOptions(**bad)


def test_metrics_and_sheets_need_no_torch_onnx_or_typer(tmp_path):
    r = run_without({"torch", "onnx", "typer", "onnxruntime"}, (
        "import numpy as np, pathlib\n"
        "from edgederain.compare import compare_images, CompareOptions\n"
        "from edgederain.io import write_image\n"
        f"d = pathlib.Path({str(tmp_path)!r})\n"
        "a = np.random.default_rng(0).integers(0, 256, (24, 24, 3), dtype=np.uint8)\n"
        "src = write_image(d / 'a.png', a)\n"
        "report = compare_images(lambda x: x // 2, [src], d / 'out', CompareOptions(row_height=16))\n"
        "print(len(report.done), report.sheets[0].name, report.done[0].change.mean_change > 0)\n"
    ))
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == ["1", "sheet.jpg", "True"]


# --- the command ---------------------------------------------------------------------------


def _identity_model(path):
    import onnx
    from onnx import TensorProto, helper

    shape = ["batch", 3, "height", "width"]
    graph = helper.make_graph(
        [helper.make_node("Identity", ["image"], ["derained"])], "identity",
        [helper.make_tensor_value_info("image", TensorProto.FLOAT, shape)],
        [helper.make_tensor_value_info("derained", TensorProto.FLOAT, shape)],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)])
    model.ir_version = 9
    helper.set_model_props(model, IOContract().to_metadata())
    onnx.save(model, str(path))
    return path


@pytest.fixture()
def rainy_folder(tmp_path):
    d = tmp_path / "rain"
    d.mkdir()
    for i, value in enumerate((200, 220, 240)):
        rainy, _ = _with_streaks(_scene(40, 60), value)
        Image.fromarray(rainy).save(d / f"r{i}.png")
    return d


def _compare(*args):
    return CliRunner().invoke(app, ["compare", *map(str, args)])


def _page_size(rows, panel_w, row_h):
    return (GAP + 3 * panel_w + 2 * GAP + GAP, GAP + LABEL_HEIGHT + rows * (GAP + LABEL_HEIGHT + row_h) + GAP)


def test_sheet_has_one_row_per_image_and_the_report_has_figures(rainy_folder, tmp_path, blur_model):
    out = tmp_path / "out"
    r = _compare(rainy_folder, "-o", out, "-m", blur_model, "--row-height", "32", "-q")
    assert r.exit_code == 0, r.output
    assert sorted(p.name for p in out.iterdir()) == ["report.csv", "report.json", "sheet.jpg"]
    assert Image.open(out / "sheet.jpg").size == _page_size(3, 48, 32)  # 40x60 inputs -> 32x48
    report = json.loads((out / "report.json").read_text())
    assert [i["name"] for i in report["images"]] == ["r0.png", "r1.png", "r2.png"]
    assert all(i["rain_removed"] > 0.1 for i in report["images"])  # the blur dims thin lines
    assert report["mean"]["mean_change"] == pytest.approx(np.mean([i["mean_change"] for i in report["images"]]))
    assert report["failed"] == [] and report["sheets"] == ["sheet.jpg"]
    lines = (out / "report.csv").read_text().splitlines()
    assert len(lines) == 5 and lines[-1].startswith("(mean)")
    assert "r0.png" in r.output and "mean of 3" in r.output


def test_many_images_go_onto_pages_and_old_pages_are_replaced(rainy_folder, tmp_path, blur_model):
    out = tmp_path / "out"
    out.mkdir()
    (out / "sheet.jpg").write_bytes(b"stale")
    (out / "sheet_3.jpg").write_bytes(b"stale")
    r = _compare(rainy_folder, "-o", out, "-m", blur_model, "--row-height", "20", "--rows-per-page", "2", "-q")
    assert r.exit_code == 0, r.output
    assert sorted(p.name for p in out.glob("sheet*")) == ["sheet_1.jpg", "sheet_2.jpg"]
    assert Image.open(out / "sheet_1.jpg").size == _page_size(2, 30, 20)
    assert Image.open(out / "sheet_2.jpg").size == _page_size(1, 30, 20)


def test_a_model_compared_with_its_input_shows_zero_change(rainy_folder, tmp_path):
    pytest.importorskip("onnx")
    model = _identity_model(tmp_path / "identity.onnx")
    out = tmp_path / "out"
    r = _compare(rainy_folder, "-o", out, "-m", model, "--row-height", "32", "-q")
    assert r.exit_code == 0, r.output
    report = json.loads((out / "report.json").read_text())
    for item in report["images"]:
        assert item["streak_cover"] > 0
        assert item["rain_removed"] == 0 and item["mean_change"] == 0 and item["scene_change"] == 0
    sheet = np.asarray(Image.open(out / "sheet.jpg"), np.int16)
    y0, x0 = GAP + LABEL_HEIGHT + GAP + LABEL_HEIGHT, GAP + 2 * (48 + GAP)
    assert sheet[y0 + 2 : y0 + 30, x0 + 2 : x0 + 46].max() < 24  # the difference panel is black
    assert sheet[y0 + 2 : y0 + 30, GAP + 2 : GAP + 46].mean() > 60  # beside a lit input panel


def test_max_side_downscales_before_the_model(rainy_folder, tmp_path, blur_model):
    out = tmp_path / "out"
    assert _compare(rainy_folder / "r0.png", "-o", out, "-m", blur_model, "--max-side", "30", "-q").exit_code == 0
    item = json.loads((out / "report.json").read_text())["images"][0]
    assert (item["height"], item["width"], item["original_height"], item["original_width"]) == (20, 30, 40, 60)


def test_corrupt_file_is_skipped_and_reported_with_exit_1(rainy_folder, tmp_path, blur_model):
    (rainy_folder / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")
    out = tmp_path / "out"
    r = _compare(rainy_folder, "-o", out, "-m", blur_model, "--row-height", "32", "-q")
    assert r.exit_code == 1, r.output
    assert "failed: " in r.output and "broken.jpg" in r.output
    report = json.loads((out / "report.json").read_text())
    assert [f["source"].rsplit("/", 1)[-1] for f in report["failed"]] == ["broken.jpg"]
    assert len(report["images"]) == 3 and Image.open(out / "sheet.jpg").size == _page_size(3, 48, 32)


def test_output_folder_must_not_be_an_input_folder(rainy_folder, blur_model):
    before = sorted(p.name for p in rainy_folder.iterdir())
    for args in ([rainy_folder], [rainy_folder / "r1.png"]):
        r = _compare(*args, "-o", rainy_folder, "-m", blur_model, "-q")
        assert r.exit_code == 2 and "folder of inputs" in r.output
    assert sorted(p.name for p in rainy_folder.iterdir()) == before


def test_usage_errors_exit_2(rainy_folder, tmp_path, blur_model):
    a_file = tmp_path / "report.txt"
    a_file.write_text("x")
    r = _compare(rainy_folder, "-o", a_file, "-m", blur_model)
    assert r.exit_code == 2 and "not a folder" in r.output
    r = _compare(tmp_path / "nothing-here", "-o", tmp_path / "out", "-m", blur_model)
    assert r.exit_code == 2 and "no input found" in r.output
    r = _compare(rainy_folder, "-o", a_file / "sub", "-m", blur_model)
    assert r.exit_code == 2 and "cannot create the output folder" in r.output
    assert not (tmp_path / "out").exists()


def test_packaged_model_is_the_default(rainy_folder, tmp_path):
    pytest.importorskip("onnxruntime")
    out = tmp_path / "out"
    r = _compare(rainy_folder / "r2.png", "-o", out, "--row-height", "32", "-q")
    assert r.exit_code == 0, r.output
    report = json.loads((out / "report.json").read_text())
    assert report["settings"]["model"].endswith("derain_fp32.onnx")
    assert len(report["settings"]["model_sha256"]) == 64
    assert report["images"][0]["mean_change"] > 0


def test_models_are_chosen_by_name_and_a_retired_name_says_so(rainy_folder, tmp_path):
    out = tmp_path / "lite"
    r = _compare(rainy_folder / "r0.png", "-o", out, "-m", "lite", "--row-height", "32", "-q")
    assert r.exit_code == 0, r.output
    assert json.loads((out / "report.json").read_text())["images"][0]["name"] == "r0.png"
    r = _compare(rainy_folder, "-o", tmp_path / "light", "-m", "light", "-q")
    assert r.exit_code == 2 and "retired" in r.output and "all-weather" in r.output
