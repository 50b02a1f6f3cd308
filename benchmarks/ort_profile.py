"""Where ONNX Runtime's CPU time goes, per op type and per convolution width, for each model file.

    .venv/bin/python benchmarks/ort_profile.py thesis=edgederain/weights/derain_fp32.onnx \
        lite=edgederain/weights/lite/derain_fp32.onnx --threads 1 --runs 5 \
        --out benchmarks/results/ort_profile_<cpu>.json

ONNX Runtime's own profiler (``SessionOptions.enable_profiling``) times every kernel; the session
is built from the same options as ``DerainSession`` (``session_options``). Per file it reports the
mean time of one run split by op type, and for the convolutions (``Conv``, ``FusedConv``,
``QLinearConv``) the multiply-accumulates each one does (from its weight and output shapes) and
the rate it reached, grouped by output channels. A narrow convolution moves as many bytes per
pixel as it computes, so its rate falls with its width: that is what limits a narrower model's
speed-up, and what the groups show.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import tempfile
from collections import defaultdict
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parents[1]
CONV_OPS = ("Conv", "FusedConv", "QLinearConv", "NhwcFusedConv")
# index of the weight among a convolution kernel's inputs
WEIGHT_INPUT = {"Conv": 1, "FusedConv": 1, "NhwcFusedConv": 1, "QLinearConv": 3}


def _shape(entry: dict) -> list[int]:
    return [int(d) for d in next(iter(entry.values()))]


def conv_weight_shapes(model_path: Path) -> dict[str, list[int]]:
    """Each Conv node's weight shape (M, C / groups, kh, kw), through a DequantizeLinear if quantized.

    ORT prepacks the weights of the convolutions it fuses, and the profiler then leaves their shape
    out of the kernel's inputs; the fused kernel keeps the Conv node's name (plus a suffix)."""
    import onnx

    graph = onnx.load(str(model_path), load_external_data=False).graph
    shapes = {init.name: list(init.dims) for init in graph.initializer}
    for node in graph.node:  # a DequantizeLinear's output has its quantized initializer's shape
        if node.op_type == "DequantizeLinear" and node.input[0] in shapes:
            shapes[node.output[0]] = shapes[node.input[0]]
    return {n.name: shapes[n.input[1]] for n in graph.node if n.op_type == "Conv" and n.input[1] in shapes}


def _node_name(event_name: str) -> str:
    return re.sub(r"(_token_\d+)?_kernel_time$", "", event_name)


def _weight(op: str, inputs: list[dict], name: str, weights: dict[str, list[int]]) -> list[int] | None:
    index = WEIGHT_INPUT[op]
    if index < len(inputs) and len(_shape(inputs[index])) == 4:
        return _shape(inputs[index])
    return weights.get(name)


def conv_macs(weight: list[int], output: list[int]) -> int:
    """Multiply-accumulates of one convolution call: output elements x (C / groups) x kh x kw."""
    return int(np.prod(output)) * int(np.prod(weight[1:]))


def summarise(events: list[dict], runs: int, weights: dict[str, list[int]] | None = None) -> dict[str, Any]:
    """Mean per-run milliseconds by op type and the convolutions' work, from profiler events."""
    by_op: dict[str, float] = defaultdict(float)
    calls: dict[str, int] = defaultdict(int)
    conv: dict[int, dict[str, float]] = defaultdict(lambda: {"ms": 0.0, "gmac": 0.0, "calls": 0})
    unmatched = 0  # convolution calls whose weight shape was not found
    for ev in events:
        if ev.get("cat") != "Node" or not ev.get("name", "").endswith("_kernel_time"):
            continue
        args = ev.get("args", {})
        op = args.get("op_name", "?")
        ms = ev["dur"] / 1000.0 / runs
        by_op[op] += ms
        calls[op] += 1
        if op in CONV_OPS and args.get("input_type_shape") and args.get("output_type_shape"):
            weight = _weight(op, args["input_type_shape"], _node_name(ev["name"]), weights or {})
            if weight is None:
                unmatched += 1
                continue
            group = conv[weight[0]]
            group["ms"] += ms
            group["gmac"] += conv_macs(weight, _shape(args["output_type_shape"][0])) / 1e9 / runs
            group["calls"] += 1
    total = sum(by_op.values())
    ops = {op: {"ms": round(ms, 3), "share": round(ms / total, 4) if total else 0.0, "calls_per_run": calls[op] // runs}
           for op, ms in sorted(by_op.items(), key=lambda kv: -kv[1])}
    groups = {}
    for ch, g in sorted(conv.items()):
        groups[str(ch)] = {"ms": round(g["ms"], 3), "gmac": float(f"{g['gmac']:.6g}"), "calls_per_run": int(g["calls"]) // runs,
                           "gmac_per_s": round(g["gmac"] / (g["ms"] / 1000.0), 2) if g["ms"] else None}
    conv_ms = sum(g["ms"] for g in conv.values())  # matched calls only
    conv_gmac = sum(g["gmac"] for g in conv.values())
    return {
        "kernel_ms_per_run": round(total, 3),
        "conv_ms_per_run": round(conv_ms, 3),
        "conv_share": round(conv_ms / total, 4) if total else 0.0,
        "conv_gmac": float(f"{conv_gmac:.6g}"),
        "conv_gmac_per_s": round(conv_gmac / (conv_ms / 1000.0), 2) if conv_ms else None,
        "conv_calls_unmatched": unmatched,
        "ops": ops,
        "conv_by_out_channels": groups,
    }


def profile_file(path: Path, size: tuple[int, int], threads: int, runs: int) -> dict[str, Any]:
    """Run ``path`` on ORT's CPU provider with the profiler on; :func:`summarise` of its events."""
    from edgederain.runtime.config import SessionConfig
    from edgederain.runtime.ortloader import import_onnxruntime, session_options

    ort = import_onnxruntime()
    opts = session_options(ort, SessionConfig.for_provider("cpu", threads=threads))
    with tempfile.TemporaryDirectory() as tmp:
        opts.enable_profiling = True
        opts.profile_file_prefix = os.path.join(tmp, "ort")
        sess = ort.InferenceSession(str(path), sess_options=opts, providers=["CPUExecutionProvider"])
        name = sess.get_inputs()[0].name
        x = np.random.default_rng(0).random((1, 3, *size), dtype=np.float32)
        sess.run(None, {name: x})  # warm-up, discarded below
        for _ in range(runs):
            sess.run(None, {name: x})
        events = json.loads(Path(sess.end_profiling()).read_text())
    # the first run's events are the warm-up: drop one run's worth of node events
    node = [e for e in events if e.get("cat") == "Node" and e.get("name", "").endswith("_kernel_time")]
    per_run = len(node) // (runs + 1)
    return summarise(node[per_run:], runs, conv_weight_shapes(path))


def main(argv: list[str] | None = None) -> int:
    from edgederain.bench import machine_info, versions, write_record

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("models", nargs="+", help="NAME=FILE.onnx")
    ap.add_argument("--size", default="320x480", help="H x W")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--out", type=Path)
    args = ap.parse_args(argv)
    h, w = (int(v) for v in args.size.lower().split("x"))
    results = {}
    for spec in args.models:
        name, _, file = spec.partition("=")
        if not file:
            ap.error(f"models are NAME=FILE.onnx, got {spec!r}")
        results[name] = {"file": file, **profile_file(Path(file), (h, w), args.threads, args.runs)}
        r = results[name]
        top = ", ".join(f"{op} {v['share']:.0%}" for op, v in list(r["ops"].items())[:5])
        print(f"{name}: {r['kernel_ms_per_run']:.1f} ms of kernels, conv {r['conv_share']:.0%} at "
              f"{r['conv_gmac_per_s']} GMAC/s; {top}")
    record = {"size": [h, w], "threads": args.threads, "runs": args.runs, "machine": machine_info(),
              "versions": versions(), "models": results}
    write_record(args.out, record)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
