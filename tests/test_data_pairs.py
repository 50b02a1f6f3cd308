"""Paired-folder layouts, side-by-side splitting, mismatch errors, aligned crops, seeded sampling."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from edgederain.errors import DatasetError
from edgederain.io import write_image
from edgederain.data.datasets import PairedDataset, batch_for_step, random_crop, sample_rng
from edgederain.data.pairs import FOLDER_PAIRS, find_pairs, load_pair


def _img(seed: int, h: int = 40, w: int = 48) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 200, (h, w, 3), dtype=np.uint8)


def _write_pair(rainy: Path, clean: Path, seed: int, *, h: int = 40, w: int = 48) -> None:
    c = _img(seed, h, w)
    write_image(clean, c)
    write_image(rainy, c + 50)  # rainy = clean + 50 everywhere: alignment is checkable


@pytest.mark.parametrize("rain_dir,clean_dir", FOLDER_PAIRS)
def test_folder_layouts_pair_by_name(tmp_path: Path, rain_dir: str, clean_dir: str) -> None:
    (tmp_path / rain_dir).mkdir()
    (tmp_path / clean_dir).mkdir()
    for i in (1, 2, 10):
        _write_pair(tmp_path / rain_dir / f"{i}.png", tmp_path / clean_dir / f"{i}.png", i)
    pairs = find_pairs(tmp_path)
    assert [p.rainy.name for p in pairs] == ["1.png", "2.png", "10.png"]  # natural order
    for p in pairs:
        assert p.clean == tmp_path / clean_dir / p.rainy.name
        rainy, clean = load_pair(p)
        assert np.array_equal(rainy.astype(int) - clean, np.full(clean.shape, 50))


def test_prefixed_names_and_rain1400_copies_pair(tmp_path: Path) -> None:
    (tmp_path / "rain").mkdir()
    (tmp_path / "norain").mkdir()
    _write_pair(tmp_path / "rain" / "rain-7.png", tmp_path / "norain" / "norain-7.png", 7)
    write_image(tmp_path / "norain" / "901.png", _img(9))
    for k in (1, 2):
        write_image(tmp_path / "rain" / f"901_{k}.png", _img(9))
    pairs = {p.rainy.name: p.clean.name for p in find_pairs(tmp_path, layout="folders")}
    assert pairs == {"rain-7.png": "norain-7.png", "901_1.png": "901.png", "901_2.png": "901.png"}


def test_prenet_layout(tmp_path: Path) -> None:
    for i in (3, 1):
        _write_pair(tmp_path / f"rain-{i}.png", tmp_path / f"norain-{i}.png", i)
    pairs = find_pairs(tmp_path)
    assert [(p.rainy.name, p.clean.name) for p in pairs] == [
        ("rain-1.png", "norain-1.png"),
        ("rain-3.png", "norain-3.png"),
    ]


@pytest.mark.parametrize("clean_side", ["left", "right"])
def test_side_by_side_split(tmp_path: Path, clean_side: str) -> None:
    clean = _img(1)
    rainy = clean + 50
    halves = [clean, rainy] if clean_side == "left" else [rainy, clean]
    write_image(tmp_path / "a.png", np.concatenate(halves, axis=1))
    (pair,) = find_pairs(tmp_path, layout="side-by-side", clean_side=clean_side)
    got_rainy, got_clean = load_pair(pair)
    assert np.array_equal(got_clean, clean) and np.array_equal(got_rainy, rainy)


def test_side_by_side_odd_width_is_an_error(tmp_path: Path) -> None:
    write_image(tmp_path / "odd.png", _img(1, w=49))
    (pair,) = find_pairs(tmp_path, layout="side-by-side")
    with pytest.raises(DatasetError, match="odd width"):
        load_pair(pair)


def test_missing_partner_names_both_files(tmp_path: Path) -> None:
    (tmp_path / "rainy").mkdir()
    (tmp_path / "clean").mkdir()
    _write_pair(tmp_path / "rainy" / "1.png", tmp_path / "clean" / "1.png", 1)
    write_image(tmp_path / "rainy" / "2.png", _img(2))
    with pytest.raises(DatasetError) as err:
        find_pairs(tmp_path)
    assert str(tmp_path / "rainy" / "2.png") in str(err.value)
    assert str(tmp_path / "clean" / "2.png") in str(err.value)


def test_prenet_missing_partner_names_both_files(tmp_path: Path) -> None:
    write_image(tmp_path / "rain-4.png", _img(4))
    with pytest.raises(DatasetError) as err:
        find_pairs(tmp_path)
    assert "rain-4.png" in str(err.value) and "norain-4.png" in str(err.value)


def test_size_mismatch_names_both_files(tmp_path: Path) -> None:
    (tmp_path / "input").mkdir()
    (tmp_path / "target").mkdir()
    write_image(tmp_path / "input" / "1.png", _img(1, 40, 48))
    write_image(tmp_path / "target" / "1.png", _img(1, 40, 40))
    (pair,) = find_pairs(tmp_path)
    with pytest.raises(DatasetError) as err:
        load_pair(pair)
    msg = str(err.value)
    assert "input/1.png" in msg and "target/1.png" in msg and "48x40" in msg and "40x40" in msg


def test_unknown_layout_and_empty_folder(tmp_path: Path) -> None:
    write_image(tmp_path / "photo.png", _img(1))
    with pytest.raises(DatasetError, match="no paired layout"):
        find_pairs(tmp_path)
    with pytest.raises(DatasetError, match="not found"):
        find_pairs(tmp_path / "nope")


def test_crops_are_aligned_and_flipped_together() -> None:
    clean = _img(3, 64, 80)
    rainy = clean + 50
    coords = np.dstack(np.mgrid[0:64, 0:80]).astype(np.int32)  # tracks where each pixel came from
    seen_flips = set()
    for seed in range(20):
        r, c, xy = random_crop([rainy, clean, coords], 24, np.random.default_rng(seed))
        assert r.shape == c.shape == (24, 24, 3)
        assert np.array_equal(r.astype(int) - c, np.full(c.shape, 50))
        assert np.array_equal(c, clean[xy[..., 0], xy[..., 1]])
        seen_flips.add((xy[0, 0, 1] > xy[0, -1, 1], xy[0, 0, 0] > xy[-1, 0, 0]))
    assert len(seen_flips) == 4  # all flip combinations occur


def test_paired_dataset_is_seeded_per_epoch(tmp_path: Path) -> None:
    (tmp_path / "rainy").mkdir()
    (tmp_path / "clean").mkdir()
    for i in range(3):
        _write_pair(tmp_path / "rainy" / f"{i}.png", tmp_path / "clean" / f"{i}.png", i, h=64, w=64)
    ds = PairedDataset(tmp_path, crop=32, seed=5)
    a = ds.sample(0, 1)
    assert all(np.array_equal(x, y) for x, y in zip(a, ds.sample(0, 1)))
    assert not np.array_equal(a[1], ds.sample(1, 1)[1])  # another epoch, another crop
    b1 = batch_for_step(ds, 4, batch_size=2, seed=5)
    b2 = batch_for_step(PairedDataset(tmp_path, crop=32, seed=5), 4, batch_size=2, seed=5)
    assert np.array_equal(b1[0], b2[0]) and b1[0].shape == (2, 32, 32, 3)
    assert np.array_equal(b1[0].astype(int) - b1[1], np.full(b1[1].shape, 50))


def test_crop_larger_than_image_is_an_error() -> None:
    with pytest.raises(DatasetError, match="smaller than"):
        random_crop([_img(1)], 96, sample_rng(0, 0, 0))
