"""Property-based tests of ``edgederain.io.read_image`` on arbitrary and damaged files.

Whatever bytes a file holds (random ones, or a small valid PNG/JPEG/GIF/TIFF/BMP/WebP truncated,
with bytes flipped, inserted or removed), ``read_image`` returns an H x W x 3 uint8 array or raises
:class:`ImageReadError`, never another exception. The atheris harness in ``tests/fuzz/`` explores
the same property for longer. Seeds come from ``tests/fuzz/seeds.py`` (written with Pillow).
"""

from __future__ import annotations

import importlib.util
import inspect
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("hypothesis")
from hypothesis import example, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from edgederain.errors import ImageReadError  # noqa: E402
from edgederain.io import read_image  # noqa: E402

FAST = settings(max_examples=150, deadline=None)
pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")  # Pillow warns about corrupt EXIF/TIFF tags
# A small pixel limit keeps damaged headers that claim huge sizes from decoding for seconds each.
LIMIT = {"max_pixels": 4_000_000} if "max_pixels" in inspect.signature(read_image).parameters else {}


def _seeds() -> dict[str, bytes]:
    spec = importlib.util.spec_from_file_location("fuzz_seeds", Path(__file__).parent / "fuzz" / "seeds.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.image_seeds()


SEEDS = _seeds()


@pytest.fixture(scope="module")
def scratch(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("io-properties") / "input"


def check_read(path: Path, data: bytes) -> None:
    path.write_bytes(data)
    try:
        img = read_image(path, **LIMIT)
    except ImageReadError as exc:
        assert str(path) in str(exc)
        return
    rgb = img.rgb
    assert rgb.dtype == np.uint8 and rgb.ndim == 3 and rgb.shape[2] == 3 and min(rgb.shape[:2]) > 0
    assert rgb.flags.c_contiguous


@pytest.mark.parametrize("name", sorted(SEEDS))
def test_each_seed_is_a_valid_image(tmp_path, name):
    assert {"rgb.png", "rgb.jpg", "rgb.gif", "rgb.tif"} <= set(SEEDS)
    (tmp_path / name).write_bytes(SEEDS[name])
    assert read_image(tmp_path / name).rgb.shape == (9, 13, 3)


@FAST
@given(st.binary(max_size=4096))
def test_arbitrary_bytes(scratch, data):
    check_read(scratch, data)


@FAST
@given(st.sampled_from(sorted(SEEDS)), st.integers(0, 10**6))
def test_truncated_images(scratch, name, cut):
    data = SEEDS[name]
    check_read(scratch, data[: cut % len(data)])


mutations = st.lists(
    st.tuples(
        st.sampled_from(["flip", "set", "insert", "delete"]),
        st.integers(0, 64) | st.integers(0, 10**6),  # headers are where sizes and offsets live
        st.binary(min_size=1, max_size=8),
    ),
    min_size=1, max_size=8,
)


@FAST
@given(st.sampled_from(sorted(SEEDS)), mutations)
@example("rgb.gif", [("set", 6, b"\x20\x4e\x20\x4e")])  # a 20000 x 20000 screen: a decompression bomb
def test_mutated_images(scratch, name, changes):
    data = bytearray(SEEDS[name])
    for op, pos, blob in changes:
        pos %= len(data) + 1
        if op == "flip" and pos < len(data):
            data[pos] ^= blob[0] or 0x80
        elif op == "set":
            data[pos:pos + len(blob)] = blob
        elif op == "insert":
            data[pos:pos] = blob
        elif op == "delete":
            del data[pos:pos + len(blob)]
    check_read(scratch, bytes(data))
