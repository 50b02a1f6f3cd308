"""Memory a frame needs on the CPU provider: peak resident memory of one untiled run, per pixel.

    OMP_NUM_THREADS=1 nice -n 15 .venv/bin/python benchmarks/runtime_memory.py \\
        --sizes 256x256,512x512,720x1280 --threads 2 --json benchmarks/results/runtime_memory.json

Each size runs in a fresh Python process (Linux only: it reads ``/proc/self/status``): create the
session on the packaged FP32 model (or ``--model``), run one small frame, reset the peak-RSS
counter (``/proc/self/clear_refs``), build a uint8 frame of the size, run it once and read the
peak (``VmHWM``). The difference from the RSS just before the frame was built is what that frame
cost: the caller's uint8 frame and output, the float32 input tensor, ONNX Runtime's activations
and its arena. A least-squares line ``bytes = fixed + per_pixel * H * W`` over the sizes gives
the figure the runtime uses to estimate a frame's memory (``edgederain.runtime.memory``).
"""

from __future__ import annotations

import argparse
import json
import platform
import subprocess
import sys
from pathlib import Path

_WORKER = r"""
import json, sys
import numpy as np
from edgederain.runtime import DerainSession, SessionConfig

def status(key):
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1]) * 1024
    raise KeyError(key)

model, h, w, threads = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
s = DerainSession(model, SessionConfig.for_provider("cpu", threads=threads, memory_budget=None))
s.run(np.zeros((16, 16, 3), np.uint8))
with open("/proc/self/clear_refs", "w") as f:
    f.write("5")
before = status("VmRSS")
frame = np.random.default_rng(0).integers(0, 256, (h, w, 3), dtype=np.uint8)
s.run(frame)
print(json.dumps({"height": h, "width": w, "rss_before": before, "peak": status("VmHWM")}))
"""


def _measure(model: str, h: int, w: int, threads: int) -> dict:
    out = subprocess.run(
        [sys.executable, "-c", _WORKER, model, str(h), str(w), str(threads)],
        check=True, capture_output=True, text=True,
    )
    row = json.loads(out.stdout.strip().splitlines()[-1])
    row["pixels"] = h * w
    row["frame_bytes"] = row["peak"] - row["rss_before"]
    row["bytes_per_pixel"] = row["frame_bytes"] / row["pixels"]
    return row


def _fit(rows: list[dict]) -> tuple[float, float]:
    n = len(rows)
    xs = [r["pixels"] for r in rows]
    ys = [r["frame_bytes"] for r in rows]
    mx, my = sum(xs) / n, sum(ys) / n
    var = sum((x - mx) ** 2 for x in xs)
    slope = sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / var if var else my / mx
    return my - slope * mx, slope


def main() -> None:
    from edgederain.runtime.default_model import default_model_path

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default=str(default_model_path()))
    ap.add_argument("--sizes", default="256x256,512x512,720x1280")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--json", type=Path, default=None)
    args = ap.parse_args()
    sizes = [tuple(int(v) for v in s.split("x")) for s in args.sizes.split(",")]
    rows = [_measure(args.model, h, w, args.threads) for h, w in sizes]
    fixed, per_pixel = _fit(rows)
    import onnxruntime

    result = {
        "model": args.model,
        "threads": args.threads,
        "machine": {"processor": platform.processor(), "python": platform.python_version()},
        "onnxruntime": onnxruntime.__version__,
        "rows": rows,
        "fit": {"fixed_bytes": fixed, "bytes_per_pixel": per_pixel},
    }
    for r in rows:
        print(f"{r['height']}x{r['width']}: {r['frame_bytes'] / 2**20:.1f} MiB, "
              f"{r['bytes_per_pixel']:.0f} B/pixel")
    print(f"fit: {fixed / 2**20:.1f} MiB + {per_pixel:.0f} B/pixel")
    if args.json:
        args.json.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
