"""Rain100L accuracy (Y-PSNR against ground truth) of the OpenVINO runtime paths: the FP32 file at
f32 and bf16, the INT8 file at f32 and bf16, next to ORT FP32 and ORT INT8. Writes one JSON file.

    .venv/bin/python benchmarks/openvino_accuracy.py --prepare            # Rain100L -> runs/r100l.npz
    .venv/bin/python benchmarks/openvino_accuracy.py --ort --int8 INT8.onnx  # ORT rows (this venv)
    PYTHONPATH=. /path/to/venv-with-openvino/bin/python benchmarks/openvino_accuracy.py --int8 INT8.onnx

The gate is the INT8 one (``edgederain.export.gates``): within 0.3 dB of FP32 against ground truth.
Frames go in as the runtime feeds them (float32 N x 3 x H x W in [0, 1]); outputs are rounded to
uint8 before scoring, as ``edgederain evaluate`` does. Needs numpy and openvino (or onnxruntime
with ``--ort``) only; the frames travel as an .npz because the OpenVINO venv has no Pillow.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
FP32 = REPO / "edgederain" / "weights" / "derain_fp32.onnx"


def prepare(path: Path) -> None:
    from edgederain.export.data import load_eval_frames

    frames = load_eval_frames(REPO.parent / "shared" / "data" / "rain100l")
    np.savez(path, **{f"x{i}": f.input for i, f in enumerate(frames)},
             **{f"t{i}": f.target for i, f in enumerate(frames)})
    print(f"wrote {path}: {len(frames)} pairs")


def score(run, data) -> dict:
    from edgederain.metrics import image_metrics

    n = len([k for k in data.files if k.startswith("x")])
    ys = []
    for i in range(n):
        y = run(data[f"x{i}"])[0].transpose(1, 2, 0)
        ys.append(image_metrics(np.rint(np.clip(y, 0, 1) * 255).astype(np.uint8), data[f"t{i}"])["psnr_y"])
    return {"frames": n, "psnr_y": float(np.mean(ys)), "min_psnr_y": float(np.min(ys))}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--frames", type=Path, default=REPO / "runs" / "r100l.npz")
    ap.add_argument("--prepare", action="store_true")
    ap.add_argument("--int8", type=Path, required=False)
    ap.add_argument("--fp32", type=Path, default=FP32, help="FP32 file (the reference)")
    ap.add_argument("--hints", default="f32,bf16",
                    help="OpenVINO precision hints to score (bf16 is emulated, slowly, on CPUs without bf16 units)")
    ap.add_argument("--ort", action="store_true", help="score ORT CPU instead of OpenVINO")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--out", type=Path)
    args = ap.parse_args()
    if args.prepare:
        return prepare(args.frames)
    from edgederain.bench import machine_info, versions

    data = np.load(args.frames)
    record = {"machine": machine_info()["isa"]["summary"], "versions": versions(), "results": {}}
    if args.ort:
        import onnxruntime as ort

        opts = ort.SessionOptions()
        opts.intra_op_num_threads = args.threads
        for name, path in (("ort_fp32", args.fp32), ("ort_int8", args.int8)):
            if path is None:
                continue
            s = ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])
            record["results"][name] = {"file": str(path), **score(lambda x, s=s: s.run(None, {"image": x})[0], data)}
    else:
        import openvino as ov

        core = ov.Core()
        record["versions"]["openvino"] = ov.__version__
        hints = set(args.hints.split(","))
        for name, path, hint in (("ov_f32", args.fp32, "f32"), ("ov_bf16", args.fp32, "bf16"),
                                 ("ov_int8", args.int8, "f32"), ("ov_int8_bf16", args.int8, "bf16")):
            if path is None or hint not in hints:
                continue
            c = core.compile_model(str(path), "CPU", {"INFERENCE_PRECISION_HINT": hint,
                                                      "INFERENCE_NUM_THREADS": args.threads})
            record["results"][name] = {"file": str(path), "hint": hint,
                                       **score(lambda x, c=c: c({0: x})[c.output(0)], data)}
    ref = record["results"].get("ort_fp32") or record["results"].get("ov_f32")
    for r in record["results"].values():
        r["drop_vs_fp32_db"] = ref["psnr_y"] - r["psnr_y"]
        print(r, flush=True)
    out = args.out or REPO / "runs" / ("r100l_ort.json" if args.ort else "r100l_openvino.json")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(record, indent=2))


if __name__ == "__main__":
    main()
