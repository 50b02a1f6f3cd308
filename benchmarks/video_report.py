"""Print the tables of docs/video.md from benchmarks/results/video_flicker.json and video_throughput.json.

    .venv/bin/python benchmarks/video_report.py
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

RESULTS = Path(__file__).resolve().parent / "results"


def flicker_tables(d: dict) -> None:
    modes = list(d["modes"])
    print("| mode | mean PSNR Y | mean PSNR RGB | warping error, exact flow (x1e-3) | warping error, flow of the input (x1e-3) | temporal std, still clips |")
    print("|---|---:|---:|---:|---:|---:|")
    s = d["summary"]
    clips = d["clips"]
    for label, key in (("rainy input", "rainy"), ("clean video", "clean")):
        rows = [c["reference"][key] for c in clips]
        still = [r["temporal_std"] for r in rows if "temporal_std" in r]
        print(f"| {label} | {np.mean([r['mean_psnr_y'] for r in rows]):.2f} | {np.mean([r['mean_psnr_rgb'] for r in rows]):.2f} | "
              f"{1e3 * np.mean([r['warp_exact'] for r in rows]):.3f} | {1e3 * np.mean([r['warp_input_flow'] for r in rows]):.3f} | {np.mean(still):.2f} |")
    base = s["per-frame"]
    for m in modes:
        r = s[m]
        d_psnr = r["mean_psnr_y"] - base["mean_psnr_y"]
        d_warp = 100 * (r["warp_exact"] / base["warp_exact"] - 1)
        extra = "" if m == "per-frame" else f" ({d_psnr:+.2f} dB, {d_warp:+.1f} %)"
        print(f"| {m} | {r['mean_psnr_y']:.2f}{extra} | {r['mean_psnr_rgb']:.2f} | {1e3 * r['warp_exact']:.3f} | "
              f"{1e3 * r['warp_input_flow']:.3f} | {r['temporal_std_static']:.2f} |")
    print()
    print("| clip | rain | rainy | per-frame | " + " | ".join(modes[1:]) + " | worst frame, flow vs per-frame |")
    print("|---|---|---:|---:|" + "---:|" * (len(modes) - 1) + "---:|")
    for c in clips:
        name = f"{c['background']} {c['motion']}" + (" + object" if c["moving_object"] else "")
        cells = [f"{c['per-frame']['mean_psnr_y']:.2f} / {1e3 * c['per-frame']['warp_exact']:.2f}"]
        cells += [f"{c[m]['mean_psnr_y']:.2f} / {1e3 * c[m]['warp_exact']:.2f}" for m in modes[1:]]
        worst = min(np.array(c["flow"]["psnr_y"]) - np.array(c["per-frame"]["psnr_y"]))
        print(f"| {name} | {c['rain']} | {c['reference']['rainy']['mean_psnr_y']:.2f} | " + " | ".join(cells) + f" | {worst:+.2f} dB |")


def per_frame_table(d: dict, picks=("camvid/0016E5_07860.png", "camvid/Seq05VD_f01800.png")) -> None:
    """PSNR Y frame by frame, per-frame model vs flow, for a still clip and a pan with an object."""
    clips = [c for c in d["clips"] if c["background"] in picks]
    print("| frame | " + " | ".join(f"{c['background'].split('/')[-1]} {c['motion']}{' + object' if c['moving_object'] else ''}: per-frame / flow" for c in clips) + " |")
    print("|---:|" + "---:|" * len(clips))
    for t in range(len(clips[0]["per-frame"]["psnr_y"])):
        print(f"| {t} | " + " | ".join(f"{c['per-frame']['psnr_y'][t]:.2f} / {c['flow']['psnr_y'][t]:.2f}" for c in clips) + " |")


def throughput_table(d: dict) -> None:
    print("| frame | model | threads | stream fps (batch 1) | ms/frame | batch 2 fps | file fps (decode + model + flow + encode) | mask ms/frame | flow ms/frame | load average at start |")
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for size, entry in d["sizes"].items():
        for run in entry["runs"]:
            rows = run["rows"]
            load = run["machine"]["load_average_at_start"][0]
            for r in rows:
                if "file" in r or r.get("batch") != 1:
                    continue
                two = next((x for x in rows if x.get("batch") == 2 and x["precision"] == r["precision"] and x["threads"] == r["threads"]), None)
                file = next((x["file"] for x in rows if "file" in x and x["precision"] == r["precision"] and x["threads"] == r["threads"]), None)
                print(f"| {size} | {r['precision'].upper()} | {r['threads']} | {r['fps']:.2f} | {r['ms_per_frame']:.0f} | "
                      f"{two['fps']:.2f} | " if two else f"| {size} | {r['precision'].upper()} | {r['threads']} | {r['fps']:.2f} | {r['ms_per_frame']:.0f} | - | ", end="")
                print(f"{file['fps']:.2f} | " if file else "- | ", end="")
                print(f"{r['temporal_mask_ms_per_frame']:.1f} | {r['temporal_flow_ms_per_frame']:.1f} | {load:.1f} |")


def main() -> None:
    flicker = RESULTS / "video_flicker.json"
    if flicker.exists():
        flicker_tables(json.loads(flicker.read_text()))
        print()
        per_frame_table(json.loads(flicker.read_text()))
        print()
    throughput = RESULTS / "video_throughput.json"
    if throughput.exists():
        throughput_table(json.loads(throughput.read_text()))


if __name__ == "__main__":
    main()
