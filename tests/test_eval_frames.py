"""Verification frames find pairs the way training and evaluation do (one pair finder)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from edgederain.errors import VerificationError
from edgederain.export.data import has_targets, load_eval_frames
from edgederain.io import write_image
from edgederain.data.pairs import detect_layout


def _rgb(seed: int, h: int = 24, w: int = 32) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (h, w, 3), dtype=np.uint8)


def _prenet(root: Path, n: int) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    for i in range(1, n + 1):
        write_image(root / f"rain-{i}.png", _rgb(i))
        write_image(root / f"norain-{i}.png", _rgb(100 + i))
    return root


def test_prenet_folder_gives_frames_with_ground_truth(tmp_path):
    frames = load_eval_frames(_prenet(tmp_path / "d", 3))
    assert [f.name for f in frames] == ["rain-1.png", "rain-2.png", "rain-3.png"]  # no norain-N as input
    assert has_targets(frames)
    np.testing.assert_array_equal(frames[1].target, _rgb(102))
    np.testing.assert_allclose(frames[1].input[0].transpose(1, 2, 0) * 255, _rgb(2), atol=1e-3)


def test_prenet_rainy_file_without_partner_is_an_error_naming_both(tmp_path):
    root = _prenet(tmp_path / "d", 2)
    write_image(root / "rain-7.png", _rgb(7))
    with pytest.raises(VerificationError, match=r"rain-7\.png: no clean partner .*norain-7\.png"):
        load_eval_frames(root)


def test_sub_folder_rainy_file_without_partner_is_an_error(tmp_path):
    for sub in ("rainy", "clean"):
        (tmp_path / sub).mkdir()
    for i in (1, 2):
        write_image(tmp_path / "rainy" / f"{i}.png", _rgb(i))
    write_image(tmp_path / "clean" / "1.png", _rgb(11))
    with pytest.raises(VerificationError, match=r"2\.png: no clean partner in .*clean"):
        load_eval_frames(tmp_path)


def test_folder_pairs_use_the_training_name_rules(tmp_path):
    for sub in ("rain", "norain"):
        (tmp_path / sub).mkdir()
    write_image(tmp_path / "rain" / "rain-5.png", _rgb(5))
    write_image(tmp_path / "norain" / "norain-5.png", _rgb(15))
    (frame,) = load_eval_frames(tmp_path)
    assert frame.name == "rain-5.png"
    np.testing.assert_array_equal(frame.target, _rgb(15))


def test_size_mismatch_is_an_error(tmp_path):
    root = _prenet(tmp_path / "d", 1)
    write_image(root / "norain-1.png", _rgb(1, 24, 40))
    with pytest.raises(VerificationError, match="size mismatch"):
        load_eval_frames(root)


def test_plain_folder_has_no_targets_and_limit_applies(tmp_path):
    for i in range(4):
        write_image(tmp_path / f"frame{i}.png", _rgb(i))
    assert detect_layout(tmp_path) is None
    frames = load_eval_frames(tmp_path, limit=2)
    assert [f.name for f in frames] == ["frame0.png", "frame1.png"] and not has_targets(frames)


def test_unreadable_plain_image_and_missing_folder(tmp_path):
    (tmp_path / "bad.png").write_bytes(b"not a png")
    with pytest.raises(VerificationError, match="unreadable verification image.*bad.png"):
        load_eval_frames(tmp_path)
    with pytest.raises(VerificationError, match="data folder not found"):
        load_eval_frames(tmp_path / "nope")
