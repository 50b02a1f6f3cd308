"""ONNX Runtime's uint8 attention products (QLinearMul) at 1 and 2 threads, broadcast and expanded.

    .venv/bin/python benchmarks/attention_mul.py --rounds 30 \
        --out benchmarks/results/attention_mul_<cpu>.json

In the INT8 graph every channel-attention product (a feature map times a per-channel vector,
``(1, C, H, W) x (1, C, 1, 1)``) and every pixel-attention product (times a per-pixel map,
``(1, C, H, W) x (1, 1, H, W)``) is one ``com.microsoft.QLinearMul`` after ORT's QDQ fusion. Their
time does not shrink with a second thread (docs/speed.md). This times the two broadcast forms at
the three encoder/decoder widths of ``thesis`` at 480x320, with 1 and 2 intra-op threads, beside an
``Expand`` of the vector to the full shape followed by a same-shape QLinearMul (the form ORT's
element-wise kernels split across threads), and checks that both forms give the same bytes.
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

import numpy as np

LEVELS = ((64, 160, 240), (128, 80, 120), (256, 40, 60))
SCALES = {"a": (0.02, 128), "b": (0.004, 0), "c": (0.02, 128)}  # (scale, zero point) of x, factor, y
FORMS = ("channel", "channel_expanded", "pixel")


def build(form: str, c: int, h: int, w: int) -> bytes:
    """A one-product uint8 graph: y = QLinearMul(x, factor), the factor given in ``form``'s shape."""
    from onnx import TensorProto, helper

    inits = []
    for k, (scale, zero) in SCALES.items():
        inits += [helper.make_tensor(f"s{k}", TensorProto.FLOAT, [], [scale]),
                  helper.make_tensor(f"z{k}", TensorProto.UINT8, [], [zero])]
    nodes = []
    factor = "f"
    if form == "channel_expanded":
        inits.append(helper.make_tensor("shape", TensorProto.INT64, [4], [1, c, h, w]))
        nodes.append(helper.make_node("Expand", ["f", "shape"], ["fe"]))
        factor = "fe"
    nodes.append(helper.make_node("QLinearMul", ["x", "sa", "za", factor, "sb", "zb", "sc", "zc"], ["y"],
                                  domain="com.microsoft"))
    fshape = [1, 1, h, w] if form == "pixel" else [1, c, 1, 1]
    graph = helper.make_graph(
        nodes, form,
        [helper.make_tensor_value_info("x", TensorProto.UINT8, [1, c, h, w]),
         helper.make_tensor_value_info("f", TensorProto.UINT8, fshape)],
        [helper.make_tensor_value_info("y", TensorProto.UINT8, None)], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17),
                                                    helper.make_opsetid("com.microsoft", 1)])
    return model.SerializeToString()


def measure_level(c: int, h: int, w: int, *, threads: int, rounds: int) -> dict:
    import onnxruntime as ort

    rng = np.random.default_rng(0)
    x = rng.integers(0, 256, (1, c, h, w), dtype=np.uint8)
    feeds = {"channel": {"x": x, "f": rng.integers(0, 256, (1, c, 1, 1), dtype=np.uint8)},
             "pixel": {"x": x, "f": rng.integers(0, 256, (1, 1, h, w), dtype=np.uint8)}}
    feeds["channel_expanded"] = feeds["channel"]
    sessions = {}
    for form in FORMS:
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = threads
        sessions[form] = ort.InferenceSession(build(form, c, h, w), opts, providers=["CPUExecutionProvider"])
    same = bool(np.array_equal(sessions["channel"].run(None, feeds["channel"])[0],
                               sessions["channel_expanded"].run(None, feeds["channel"])[0]))
    times: dict[str, list[float]] = {form: [] for form in FORMS}
    for _ in range(rounds):
        for form, s in sessions.items():
            t0 = time.perf_counter()
            s.run(None, feeds[form])
            times[form].append((time.perf_counter() - t0) * 1e3)
    return {"shape": [c, h, w], "threads": threads, "expanded_equals_broadcast": same,
            "median_ms": {k: round(statistics.median(v), 4) for k, v in times.items()}}


def main(argv: list[str] | None = None) -> int:
    from edgederain.bench import machine_info, versions, write_record

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--rounds", type=int, default=30)
    ap.add_argument("--scale", type=int, default=1, help="divide every level's size by this (tests)")
    ap.add_argument("--out", type=Path)
    args = ap.parse_args(argv)
    rows = [measure_level(c, h // args.scale, w // args.scale, threads=t, rounds=args.rounds)
            for c, h, w in LEVELS for t in args.threads]
    for r in rows:
        print(r["shape"], f"{r['threads']}T", r["median_ms"], "same" if r["expanded_equals_broadcast"] else "DIFFERENT")
    write_record(args.out, {"benchmark": "attention_mul", "rounds": args.rounds, "machine": machine_info(),
                            "versions": versions(), "levels": rows})
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
