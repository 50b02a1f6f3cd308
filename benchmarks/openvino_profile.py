"""Where OpenVINO's time goes, per layer type and kernel, for each model file and precision hint:
which convolutions run on int8 / bf16 / AMX kernels, and what float islands and conversions cost.
Writes one JSON file.

    PYTHONPATH=. /path/to/venv-with-openvino/bin/python benchmarks/openvino_profile.py \\
        edgederain/weights/derain_fp32.onnx:f32 edgederain/weights/derain_fp32.onnx:bf16 \\
        edgederain/weights/derain_int8.onnx:f32 --threads 2 --out benchmarks/results/openvino_profile.json

Needs numpy and the ``openvino`` package only (no onnxruntime). Each ``FILE:HINT`` is compiled for
the CPU with ``INFERENCE_PRECISION_HINT=HINT`` and ``PERF_COUNT``, run ``--runs`` times on a random
1 x 3 x H x W frame after one warm-up, and OpenVINO's per-node counters (``real_time``, ``node_type``,
``exec_type``) are summed per (node type, kernel). The kernel names say what ran: ``brgconv_avx512_I8``
(AVX-512 VNNI int8), ``..._amx_I8`` / ``..._amx_bf16`` (AMX tiles), ``ref_*`` (reference, slow);
``Subtract`` / ``Convert`` in f32 next to int8 convolutions are zero points and conversions that
OpenVINO could not fold (measured on the EPYC: the U8S8 file's 14 Subtracts and 17 reference
Converts took 36 of 377 ms at 1 thread; a symmetric S8S8 file has neither).
"""

from __future__ import annotations

import argparse
import collections
import json
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


def profile(core, path: str, hint: str, *, threads: int, runs: int, shape: tuple[int, int]) -> dict:
    config = {"INFERENCE_PRECISION_HINT": hint, "PERF_COUNT": True, "NUM_STREAMS": 1,
              "PERFORMANCE_HINT": "LATENCY"}
    if threads:
        config["INFERENCE_NUM_THREADS"] = threads
    compiled = core.compile_model(path, "CPU", config)
    request = compiled.create_infer_request()
    x = np.random.default_rng(0).random((1, 3, *shape), dtype=np.float32)
    request.infer({0: x})
    totals: collections.Counter = collections.Counter()
    counts: collections.Counter = collections.Counter()
    wall = []
    for _ in range(runs):
        t0 = time.perf_counter()
        request.infer({0: x})
        wall.append((time.perf_counter() - t0) * 1e3)
        for p in request.get_profiling_info():
            us = p.real_time.total_seconds() * 1e6
            if us > 0:
                totals[(p.node_type, p.exec_type)] += us / runs
                counts[(p.node_type, p.exec_type)] += 1
    layers = [{"node_type": t, "exec_type": e, "ms": us / 1e3, "nodes": counts[(t, e)] // runs}
              for (t, e), us in totals.most_common()]
    conv = [r for r in layers if "Convolution" in r["node_type"]]
    return {"file": path, "hint": hint, "wall_median_ms": float(np.median(wall)),
            "counted_ms": sum(r["ms"] for r in layers),
            "conv_ms_by_kernel": {r["exec_type"]: r["ms"] for r in conv},
            "amx_kernels": sorted({r["exec_type"] for r in layers if "amx" in r["exec_type"].lower()}),
            "reference_kernels_ms": sum(r["ms"] for r in layers if r["exec_type"].startswith("ref")),
            "layers": layers}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("variants", nargs="+", help="FILE:HINT, HINT one of f32, bf16, f16")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--shape", default="320x480", help="H x W")
    ap.add_argument("--out", type=Path, default=REPO / "runs" / "openvino_profile.json")
    args = ap.parse_args()
    import openvino as ov

    from edgederain.bench import machine_info

    h, w = (int(v) for v in args.shape.split("x"))
    core = ov.Core()
    record = {"machine": machine_info(), "openvino": ov.__version__, "threads": args.threads,
              "shape_hw": [h, w], "cpu_capabilities": list(core.get_property("CPU", "OPTIMIZATION_CAPABILITIES")),
              "results": []}
    for item in args.variants:
        path, _, hint = item.rpartition(":")
        record["results"].append(profile(core, path, hint, threads=args.threads, runs=args.runs, shape=(h, w)))
        r = record["results"][-1]
        print(f"{path} {hint}: {r['wall_median_ms']:.1f} ms; convs {r['conv_ms_by_kernel']}; "
              f"reference kernels {r['reference_kernels_ms']:.1f} ms", flush=True)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(record, indent=2))


if __name__ == "__main__":
    main()
