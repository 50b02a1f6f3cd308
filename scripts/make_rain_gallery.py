"""The rain gallery of docs/img/rain_gallery.jpg: every rain preset on the same two backgrounds.

Columns: each preset of ``edgederain.data.rain_presets.PRESETS`` (but ``clear``, which adds
nothing), with ``--baselines`` albumentations' and kornia's RandomRain as
``benchmarks/rain_baselines.py`` draws them (both must be installed), then Rain100L. Rows: the preset
drawn on two held-out backgrounds (a CamVid road frame and an Urban100 street), then the rain
layer alone (rainy - clean, max over RGB, on black) of the first. Rain100L's column shows only the
rain layers of two of its pairs (benchmark photos are not redistributed). Fixed seeds.

    .venv/bin/python scripts/make_rain_gallery.py [--out docs/img/rain_gallery.jpg] [--baselines]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from edgederain.io import read_rgb
from edgederain.data.datasets import list_backgrounds, load_background, split_holdout
from edgederain.data.rain_presets import PRESETS
from edgederain.data.synth import add_rain

REPO = Path(__file__).resolve().parents[1]
DATA = REPO.parent / "shared" / "data"
TILE = (240, 160)


def _fit(img: np.ndarray) -> Image.Image:
    """Centre-crop to 3:2 and resize to the tile size."""
    h, w = img.shape[:2]
    th = min(h, int(w * TILE[1] / TILE[0]))
    tw = int(th * TILE[0] / TILE[1])
    top, left = (h - th) // 2, (w - tw) // 2
    return Image.fromarray(img[top : top + th, left : left + tw]).resize(TILE, Image.LANCZOS)


def _layer(rainy: np.ndarray, clean: np.ndarray) -> np.ndarray:
    d = np.clip(rainy.astype(int) - clean.astype(int), 0, 255).max(axis=-1).astype(np.uint8)
    return np.repeat(d[..., None], 3, axis=-1)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=REPO / "docs" / "img" / "rain_gallery.jpg")
    ap.add_argument("--baselines", action="store_true", help="add albumentations' and kornia's RandomRain")
    args = ap.parse_args()
    _, held = split_holdout(list_backgrounds([DATA / "backgrounds"]), every=20)
    picks = [next(p for p in held if "camvid" in str(p)), next(p for p in held if "urban100" in str(p))]
    backgrounds = [load_background(p, max_side=480) for p in picks]
    columns: list[tuple[str, list[Image.Image]]] = []
    for k, name in enumerate(PRESETS):
        if name == "clear":
            continue
        rainy = [add_rain(bg, config=name, rng=[7, k, i]) for i, bg in enumerate(backgrounds)]
        columns.append((name, [_fit(r) for r in rainy] + [_fit(_layer(rainy[0], backgrounds[0]))]))
    if args.baselines:
        sys.path.insert(0, str(REPO / "benchmarks"))
        from rain_baselines import ENGINES

        for k, name in enumerate(("albumentations", "kornia")):
            rainy = [ENGINES[name](bg, np.random.default_rng([8, k, i])) for i, bg in enumerate(backgrounds)]
            columns.append((f"{name} RandomRain", [_fit(r) for r in rainy]
                            + [_fit(_layer(rainy[0], backgrounds[0]))]))
    r100 = DATA / "rain100l"
    if (r100 / "rainy").is_dir():
        layers = [_fit(_layer(read_rgb(r100 / "rainy" / f"{i}.png"), read_rgb(r100 / "clean" / f"{i}.png")))
                  for i in (3, 42)]
        columns.append(("Rain100L (rain only)", [Image.new("RGB", TILE, (32, 32, 32)), *layers]))
    head = 22
    sheet = Image.new("RGB", (TILE[0] * len(columns), head + TILE[1] * 3), (255, 255, 255))
    draw = ImageDraw.Draw(sheet)
    for c, (name, tiles) in enumerate(columns):
        draw.text((c * TILE[0] + 6, 5), name, fill=(0, 0, 0))
        for r, tile in enumerate(tiles):
            sheet.paste(tile, (c * TILE[0], head + r * TILE[1]))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    sheet.save(args.out, quality=85)
    print(f"wrote {args.out} ({sheet.size[0]}x{sheet.size[1]}; backgrounds {[p.name for p in picks]})")


if __name__ == "__main__":
    main()
