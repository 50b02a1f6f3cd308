"""Seed inputs for the fuzz targets: small valid images and contracts (written, not stored).

Binary seeds are generated with Pillow at start-up rather than committed, so the repository keeps
no opaque files; :func:`write_seeds` fills a corpus folder once.
"""

from __future__ import annotations

import io
import struct
import zlib
from pathlib import Path

import numpy as np


def _png16(arr: np.ndarray) -> bytes:
    """A 16-bit-per-channel RGB PNG (Pillow cannot write one)."""
    h, w, _ = arr.shape
    raw = b"".join(b"\x00" + arr[y].astype(">u2").tobytes() for y in range(h))

    def chunk(tag: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data))

    ihdr = struct.pack(">IIBBBBB", w, h, 16, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b"")


def image_seeds() -> dict[str, bytes]:
    """Small images in every format and mode :func:`edgederain.io.read_image` handles."""
    from PIL import Image

    rgb = np.random.default_rng(0).integers(0, 256, (9, 13, 3), dtype=np.uint8)
    base = Image.fromarray(rgb, "RGB")
    cases = {
        "rgb.png": (base, "PNG", {}),
        "gray.png": (base.convert("L"), "PNG", {}),
        "rgba.png": (base.convert("RGBA"), "PNG", {}),
        "palette.png": (base.convert("P"), "PNG", {"transparency": 0}),
        "bilevel.png": (base.convert("1"), "PNG", {}),
        "i16.png": (Image.fromarray(rgb[..., 0].astype(np.uint16) * 257), "PNG", {}),
        "rgb.jpg": (base, "JPEG", {"quality": 80}),
        "gray.jpg": (base.convert("L"), "JPEG", {}),
        "cmyk.jpg": (base.convert("CMYK"), "JPEG", {}),
        "progressive.jpg": (base, "JPEG", {"progressive": True}),
        "rgb.gif": (base.convert("P"), "GIF", {}),
        "rgb.tif": (base, "TIFF", {}),
        "deflate.tif": (base, "TIFF", {"compression": "tiff_adobe_deflate"}),
        "cmyk.tif": (base.convert("CMYK"), "TIFF", {}),
        "float.tif": (Image.fromarray(rgb[..., 1].astype(np.float32) / 255.0), "TIFF", {}),
        "rgb.bmp": (base, "BMP", {}),
        "rgb.webp": (base, "WEBP", {"lossless": True}),
    }
    out: dict[str, bytes] = {}
    for name, (img, fmt, kw) in cases.items():
        buf = io.BytesIO()
        try:
            img.save(buf, format=fmt, **kw)
        except (OSError, KeyError, ValueError):  # a codec missing from this Pillow build
            continue
        out[name] = buf.getvalue()
    out["rgb16.png"] = _png16(rgb.astype(np.uint16) * 257)
    return out


def contract_seeds() -> dict[str, bytes]:
    """The contracts of the packaged models when readable (else a default one), as JSON bytes."""
    from edgederain.contract import IOContract

    out = {"default.json": IOContract().to_json().encode()}
    weights = Path(__file__).resolve().parents[2] / "edgederain" / "weights"
    for onnx_file in sorted(weights.glob("*.onnx")):
        text = packaged_contract_text(onnx_file)
        if text is not None:
            out[onnx_file.stem + ".json"] = text.encode()
    return out


def packaged_contract_text(path: Path) -> str | None:
    """The contract JSON stored in an ONNX file, through ONNX Runtime; None if unavailable."""
    try:
        import onnxruntime as ort
    except ImportError:
        return None
    from edgederain.contract import METADATA_KEY

    opts = ort.SessionOptions()
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    sess = ort.InferenceSession(str(path), sess_options=opts, providers=["CPUExecutionProvider"])
    return sess.get_modelmeta().custom_metadata_map.get(METADATA_KEY)


def write_seeds(folder: Path, seeds: dict[str, bytes]) -> Path:
    """Write ``seeds`` into ``folder`` (created) unless it already holds files; return it."""
    folder.mkdir(parents=True, exist_ok=True)
    if not any(folder.iterdir()):
        for name, data in seeds.items():
            (folder / name).write_bytes(data)
    return folder
