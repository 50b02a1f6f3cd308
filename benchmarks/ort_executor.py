"""ONNX Runtime's sequential vs parallel executor on each model file, interleaved.

    .venv/bin/python benchmarks/ort_executor.py thesis_int8=edgederain/weights/derain_int8.onnx \
        thesis_fp32=edgederain/weights/derain_fp32.onnx --threads 2 --rounds 10 \
        --out benchmarks/results/ort_executor_<cpu>.json

The network has independent branches (MSPAM's three dilated convolutions, the encoder and
decoder inputs of each MSPAM), and ORT's INT8 kernels for Resize and QLinearMul barely use a
second thread (docs/speed.md). The parallel executor (``ExecutionMode.ORT_PARALLEL``) runs
independent nodes at once on ``inter_op`` threads, so it could fill that idle core. Each layout
of the same number of cores is timed on the same frame, one run of every (file, layout) per
round; medians and minima per layout, and each layout's ratio to the sequential one.
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path
from typing import Any, Callable

import numpy as np


def layouts(threads: int) -> dict[str, tuple[str, int, int]]:
    """Executor layouts using ``threads`` cores: name -> (mode, intra_op, inter_op)."""
    out = {"sequential": ("sequential", threads, 1)}
    if threads >= 2:
        out[f"parallel intra {threads} inter 2"] = ("parallel", threads, 2)
        out[f"parallel intra {max(1, threads // 2)} inter 2"] = ("parallel", max(1, threads // 2), 2)
    else:
        out["parallel intra 1 inter 1"] = ("parallel", 1, 1)
    return out


def make_runner(path: Path, mode: str, intra: int, inter: int, x: np.ndarray) -> Callable[[], Any]:
    from edgederain.runtime.config import SessionConfig
    from edgederain.runtime.ortloader import import_onnxruntime, session_options

    ort = import_onnxruntime()
    opts = session_options(ort, SessionConfig.for_provider("cpu", threads=intra))
    opts.execution_mode = (ort.ExecutionMode.ORT_PARALLEL if mode == "parallel"
                           else ort.ExecutionMode.ORT_SEQUENTIAL)
    opts.inter_op_num_threads = inter
    sess = ort.InferenceSession(str(path), sess_options=opts, providers=["CPUExecutionProvider"])
    name = sess.get_inputs()[0].name
    return lambda: sess.run(None, {name: x})


def measure(files: dict[str, Path], size: tuple[int, int], threads: int, rounds: int,
            warmup: int = 1) -> dict[str, Any]:
    """Interleaved timings: ``{file name: {layout: {median_ms, min_ms, runs, ratio_to_sequential}}}``."""
    x = np.random.default_rng(0).random((1, 3, *size), dtype=np.float32)
    specs = layouts(threads)
    runners = {(f, lay): make_runner(p, *spec, x) for f, p in files.items() for lay, spec in specs.items()}
    for fn in runners.values():
        for _ in range(warmup):
            fn()
    samples: dict[tuple[str, str], list[float]] = {k: [] for k in runners}
    for _ in range(rounds):
        for key, fn in runners.items():
            t0 = time.perf_counter()
            fn()
            samples[key].append((time.perf_counter() - t0) * 1e3)
    out: dict[str, Any] = {}
    for (f, lay), v in samples.items():
        mode, intra, inter = specs[lay]
        out.setdefault(f, {})[lay] = {"median_ms": round(statistics.median(v), 3), "min_ms": round(min(v), 3),
                                      "runs": len(v), "mode": mode, "intra_op": intra, "inter_op": inter}
    for f, rows in out.items():
        base = rows["sequential"]["median_ms"]
        for row in rows.values():
            row["ratio_to_sequential"] = round(row["median_ms"] / base, 3) if base else None
    return out


def main(argv: list[str] | None = None) -> int:
    from edgederain.bench import machine_info, versions, write_record

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("models", nargs="+", help="NAME=FILE.onnx")
    ap.add_argument("--size", default="320x480", help="H x W")
    ap.add_argument("--threads", type=int, default=2, help="cores for every layout")
    ap.add_argument("--rounds", type=int, default=10)
    ap.add_argument("--warmup", type=int, default=1)
    ap.add_argument("--out", type=Path)
    args = ap.parse_args(argv)
    if args.threads < 1 or args.rounds < 1:
        ap.error("--threads and --rounds must be at least 1")
    h, w = (int(v) for v in args.size.lower().split("x"))
    files = {}
    for spec in args.models:
        name, _, file = spec.partition("=")
        if not file or not Path(file).is_file():
            ap.error(f"models are NAME=FILE.onnx with an existing file, got {spec!r}")
        files[name] = Path(file)
    load_before = machine_info()["load_average"]
    results = measure(files, (h, w), args.threads, args.rounds, args.warmup)
    for name, rows in results.items():
        for lay, r in rows.items():
            print(f"{name:14s} {lay:26s} {r['median_ms']:8.1f} ms median ({r['ratio_to_sequential']:.2f}x)")
    record = {"benchmark": "ort_executor", "size": [h, w], "threads": args.threads, "rounds": args.rounds,
              "machine": machine_info(), "load_before": load_before, "versions": versions(),
              "files": {k: str(v) for k, v in files.items()}, "results": results}
    write_record(args.out, record)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
