"""Export benchmark: variant x precision -> file size, parity at export, Rain100L PSNR/SSIM, CPU latency.

    nice -n 5 .venv/bin/python benchmarks/bench_export.py --checkpoint runs/short/derain_best.pt \
        --out runs/bench/bench_export.json

Each precision is exported with ``export_onnx`` (its gates run as usual; their figures are read
back from the file's contract). INT8 is calibrated on CamVid road frames with synthetic rain.
Latency: ONNX Runtime CPU provider, ``--threads`` intra-op threads, one 1 x 3 x 320 x 480 input
(Rain100L's size), median of ``--runs`` timed runs after warm-up; PyTorch eager FP32 with the
same thread count as the baseline. Timings on a shared machine vary: rerun before comparing.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
DATA = REPO.parent / "shared" / "data"
PRECISIONS = ("fp32", "fp16", "int8-u8s8", "int8-s8s8")


def _args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--checkpoint", type=Path, action="append", default=[],
                   help="checkpoint(s) to export; repeat for several variants")
    p.add_argument("--out", type=Path, default=REPO / "runs" / "bench" / "bench_export.json")
    p.add_argument("--precisions", nargs="*", default=list(PRECISIONS), choices=PRECISIONS)
    p.add_argument("--eval-frames", type=int, default=20)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--runs", type=int, default=10)
    p.add_argument("--warmup", type=int, default=3)
    p.add_argument("--table", type=Path, help="only print the markdown table of an existing JSON")
    return p.parse_args()


def _config(precision: str):
    from edgederain.calibration.quantize import QuantizeConfig
    from edgederain.export import ExportConfig

    verify = DATA / "rain100l"
    if precision.startswith("int8"):
        return ExportConfig(precision="int8", verify_data=verify, verify_frames=2,
                            calib_data=DATA / "backgrounds" / "camvid", calib_rain="light",
                            calib_frames=16, quantize=QuantizeConfig(scheme=precision[5:], progress=False))
    return ExportConfig(precision=precision, verify_data=verify, verify_frames=2)


def _latency(fn, x, *, warmup: int, runs: int) -> dict:
    for _ in range(warmup):
        fn(x)
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn(x)
        times.append(time.perf_counter() - start)
    return {"median_ms": 1e3 * float(np.median(times)), "p90_ms": 1e3 * float(np.percentile(times, 90)),
            "min_ms": 1e3 * min(times)}


def _rain100l(runner, frames) -> dict:
    from edgederain.export.gates import frame_metrics, mean_metrics

    return mean_metrics([frame_metrics(runner(f.input), f.target) for f in frames])


def _gate_summary(contract) -> dict:
    return {name: {"psnr_db": g["summary"]["psnr_db"], "max_abs": g["summary"]["max_abs"],
                   "p99_abs": g["summary"]["p99_abs"], "extreme_nan": g.get("extreme_inputs", {}).get("nan_count")}
            for name, g in (contract.parity or {}).items() if isinstance(g, dict) and "summary" in g}


def _bench_checkpoint(ckpt: Path, args, frames, x) -> dict:
    import onnxruntime as ort
    import torch

    from edgederain.export import export_onnx
    from edgederain.export.torch_runner import TorchRunner
    from edgederain.train.checkpoint import load_derain_model

    torch.set_num_threads(args.threads)
    net, data = load_derain_model(ckpt)
    torch_runner = TorchRunner(net)
    row = {"checkpoint": str(ckpt), "model_config": data["model_config"],
           "pytorch_fp32": {"rain100l": _rain100l(torch_runner, frames),
                            "latency": _latency(torch_runner, x, warmup=1, runs=max(3, args.runs // 2))}}
    out_dir = args.out.parent / ckpt.stem
    out_dir.mkdir(parents=True, exist_ok=True)
    for precision in args.precisions:
        result = export_onnx(ckpt, out_dir / f"{precision}.onnx", config=_config(precision))
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = args.threads
        sess = ort.InferenceSession(str(result.path), opts, providers=["CPUExecutionProvider"])
        run = lambda t, s=sess: s.run(None, {"image": t})[0]  # noqa: E731
        row[precision] = {"file_mb": result.size_bytes / 1e6, "export_s": result.seconds,
                          "gates": _gate_summary(result.contract), "rain100l": _rain100l(run, frames),
                          "latency": _latency(run, x, warmup=args.warmup, runs=args.runs)}
        print(precision, json.dumps(row[precision]), flush=True)
    return row


def _psnr(v) -> str:
    return v if isinstance(v, str) else f"{v:.1f}"


def markdown_table(record: dict) -> str:
    """variant x precision table of a benchmark record."""
    lines = ["| checkpoint | precision | file MB | gate: PSNR dB / max abs | Rain100L PSNR / SSIM (RGB) "
             "| PSNR / SSIM (Y) | CPU ms 480x320 |", "|---|---|---|---|---|---|---|"]
    for row in record["results"]:
        name = Path(row["checkpoint"]).name
        for prec in ("pytorch_fp32", *PRECISIONS):
            if prec not in row:
                continue
            r = row[prec]
            gates = "; ".join(f"{k}: {_psnr(g['psnr_db'])} / {g['max_abs']:.1e}" for k, g in r.get("gates", {}).items())
            m = r["rain100l"]
            lines.append(f"| {name} | {prec} | {r.get('file_mb', float('nan')):.2f} | {gates or '-'} | "
                         f"{m['psnr_rgb']:.2f} / {m['ssim_rgb']:.4f} | {m['psnr_y']:.2f} / {m['ssim_y']:.4f} | "
                         f"{r['latency']['median_ms']:.0f} |")
    return "\n".join(lines)


def main() -> None:
    args = _args()
    if args.table is not None:
        print(markdown_table(json.loads(args.table.read_text())))
        return
    from edgederain.export.data import load_eval_frames

    frames = load_eval_frames(DATA / "rain100l", limit=args.eval_frames)
    x = np.random.default_rng(0).random((1, 3, 320, 480), dtype=np.float32)
    record = {"eval": f"rain100l frames 1..{len(frames)}", "latency_input": [1, 3, 320, 480],
              "threads": args.threads, "results": [_bench_checkpoint(c, args, frames, x) for c in args.checkpoint]}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(record, indent=2))
    print(markdown_table(record))
    print(f"written {args.out}")


if __name__ == "__main__":
    main()
