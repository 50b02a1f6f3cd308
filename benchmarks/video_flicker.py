"""Flicker and PSNR on synthetic rainy videos: per-frame model vs the temporal stabiliser.

    .venv/bin/python benchmarks/video_flicker.py --json benchmarks/results/video_flicker.json

Clips (:mod:`edgederain.video_synth`): a camera still, panning, zooming, or both, over clean
backgrounds from ``../shared/data/backgrounds`` (CamVid road frames, Urban100, SUN, Kodak), with
fresh synthetic rain on every frame, so each frame has its ground truth and the exact flow between
frames is known. The model runs once per frame; each stabiliser mode then filters the same raw
outputs in order (the filter only sees model outputs, so this equals running the stream with it).

Per mode: PSNR (Y and RGB) of every frame against its clean frame, the warping error between
consecutive outputs with the exact camera flow (``warp_exact``) and with DIS flow estimated on the
rainy input video with a forward-backward occlusion mask (``warp_input_flow``), and on the still
clips the per-pixel temporal standard deviation of the output against the clean video's.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
from video_common import DATA, REPO, load_background, machine

from edgederain.flicker import estimate_flows, temporal_std, warping_errors
from edgederain.metrics import psnr
from edgederain.runtime import DerainSession, SessionConfig
from edgederain.runtime.default_model import default_model_path
from edgederain.runtime.temporal import TemporalConfig, TemporalFilter
from edgederain.video_synth import render_clip

CLIPS = (  # (background set, file, motion, rain, an object moving on its own, seed)
    ("camvid", "0001TP_006690.png", "pan", "light", False, 1000),
    ("camvid", "0006R0_f03480.png", "pan-zoom", "heavy", False, 1040),
    ("camvid", "0016E5_07860.png", "static", "light", False, 1080),
    ("urban100", "img_005.png", "zoom", "light", False, 1005),
    ("urban100", "img_032.png", "pan", "heavy", False, 1030),
    ("sun_hays80", "building_facade_sun_bpaohzcfkhzodryb.jpg", "static", "heavy", False, 1010),
    ("sun_hays80", "oil_refinery_sun_axwkczecdqleaxqs.jpg", "pan", "light", False, 1050),
    ("kodak24", "kodim03.png", "zoom", "heavy", False, 1003),
    ("camvid", "Seq05VD_f00300.png", "static", "light", True, 1100),
    ("camvid", "Seq05VD_f01800.png", "pan", "light", True, 1120),
    ("sun_hays80", "village_sun_abdgedtspkcucrao.jpg", "zoom", "heavy", True, 1070),
)
MODES = {
    "per-frame": None,
    "mask": TemporalConfig(motion="mask"),
    "flow": TemporalConfig(motion="flow"),
    "flow-gentle": TemporalConfig(motion="flow", threshold=0.1),
    "flow-strong": TemporalConfig(motion="flow", threshold=0.2),
}


def clip_scores(frames: list[np.ndarray], clip, input_flow) -> dict:
    y = [psnr(f, c, y_channel=True) for f, c in zip(frames, clip.clean)]
    rgb = [psnr(f, c) for f, c in zip(frames, clip.clean)]
    out = {
        "psnr_y": [round(v, 3) for v in y], "mean_psnr_y": float(np.mean(y)), "mean_psnr_rgb": float(np.mean(rgb)),
        "warp_exact": float(np.mean(warping_errors(frames, clip.flows, clip.valid))),
        "warp_input_flow": float(np.nanmean(warping_errors(frames, *input_flow))),
    }
    if clip.motion == "static" and not clip.moving_object:
        out["temporal_std"] = temporal_std(frames)
    return out


def run_clip(session: DerainSession, spec, args) -> dict:
    folder, name, motion, rain, moving, seed = spec
    path = DATA / "backgrounds" / folder / name
    clip = render_clip(load_background(path), size=(args.height, args.width), frames=args.frames,
                       motion=motion, rain=rain, seed=seed, moving_object=moving)
    raw = [session.run(f) for f in clip.rainy]
    input_flow = estimate_flows(clip.rainy)
    result = {"background": f"{folder}/{path.name}", "motion": motion, "rain": rain, "moving_object": moving,
              "reference": {"rainy": clip_scores(clip.rainy, clip, input_flow),
                            "clean": clip_scores(clip.clean, clip, input_flow)}}
    for name, cfg in MODES.items():
        if cfg is None:
            result[name] = clip_scores(raw, clip, input_flow)
            continue
        filt = TemporalFilter(cfg)
        result[name] = clip_scores([filt.apply(f) for f in raw], clip, input_flow)
    return result


def summarise(clips: list[dict]) -> dict:
    summary = {}
    for mode in ("per-frame", *list(MODES)[1:]):
        rows = [c[mode] for c in clips]
        summary[mode] = {
            "mean_psnr_y": float(np.mean([r["mean_psnr_y"] for r in rows])),
            "mean_psnr_rgb": float(np.mean([r["mean_psnr_rgb"] for r in rows])),
            "warp_exact": float(np.mean([r["warp_exact"] for r in rows])),
            "warp_input_flow": float(np.mean([r["warp_input_flow"] for r in rows])),
            "temporal_std_static": float(np.mean([r["temporal_std"] for r in rows if "temporal_std" in r])),
        }
    return summary


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--json", type=Path, default=REPO / "benchmarks" / "results" / "video_flicker.json")
    ap.add_argument("--frames", type=int, default=16)
    ap.add_argument("--height", type=int, default=240)
    ap.add_argument("--width", type=int, default=320)
    ap.add_argument("--precision", choices=("fp32", "int8"), default="fp32")
    ap.add_argument("--clips", type=int, default=len(CLIPS), help="Use the first N clips (a quick check).")
    args = ap.parse_args()
    model = default_model_path(precision=args.precision)
    session = DerainSession(model, SessionConfig.for_provider("cpu", threads=1))
    start, clips = time.perf_counter(), []
    for spec in CLIPS[: args.clips]:
        clips.append(run_clip(session, spec, args))
        print(spec, {m: round(clips[-1][m]["mean_psnr_y"], 2) for m in MODES},
              {m: round(1e3 * clips[-1][m]["warp_exact"], 3) for m in MODES}, flush=True)
    record = {
        "what": "synthetic rainy clips, per-frame model vs temporal stabiliser; warp errors are mean "
                "squared RGB differences in [0, 1] between consecutive outputs, warped, occlusions masked",
        "command": "benchmarks/video_flicker.py " + " ".join(f"--{k} {v}" for k, v in vars(args).items() if k != "json"),
        "model": str(model.relative_to(REPO)), "frame_size": [args.height, args.width], "frames_per_clip": args.frames,
        "modes": {k: (None if v is None else vars(v)) for k, v in MODES.items()},
        "summary": summarise(clips), "clips": clips, "machine": machine(),
        "seconds": round(time.perf_counter() - start, 1),
    }
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(record, indent=1) + "\n", encoding="utf-8")
    print(json.dumps(record["summary"], indent=1))


if __name__ == "__main__":
    main()
