"""INT8 study: how calibration method, scheme, per-channel weights and the nodes kept in float
change accuracy, measured on Rain100L (PSNR/SSIM vs ground truth, and PSNR vs the FP32 outputs).

    nice -n 5 .venv/bin/python benchmarks/int8_study.py --checkpoint runs/short/derain_best.pt \
        --out runs/int8_study/int8_study.json

The FP32 graph is exported once (dynamo, opset 18); each variant is quantized from it. Variants
with the same calibration method share one calibration cache, so only the quantizer reruns.
Calibration frames: clean CamVid road frames with synthetic rain (the deployment-like default),
and, for comparison, Rain100L rainy frames held out from the evaluation frames. An untrained
network says nothing about INT8 (its output is nearly its input): pass a trained checkpoint.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import onnx

REPO = Path(__file__).resolve().parents[1]
DATA = REPO.parent / "shared" / "data"

# name -> QuantizeConfig keyword arguments
VARIANTS: dict[str, dict] = {
    "rlcn_only": dict(keep_float=("rlcn",)),
    "default(rlcn+io)": dict(),
    "+sigmoid": dict(keep_float=("rlcn", "io", "sigmoid")),
    "+stem+head": dict(keep_float=("rlcn", "io", "stem", "head")),
    "+stem": dict(keep_float=("rlcn", "io", "stem")),
    "+head": dict(keep_float=("rlcn", "io", "head")),
    "convs_only": dict(op_types=("Conv",)),
    "per_tensor": dict(per_channel=False),
    "percentile": dict(method="percentile"),
    "entropy": dict(method="entropy"),
    "s8s8": dict(scheme="s8s8"),
}


def _args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--checkpoint", type=Path, required=True)
    p.add_argument("--out", type=Path, default=REPO / "runs" / "int8_study" / "int8_study.json")
    p.add_argument("--eval-frames", type=int, default=12, help="Rain100L frames 1..N for evaluation")
    p.add_argument("--calib-frames", type=int, default=16)
    p.add_argument("--calib-crop", type=int, default=256)
    p.add_argument("--variants", nargs="*", default=list(VARIANTS), choices=list(VARIANTS))
    p.add_argument("--latency-runs", type=int, default=5, help="timed runs at 1x3x320x480 (0: skip)")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--rain100l-calibration", action="store_true",
                   help="also calibrate the default variant on held-out Rain100L rainy frames")
    return p.parse_args()


def _evaluate(runner, ref_outputs, frames) -> dict:
    from edgederain.export.gates import frame_metrics, mean_metrics
    from edgederain.export.parity import compare_outputs

    outs = [runner(f.input) for f in frames]
    parity = [compare_outputs(r, o, threshold_db=0.0) for r, o in zip(ref_outputs, outs)]
    gt = mean_metrics([frame_metrics(o, f.target) for o, f in zip(outs, frames)])
    return {"psnr_vs_fp32_min": min(p.psnr_db for p in parity),
            "psnr_vs_fp32_mean": float(np.mean([p.psnr_db for p in parity])),
            "max_abs_vs_fp32": max(p.max_abs for p in parity), **gt}


def _latency_ms(model: onnx.ModelProto, args) -> float | None:
    """Median CPU latency (ms) at 1 x 3 x 320 x 480 with ``args.threads`` threads."""
    import onnxruntime as ort

    if args.latency_runs <= 0:
        return None
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = args.threads
    sess = ort.InferenceSession(model.SerializeToString(), opts, providers=["CPUExecutionProvider"])
    x = np.random.default_rng(0).random((1, 3, 320, 480), dtype=np.float32)
    sess.run(None, {"image": x})
    times = []
    for _ in range(args.latency_runs):
        start = time.perf_counter()
        sess.run(None, {"image": x})
        times.append(time.perf_counter() - start)
    return 1e3 * float(np.median(times))


def _calibration_sets(args):
    from edgederain.calibration.reader import CalibrationFrames

    sets = {"camvid+synthetic_rain": CalibrationFrames.from_synthetic(
        DATA / "backgrounds" / "camvid", max_frames=args.calib_frames, crop=args.calib_crop)}
    if args.rain100l_calibration:
        held_out = CalibrationFrames.from_folder(DATA / "rain100l", max_frames=100, crop=args.calib_crop)
        n = args.calib_frames
        sets["rain100l_rainy_held_out"] = CalibrationFrames(
            held_out.tensors[-n:], held_out.names[-n:], "rain100l rainy (last frames)", args.calib_crop)
    return sets


def main() -> None:
    args = _args()
    from edgederain.calibration.quantize import QuantizeConfig, quantize_model, quantized_convs
    from edgederain.export.data import load_eval_frames
    from edgederain.export.onnx_export import export_graph
    from edgederain.export.parity import OnnxRunner
    from edgederain.train.checkpoint import load_derain_model, sha256_of

    net, _ = load_derain_model(args.checkpoint)
    fp32 = export_graph(net)
    frames = load_eval_frames(DATA / "rain100l", limit=args.eval_frames)
    fp32_runner = OnnxRunner(fp32.SerializeToString())
    ref = [fp32_runner(f.input) for f in frames]
    record = {"checkpoint": str(args.checkpoint), "checkpoint_sha256": sha256_of(args.checkpoint),
              "eval": f"rain100l frames 1..{len(frames)}", "fp32": _evaluate(fp32_runner, ref, frames),
              "variants": {}, "latency_input": [1, 3, 320, 480], "threads": args.threads}
    record["fp32"]["latency_ms"] = _latency_ms(fp32, args)
    cache_dir = args.out.parent / "calib_cache"
    for calib_name, calib in _calibration_sets(args).items():
        names = args.variants if calib_name.startswith("camvid") else ["default(rlcn+io)"]
        for name in names:
            kwargs = VARIANTS[name]
            cache = cache_dir / f"{calib_name}_{kwargs.get('method', 'minmax')}.json"
            start = time.perf_counter()
            q = quantize_model(fp32, calib, config=QuantizeConfig(cache=cache, progress=False, **kwargs))
            seconds = time.perf_counter() - start
            metrics = _evaluate(OnnxRunner(q.model.SerializeToString()), ref, frames)
            metrics["drop_vs_fp32_db"] = record["fp32"]["psnr_rgb"] - metrics["psnr_rgb"]
            done, total = quantized_convs(q.model)
            key = f"{name} [{calib_name}]"
            record["variants"][key] = {**metrics, "settings": q.settings, "quantized_convs": f"{done}/{total}",
                                       "float_nodes": len(q.kept_float), "quantize_s": seconds,
                                       "latency_ms": _latency_ms(q.model, args)}
            print(f"{key:55s} vsFP32 {metrics['psnr_vs_fp32_min']:6.2f} dB  GT {metrics['psnr_rgb']:6.3f} "
                  f"(drop {metrics['drop_vs_fp32_db']:+.3f})  Y {metrics['psnr_y']:6.3f}  "
                  f"{record['variants'][key]['latency_ms'] or 0:.0f} ms", flush=True)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(record, indent=2))
    print(f"FP32 GT {record['fp32']['psnr_rgb']:.3f} dB; written {args.out}")


if __name__ == "__main__":
    main()
