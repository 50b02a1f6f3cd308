"""Write the synthetic rainy test videos (and their clean ground truth) as files, to look at them or
to feed ``edgederain derain``: a camera still, panning or zooming over clean background photos
from ``../shared/data/backgrounds``, fresh synthetic rain on every frame.

    .venv/bin/python scripts/make_test_videos.py --out runs/video-clips
    .venv/bin/edgederain derain runs/video-clips/rainy -o runs/video-clips/derained --temporal --preview

Writes ``OUT/rainy/NAME.mkv`` and ``OUT/clean/NAME.mkv`` (lossless FFV1, so the ground truth is
exact) for the clips of ``benchmarks/video_flicker.py``. The files are derived from research data:
keep them under ``runs/`` or a temporary folder, never commit them.
"""

from __future__ import annotations

import argparse
import sys
from fractions import Fraction
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "benchmarks"))

from video_common import DATA, load_background  # noqa: E402
from video_flicker import CLIPS  # noqa: E402

from edgederain.video import VideoInfo, VideoWriter  # noqa: E402
from edgederain.video_synth import render_clip  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", type=Path, default=REPO / "runs" / "video-clips")
    ap.add_argument("--frames", type=int, default=48)
    ap.add_argument("--size", default="240x320", help="HxW")
    ap.add_argument("--fps", type=int, default=25)
    args = ap.parse_args()
    h, w = (int(v) for v in args.size.split("x"))
    for folder, file, motion, rain, moving, seed in CLIPS:
        clip = render_clip(load_background(DATA / "backgrounds" / folder / file), size=(h, w),
                           frames=args.frames, motion=motion, rain=rain, seed=seed, moving_object=moving)
        name = f"{folder}-{Path(file).stem[:12]}-{motion}{'-object' if moving else ''}-{rain}.mkv"
        for kind, frames in (("rainy", clip.rainy), ("clean", clip.clean)):
            (args.out / kind).mkdir(parents=True, exist_ok=True)
            with VideoWriter(args.out / kind / name, VideoInfo(w, h, Fraction(args.fps), "ffv1", None)) as writer:
                for f in frames:
                    writer.write(f)
        print(args.out / "rainy" / name)


if __name__ == "__main__":
    main()
