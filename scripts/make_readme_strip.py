"""Make the README's before/after strip: rainy | derained | clean.

The photo is Kodak's kodim10, one of the backgrounds held out of training (Kodak released the
suite for unrestricted use); the rain is the synthetic `light` preset, drawn with a fixed seed.
Usage: .venv/bin/python scripts/make_readme_strip.py [OUT.jpg]
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
from PIL import Image

from edgederain.io import read_rgb
from edgederain.metrics import psnr
from edgederain.runtime import DerainSession
from edgederain.runtime.default_model import default_model_path
from edgederain.data.synth import add_rain

REPO = Path(__file__).resolve().parents[1]
PHOTO = REPO.parent / "shared" / "data" / "backgrounds" / "kodak24" / "kodim10.png"


def main(out: Path) -> None:
    clean = read_rgb(PHOTO)
    rainy = add_rain(clean, config="light", rng=10)
    derained = DerainSession(default_model_path()).run(rainy)
    gap = np.full((clean.shape[0], 8, 3), 255, np.uint8)
    strip = np.concatenate([rainy, gap, derained, gap, clean], axis=1)
    img = Image.fromarray(strip)
    img = img.resize((img.width * 3 // 5, img.height * 3 // 5), Image.LANCZOS)
    img.save(out, quality=88)
    print(f"wrote {out}: rainy {psnr(rainy, clean, y_channel=True):.2f} dB Y -> "
          f"derained {psnr(derained, clean, y_channel=True):.2f} dB Y")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else REPO / "docs" / "img" / "strip.jpg")
