"""Image reading/writing: odd files are converted with a note or refused with a reason."""

from __future__ import annotations

import os
import struct
from pathlib import Path
import zlib

import numpy as np
import pytest
from PIL import Image

from edgederain.errors import ImageReadError, ImageWriteError
from edgederain.io import list_images, read_image, write_image


def _png16(path, arr: np.ndarray) -> None:
    """Write a 16-bit-per-channel RGB PNG by hand (Pillow cannot)."""
    h, w, _ = arr.shape
    raw = b"".join(b"\x00" + arr[y].astype(">u2").tobytes() for y in range(h))

    def chunk(tag, data):
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data))

    ihdr = struct.pack(">IIBBBBB", w, h, 16, 2, 0, 0, 0)
    with open(path, "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


@pytest.fixture
def rgb():
    return np.random.default_rng(0).integers(0, 256, (20, 30, 3), dtype=np.uint8)


def test_rgb_png_round_trip(tmp_path, rgb):
    p = write_image(tmp_path / "a.png", rgb)
    img = read_image(p)
    assert img.notes == () and np.array_equal(img.rgb, rgb) and img.format == "PNG"


def test_grayscale_is_replicated_with_a_note(tmp_path, rgb):
    Image.fromarray(rgb[..., 0], "L").save(tmp_path / "g.png")
    img = read_image(tmp_path / "g.png")
    assert img.rgb.shape == (20, 30, 3) and np.array_equal(img.rgb[..., 2], rgb[..., 0])
    assert "grayscale" in img.notes[0]


def test_rgba_alpha_is_dropped_with_a_note_or_refused(tmp_path, rgb):
    rgba = np.dstack([rgb, np.full(rgb.shape[:2], 128, np.uint8)])
    Image.fromarray(rgba, "RGBA").save(tmp_path / "a.png")
    img = read_image(tmp_path / "a.png")
    assert np.array_equal(img.rgb, rgb) and "alpha" in img.notes[0]
    with pytest.raises(ImageReadError, match="alpha"):
        read_image(tmp_path / "a.png", alpha="refuse")


def test_16bit_rgb_is_reduced_with_a_note_or_refused(tmp_path, rgb):
    deep = np.minimum(rgb.astype(np.uint32) * 257 + 100, 65535).astype(np.uint16)
    _png16(tmp_path / "d.png", deep)
    img = read_image(tmp_path / "d.png")
    assert np.abs(img.rgb.astype(int) - rgb.astype(int)).max() <= 1
    assert "16-bit" in img.notes[0]
    with pytest.raises(ImageReadError, match="16-bit"):
        read_image(tmp_path / "d.png", high_bit_depth="refuse")


def test_16bit_grayscale_is_scaled(tmp_path):
    g = (np.arange(600, dtype=np.uint16).reshape(20, 30) * 100)
    Image.fromarray(g).save(tmp_path / "g16.png")
    img = read_image(tmp_path / "g16.png")
    assert img.rgb.dtype == np.uint8 and img.rgb.shape == (20, 30, 3)
    assert img.rgb.max() == round(59900 / 65535 * 255) and any("8 bits" in n for n in img.notes)


def test_corrupt_truncated_empty_and_missing_files(tmp_path, rgb):
    (tmp_path / "text.png").write_text("not an image")
    write_image(tmp_path / "full.png", rgb)
    data = (tmp_path / "full.png").read_bytes()
    (tmp_path / "cut.png").write_bytes(data[: len(data) // 2])
    (tmp_path / "empty.jpg").write_bytes(b"")
    for name, match in [("text.png", "not a readable image"), ("cut.png", "truncated"),
                        ("empty.jpg", "empty"), ("nope.png", "no such file")]:
        with pytest.raises(ImageReadError, match=match) as exc:
            read_image(tmp_path / name)
        assert name in str(exc.value)


def test_write_refuses_inputs_bad_arrays_and_unwritable_folders(tmp_path, rgb):
    src = write_image(tmp_path / "in.png", rgb)
    with pytest.raises(ImageWriteError, match="overwrite an input"):
        write_image(tmp_path / "." / "in.png", rgb, protect=[src])
    with pytest.raises(ImageWriteError, match="H x W x 3 uint8"):
        write_image(tmp_path / "x.png", rgb.astype(np.float32))
    with pytest.raises(ImageWriteError, match="does not exist"):
        write_image(tmp_path / "missing" / "x.png", rgb)
    with pytest.raises(ImageWriteError, match="unsupported"):
        write_image(tmp_path / "x.gif", rgb)
    (tmp_path / "afile").write_text("x")
    with pytest.raises(ImageWriteError, match="does not exist"):
        write_image(tmp_path / "afile" / "x.png", rgb)


def test_unwritable_folder_is_reported(tmp_path, rgb):
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    # Root ignores folder permissions; /proc refuses new files for everyone.
    target = (locked if not os.access(locked, os.W_OK) else Path("/proc")) / "x.png"
    try:
        with pytest.raises(ImageWriteError, match="not writable"):
            write_image(target, rgb)
    finally:
        locked.chmod(0o700)


def test_writes_are_atomic_and_leave_no_temporaries(tmp_path, rgb):
    write_image(tmp_path / "o.jpg", rgb)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["o.jpg"]
    assert read_image(tmp_path / "o.jpg").format == "JPEG"


def test_list_images_sorts_naturally(tmp_path, rgb):
    for n in (10, 2, 1):
        write_image(tmp_path / f"{n}.png", rgb)
    (tmp_path / "notes.txt").write_text("x")
    assert [p.name for p in list_images(tmp_path)] == ["1.png", "2.png", "10.png"]


def _gif_header(path, width: int, height: int) -> None:
    """A GIF whose header claims width x height pixels but holds almost no data (a "bomb")."""
    screen = struct.pack("<HHBBB", width, height, 0, 0, 0)
    frame = b"," + struct.pack("<HHHHB", 0, 0, width, height, 0) + b"\x02\x02\x44\x01\x00"
    path.write_bytes(b"GIF89a" + screen + frame + b";")


def test_a_header_claiming_gigapixels_is_refused_naming_the_option(tmp_path):
    from PIL import Image as PILImage

    before = PILImage.MAX_IMAGE_PIXELS
    _gif_header(tmp_path / "bomb.gif", 60000, 50000)  # 3,000,000,000 pixels
    with pytest.raises(ImageReadError, match="--max-pixels") as exc:
        read_image(tmp_path / "bomb.gif")
    assert "max_pixels=" in str(exc.value) and "3,000,000,000" in str(exc.value)
    with pytest.raises(ImageReadError, match="limit of 100"):
        read_image(tmp_path / "bomb.gif", max_pixels=100)
    assert PILImage.MAX_IMAGE_PIXELS == before


def test_max_pixels_governs_instead_of_pillows_own_limit(tmp_path, rgb, monkeypatch):
    from PIL import Image as PILImage

    write_image(tmp_path / "a.png", rgb)  # 600 pixels
    monkeypatch.setattr(PILImage, "MAX_IMAGE_PIXELS", 100)  # Pillow alone would refuse it
    with pytest.raises(ImageReadError, match="600 pixels, more than the limit of 599"):
        read_image(tmp_path / "a.png", max_pixels=599)
    assert np.array_equal(read_image(tmp_path / "a.png", max_pixels=600).rgb, rgb)
    assert np.array_equal(read_image(tmp_path / "a.png").rgb, rgb)
    assert np.array_equal(read_image(tmp_path / "a.png", max_pixels=None).rgb, rgb)
    assert PILImage.MAX_IMAGE_PIXELS == 100
    with pytest.raises(ImageReadError, match="max_pixels must be"):
        read_image(tmp_path / "a.png", max_pixels=0)


def _corner_marked(h: int = 24, w: int = 40) -> np.ndarray:
    """Dark image with a bright block in the top-left corner (orientation is unambiguous)."""
    img = np.full((h, w, 3), 40, np.uint8)
    img[: h // 3, : w // 4] = (250, 200, 30)
    return img


def test_exif_orientation_is_applied_with_a_note(tmp_path):
    stored = _corner_marked()
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90 degrees clockwise to display"
    Image.fromarray(stored).save(tmp_path / "o6.jpg", quality=95, exif=exif)
    img = read_image(tmp_path / "o6.jpg")
    upright = np.rot90(stored, k=-1)  # clockwise
    assert img.rgb.shape == upright.shape == (40, 24, 3)
    assert np.abs(img.rgb.astype(int) - upright.astype(int)).mean() < 3
    assert any("EXIF orientation 6" in n for n in img.notes)
    Image.fromarray(stored).save(tmp_path / "plain.jpg", quality=95)
    assert read_image(tmp_path / "plain.jpg").notes == ()


@pytest.mark.parametrize("umask, mode", [(0o022, 0o644), (0o077, 0o600), (0o002, 0o664)])
def test_written_files_respect_the_umask(tmp_path, rgb, umask, mode):
    old = os.umask(umask)
    try:
        p = write_image(tmp_path / "o.png", rgb)
    finally:
        os.umask(old)
    assert p.stat().st_mode & 0o777 == mode


def test_temporary_names_let_stale_leftovers_be_removed(tmp_path):
    import subprocess
    import sys

    from edgederain.io import remove_stale_temporaries, temporary_file

    mine = temporary_file(tmp_path, ".png")
    dead_pid = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                              capture_output=True, text=True, check=True).stdout.strip()
    host = mine.name.split("-")[1]
    dead = tmp_path / f".edgederain-{host}-{dead_pid}-0123456789ab.png"
    parent = tmp_path / f".edgederain-{host}-{os.getppid()}-0123456789ab.png"
    other_host = tmp_path / f".edgederain-ffffffff-{dead_pid}-0123456789ab.png"
    unrelated = tmp_path / ".edgederain-notes.txt"
    for p in (dead, parent, other_host, unrelated):
        p.write_bytes(b"x")
    assert remove_stale_temporaries(tmp_path) == [dead]
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        p.name for p in (mine, parent, other_host, unrelated))
