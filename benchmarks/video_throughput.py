"""Video throughput: frames per second of DerainStream and of a whole file through derain, and what
the temporal stabiliser costs per frame, at 480x320 and 1280x720 on this CPU.

    .venv/bin/python benchmarks/video_throughput.py --size 320x480 --json benchmarks/results/video_throughput.json
    .venv/bin/python benchmarks/video_throughput.py --size 720x1280 --frames 3 --json ...   # merges

For each packaged precision (FP32, INT8) and thread count (1, 2): the stream's model time per frame
(after one untimed warm-up frame), the temporal filter's time per frame in ``mask`` and ``flow``
mode (on the same derained frames, OpenCV limited to one thread), and batch 2 against batch 1
(``--batch-check``). ``file`` rows time :func:`edgederain.derain_video.derain_video` on an H.264
file (decode + model + flow stabiliser + encode), 2 threads. Frames are a CamVid pan with
synthetic light rain. Each run merges its size into the JSON file, with the machine record and
load average: pause other CPU work around it for an idle-machine figure.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import numpy as np
from video_common import DATA, REPO, load_background, machine

from edgederain.runtime import DerainSession, SessionConfig
from edgederain.runtime.default_model import default_model_path
from edgederain.runtime.stream import DerainStream
from edgederain.runtime.temporal import TemporalConfig, TemporalFilter
from edgederain.video_synth import render_clip


def frames_for(size: tuple[int, int], n: int) -> list[np.ndarray]:
    h, w = size
    path = sorted((DATA / "backgrounds" / "camvid").iterdir())[0]
    background = load_background(path, width=int(w * 1.4))
    if background.shape[0] < h:
        background = load_background(path, width=int(w * 1.4 * h / background.shape[0]) + 1)
    return render_clip(background, size=size, frames=n, motion="pan", rain="light", seed=5).rainy


def time_stream(session, frames: list[np.ndarray], batch: int) -> dict:
    stream = DerainStream(session, batch=batch)
    list(stream.run(frames[:batch]))  # warm-up
    stream = DerainStream(session, batch=batch)
    start = time.perf_counter()
    outs = list(stream.run(frames))
    seconds = time.perf_counter() - start
    return {"frames": len(outs), "fps": len(outs) / seconds, "ms_per_frame": 1e3 * seconds / len(outs),
            "outputs": outs}


def time_temporal(outs: list[np.ndarray]) -> dict:
    import cv2

    cv2.setNumThreads(1)
    result = {}
    for motion in ("mask", "flow"):
        filt = TemporalFilter(TemporalConfig(motion=motion))
        filt.apply(outs[0])
        sequence = (outs[1:] + outs[::-1]) * max(1, 20 // len(outs))  # >= 20 timed frames, in motion
        start = time.perf_counter()
        for o in sequence:
            filt.apply(o)
        result[f"temporal_{motion}_ms_per_frame"] = 1e3 * (time.perf_counter() - start) / len(sequence)
    return result


def time_file(session, frames: list[np.ndarray]) -> dict:
    from edgederain.derain_video import derain_video
    from edgederain.video import VideoInfo, VideoWriter
    from fractions import Fraction

    with tempfile.TemporaryDirectory() as tmp:
        src, dst = Path(tmp) / "in.mp4", Path(tmp) / "out.mp4"
        h, w = frames[0].shape[:2]
        with VideoWriter(src, VideoInfo(w, h, Fraction(25), "libx264", None)) as writer:
            for f in frames:
                writer.write(f)
        start = time.perf_counter()
        result = derain_video(session, src, dst, temporal=TemporalConfig(motion="flow"))
        seconds = time.perf_counter() - start
    return {"frames": result.frames, "fps": result.frames / seconds, "notes": list(result.notes)}


def measure(size: tuple[int, int], args) -> dict:
    frames = frames_for(size, args.frames)
    rows = []
    for precision in args.precisions:
        for threads in (1, 2):
            session = DerainSession(default_model_path(precision=precision),
                                    SessionConfig.for_provider("cpu", threads=threads))
            run = time_stream(session, frames, 1)
            row = {"precision": precision, "threads": threads, "batch": 1,
                   **{k: v for k, v in run.items() if k != "outputs"}, **time_temporal(run["outputs"])}
            rows.append(row)
            print(row, flush=True)
            if args.batch_check and threads == 2:
                two = time_stream(session, frames, 2)
                rows.append({"precision": precision, "threads": threads, "batch": 2,
                             **{k: v for k, v in two.items() if k != "outputs"}})
                print(rows[-1], flush=True)
            if threads == 2:
                rows.append({"precision": precision, "threads": 2, "file": time_file(session, frames)})
                print(rows[-1], flush=True)
    return {"frames": args.frames, "rows": rows}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--size", default="320x480", help="HxW")
    ap.add_argument("--frames", type=int, default=6)
    ap.add_argument("--batch-check", action="store_true", help="Also time batch 2 with 2 threads.")
    ap.add_argument("--precisions", nargs="+", default=["fp32", "int8"], choices=["fp32", "int8"])
    ap.add_argument("--json", type=Path, default=REPO / "benchmarks" / "results" / "video_throughput.json")
    args = ap.parse_args()
    size = tuple(int(v) for v in args.size.lower().split("x"))
    info = machine()
    result = measure(size, args)
    record = json.loads(args.json.read_text()) if args.json.exists() else {"sizes": {}}
    record["what"] = ("DerainStream frames per second (model only, batch 1 unless stated), temporal filter "
                      "cost per frame, and whole-file derain (decode + model + flow stabiliser + encode)")
    key = f"{size[1]}x{size[0]}"
    command = (f"benchmarks/video_throughput.py --size {args.size} --frames {args.frames} --precisions "
               + " ".join(args.precisions) + (" --batch-check" if args.batch_check else ""))
    runs = [r for r in record["sizes"].get(key, {}).get("runs", []) if r["precisions"] != args.precisions]
    runs.append({"precisions": args.precisions, **result, "machine": info, "command": command})
    record["sizes"][key] = {"runs": runs}
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(record, indent=1) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
