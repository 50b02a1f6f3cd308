"""Latency of the C++ example against the Python runtime on the same frames; writes JSON.

    nice -n 15 .venv/bin/python examples/cpp/bench_vs_python.py --frames 2 --rounds 3 --iterations 2

Per model and frame, each round runs the C++ CLI (one process: one untimed warm-up, then
``--iterations`` timed runs, session creation not counted) and the Python runtime (a warm
DerainSession, the same number of runs), alternating which side goes first, so that both see the
same machine load; both use the same intra-op thread count. Recorded per run:

- C++: total, to_tensor, inference (ORT Run), from_tensor (from the CLI's --json report);
- Python: DerainSession.run total, and a plain onnxruntime InferenceSession.run on the same
  tensor (the inference alone), plus the Python pre/post-processing timed on its own
  (validate_frames + frames_to_tensor, from_model_output).

The model ``identity`` (built here with onnx: derained = image, with a contract) measures the
per-frame cost around inference on its own, where the network's seconds would drown it.

Build the example first (tests/test_cpp_example.py does, or the commands in examples/cpp/CMakeLists.txt).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from edgederain.io import read_rgb  # noqa: E402
from edgederain.runtime import DerainSession, SessionConfig  # noqa: E402
from edgederain.runtime.preprocess import frames_to_tensor, from_model_output, validate_frames  # noqa: E402


def _cpu() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor()


def _cpp_runs(cli: Path, model: Path, frame: Path, out: Path, threads: int, iterations: int) -> dict:
    cmd = [str(cli), str(model), str(frame), str(out), "--threads", str(threads), "--iterations",
           str(iterations), "--warmup", "1", "--json"]
    r = subprocess.run(cmd, capture_output=True, text=True, env=dict(os.environ, OMP_NUM_THREADS="1"))
    if r.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed:\n{r.stderr}")
    return json.loads(r.stdout)


def _py_runs(session: DerainSession, raw, names: tuple[str, str], rgb: np.ndarray, iterations: int) -> dict:
    total, infer, pre, post = [], [], [], []
    x = frames_to_tensor(rgb, validate_frames(rgb, min_size=8))
    for _ in range(iterations):
        t0 = time.perf_counter()
        session.run(rgb)
        total.append((time.perf_counter() - t0) * 1e3)
        t0 = time.perf_counter()
        (y,) = raw.run([names[1]], {names[0]: x})
        infer.append((time.perf_counter() - t0) * 1e3)
        t0 = time.perf_counter()
        kind = validate_frames(rgb, min_size=8)
        frames_to_tensor(rgb, kind)
        pre.append((time.perf_counter() - t0) * 1e3)
        t0 = time.perf_counter()
        from_model_output(y, kind)
        post.append((time.perf_counter() - t0) * 1e3)
    return {"total_ms": total, "infer_ms": infer, "to_tensor_ms": pre, "from_tensor_ms": post}


def _identity_model(path: Path) -> Path:
    import onnx
    from onnx import TensorProto, helper

    from edgederain.contract import IOContract

    dims = ["batch", 3, "height", "width"]
    graph = helper.make_graph(
        [helper.make_node("Identity", ["image"], ["derained"])], "identity",
        [helper.make_tensor_value_info("image", TensorProto.FLOAT, dims)],
        [helper.make_tensor_value_info("derained", TensorProto.FLOAT, dims)],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)])
    model.ir_version = 9
    helper.set_model_props(model, IOContract().to_metadata())
    onnx.save(model, str(path))
    return path


def _median(rows: list[dict], key: str) -> float:
    return float(np.median([v for r in rows for v in r[key]]))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", type=Path, default=REPO.parent / "shared" / "data" / "rain100l")
    ap.add_argument("--frames", type=int, default=2, help="first N Rain100L rainy frames (sorted)")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--iterations", type=int, default=2, help="timed runs per side per round")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--models", default="identity,fp32,int8")
    ap.add_argument("--identity-iterations", type=int, default=30)
    ap.add_argument("--cli", type=Path, default=REPO / "build" / "cpp" / "example" / "edgederain-derain")
    ap.add_argument("--json", type=Path, default=REPO / "runs" / "bench_cpp_vs_python.json")
    args = ap.parse_args()

    import onnxruntime as ort

    frames = sorted((args.data / "rainy").glob("*.png"), key=lambda p: int(p.stem) if p.stem.isdigit() else p.stem)
    frames = frames[: args.frames]
    out_png = args.json.parent / "bench_cpp_out.png"
    args.json.parent.mkdir(parents=True, exist_ok=True)
    results: dict = {
        "machine": {"cpu": _cpu(), "cores": os.cpu_count(), "load_avg_start": os.getloadavg()},
        "onnxruntime": ort.__version__, "threads": args.threads, "rounds": args.rounds,
        "iterations": args.iterations, "identity_iterations": args.identity_iterations, "frames": [f.name for f in frames], "models": {},
    }
    for prec in args.models.split(","):
        iterations = args.identity_iterations if prec == "identity" else args.iterations
        if prec == "identity":
            model = _identity_model(args.json.parent / "bench_identity.onnx")
        else:
            model = REPO / "edgederain" / "weights" / f"derain_{prec}.onnx"
        session = DerainSession(model, SessionConfig.for_provider("cpu", threads=args.threads))
        opts = ort.SessionOptions()
        opts.intra_op_num_threads, opts.inter_op_num_threads = args.threads, 1
        raw = ort.InferenceSession(str(model), sess_options=opts, providers=["CPUExecutionProvider"])
        names = (session.contract.input_name, session.contract.output_name)
        cpp_rows, py_rows = [], []
        for r in range(args.rounds):
            for frame in frames:
                rgb = read_rgb(frame)
                session.run(rgb)  # warm for this size, like the C++ warm-up run
                for side in ("cpp", "py") if r % 2 == 0 else ("py", "cpp"):
                    if side == "cpp":
                        cpp_rows.append(_cpp_runs(args.cli, model, frame, out_png, args.threads, iterations))
                    else:
                        py_rows.append(_py_runs(session, raw, names, rgb, iterations))
                print(f"{prec} round {r + 1} {frame.name}: C++ {np.median(cpp_rows[-1]['total_ms']):.1f} ms, "
                      f"Python {np.median(py_rows[-1]['total_ms']):.1f} ms (medians)", flush=True)
        summary = {
            side: {k: _median(rows, k) for k in ("total_ms", "infer_ms", "to_tensor_ms", "from_tensor_ms")}
            for side, rows in (("cpp", cpp_rows), ("python", py_rows))
        }
        summary["python_overhead_ms"] = summary["python"]["total_ms"] - summary["python"]["infer_ms"]
        summary["cpp_overhead_ms"] = summary["cpp"]["total_ms"] - summary["cpp"]["infer_ms"]
        results["models"][prec] = {"summary": summary, "cpp_runs": cpp_rows, "python_runs": py_rows}
        print(prec, json.dumps(summary, indent=1), flush=True)
    results["machine"]["load_avg_end"] = os.getloadavg()
    args.json.write_text(json.dumps(results, indent=1))
    print(f"wrote {args.json}")


if __name__ == "__main__":
    main()
