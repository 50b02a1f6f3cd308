"""Pareto benchmark: size, cost, latency and quality of each packaged model and of the rainy input.

    .venv/bin/python benchmarks/pareto.py --threads 2 --markdown        # idle machine, ~minutes

For each model (``--model NAME=FOLDER``, repeatable; default ``thesis=edgederain/weights`` and
``lite=edgederain/weights/lite``; a folder holds ``derain.pt``, ``derain_fp32.onnx`` and
``derain_int8.onnx`` as the packaged ones do), plus the rainy input as a row:

- parameters and conv GMAC at ``--size`` (480x320) of the checkpoint's network
  (:func:`edgederain.model.summary.conv_macs`);
- latency median / p90 at that size with ``--threads`` for ORT FP32 and ORT INT8 (the CPU
  provider), OpenVINO bf16 (FP32 file, bf16 inference precision) and OpenVINO int8 (INT8 file,
  f32 hint, as ``--provider auto`` runs it) on OpenVINO's own runtime (``OpenVINOSession``), and
  PyTorch eager (``--no-torch`` skips it). All variants of all models are interleaved round-robin
  in one run (``benchmarks/bench_runtime.py``'s :func:`interleaved`), so machine load hits them
  alike; ratios to the reference model's ORT FP32 (``--reference``, default thesis) and to the
  model's own PyTorch eager; PSNR of each variant against the model's ORT FP32 on the same frames;
- PSNR / SSIM (Y and RGB) on Rain100L (``--rain100l``, 100 pairs) and on the heavy validation set
  (``--heavy``, made by ``scripts/make_val_sets.py`` when the default is missing), for every
  runtime variant (each runs the model's FP32 or INT8 file on its engine).

A runtime that cannot run (``openvino`` not installed, a compile failure) is kept as
``{"unavailable": reason}``. Writes JSON (``--out``, default
``benchmarks/results/pareto_<cpu-kind>.json``) with the machine's ISA, versions and load average,
a plot (``--plot``, default ``docs/img/pareto.png``: latency on x, PSNR Y on y, one marker per
model x runtime for ORT FP32 and OpenVINO int8, the input as a horizontal line; Rain100L and heavy
panels), and with ``--markdown`` prints a README table. ``--quick``: 2 frames at 64x96, 1 + 2
rounds, 3 pairs per set (for the test).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
DATA = REPO.parent / "shared" / "data"
sys.path[:0] = [str(REPO), str(BENCH)]

from bench_runtime import LocalRunner, interleaved, load_frames, ort_runner, psnr_vs, torch_runner  # noqa: E402

# name -> (file, engine, OpenVINO inference precision)
RUNTIMES: dict[str, tuple[str, str, str | None]] = {
    "ort_fp32": ("fp32", "onnxruntime", None), "ort_int8": ("int8", "onnxruntime", None),
    "openvino_bf16": ("fp32", "openvino", "bf16"), "openvino_int8": ("int8", "openvino", "f32"),
}
LABELS = {"ort_fp32": "ORT FP32", "ort_int8": "ORT INT8", "openvino_bf16": "OpenVINO bf16",
          "openvino_int8": "OpenVINO int8", "torch_eager": "PyTorch eager"}
INPUT = "rainy input"


@dataclass(frozen=True)
class ModelFiles:
    """A model folder as packaged: ``derain.pt``, ``derain_fp32.onnx``, ``derain_int8.onnx``."""

    name: str
    folder: Path

    @property
    def files(self) -> dict[str, Path]:
        return {"checkpoint": self.folder / "derain.pt", "fp32": self.folder / "derain_fp32.onnx",
                "int8": self.folder / "derain_int8.onnx"}

    @classmethod
    def parse(cls, text: str) -> "ModelFiles":
        name, sep, folder = text.partition("=")
        if not sep or not name or not folder:
            raise argparse.ArgumentTypeError(f"expected NAME=FOLDER (e.g. lite=edgederain/weights/lite), got {text!r}")
        model = cls(name, Path(folder))
        missing = [str(p) for p in model.files.values() if not p.is_file()]
        if missing:
            raise argparse.ArgumentTypeError(
                f"model {name!r}: missing {', '.join(missing)}; a model folder needs derain.pt, "
                "derain_fp32.onnx and derain_int8.onnx (export them with `edgederain export`)")
        return model


class Recorded:
    """A runner whose every timing is kept, for percentiles :func:`interleaved` does not report."""

    def __init__(self, runner) -> None:
        self.runner, self.samples = runner, []

    def outputs(self) -> list:
        return self.runner.outputs()

    def time(self, i: int) -> float:
        self.samples.append(self.runner.time(i))
        return self.samples[-1]


def cpu_kind(isa: dict) -> str:
    """File-name tag of the machine: ``xeon_amx`` and ``xeon_avx512`` are different kinds of Xeon."""
    vendor = isa.get("vendor", "")
    if vendor == "GenuineIntel":
        return "xeon_amx" if isa.get("amx") else "xeon_avx512" if isa.get("avx512") else "xeon"
    return "epyc" if vendor == "AuthenticAMD" else "cpu"


def complexity(checkpoint: Path, size: tuple[int, int]) -> dict:
    from edgederain.model.summary import conv_macs, count_parameters
    from edgederain.train.checkpoint import load_derain_model

    net, _ = load_derain_model(checkpoint)
    macs, _ = conv_macs(net, *size)
    return {"parameters": count_parameters(net), "macs": macs, "gmac": macs / 1e9,
            "model_config": net.config.to_dict()}


def open_session(model: ModelFiles, runtime: str, threads: int):
    """(session, frame fn for timing) of one runtime variant; raises when it cannot run."""
    kind, engine, precision = RUNTIMES[runtime]
    path = model.files[kind]
    if engine == "onnxruntime":
        return ort_runner(path, threads)
    from edgederain.runtime import SessionConfig
    from edgederain.runtime.openvino_session import OpenVINOSession

    session = OpenVINOSession(path, SessionConfig.for_provider(
        "openvino", threads=threads, openvino_precision=precision))
    return session, lambda f: session.run(f.astype(np.float32) / 255.0)


def open_all(models: list[ModelFiles], threads: int) -> tuple[dict, dict, dict]:
    """Sessions keyed ``model/runtime``, timing fns, and ``{"unavailable": why}`` for the rest."""
    sessions, fns, missing = {}, {}, {}
    for m in models:
        for runtime in RUNTIMES:
            key = f"{m.name}/{runtime}"
            try:
                sessions[key], fns[key] = open_session(m, runtime, threads)
            except Exception as exc:  # noqa: BLE001 - a runtime that cannot run is reported, not fatal
                missing[key] = {"unavailable": f"{type(exc).__name__}: {exc}"[:400]}
    return sessions, fns, missing


def engine_details(session) -> dict:
    info = session.info
    if isinstance(info, dict):  # OpenVINOSession
        return {"engine": "openvino", "openvino": info["openvino"], "inference_precision": info["inference_precision"]}
    return {"engine": "onnxruntime", "active": list(info.active)}


def latency(models: list[ModelFiles], fns: dict, args) -> dict:
    """Interleaved timing of every variant (and PyTorch eager), per ``model/runtime`` key."""
    frames = load_frames(args.size, args.frames)
    runners = {k: Recorded(LocalRunner(fn, frames)) for k, fn in fns.items()}
    if not args.no_torch:
        for m in models:
            runners[f"{m.name}/torch_eager"] = Recorded(LocalRunner(torch_runner(m.files["checkpoint"], args.threads), frames))
    stats, outs = interleaved(runners, len(frames), args.warmup, args.iterations)
    for key, st in stats.items():
        ms = np.asarray(runners[key].samples[args.warmup:]) * 1e3
        st["p90_ms"] = float(np.percentile(ms, 90))
        ref = outs.get(key.split("/")[0] + "/ort_fp32")
        if ref is not None and not key.endswith("/ort_fp32"):
            st["psnr_vs_fp32"] = psnr_vs(ref, outs[key])
    return stats


def add_ratios(stats: dict, reference: str) -> None:
    ref = stats.get(f"{reference}/ort_fp32", {}).get("median_ms")
    for key, st in stats.items():
        torch_ms = stats.get(key.split("/")[0] + "/torch_eager", {}).get("median_ms")
        st["ratio_to_reference"] = st["median_ms"] / ref if ref else None
        st["ratio_to_torch"] = st["median_ms"] / torch_ms if torch_ms else None


def quality(sessions: dict, datasets: dict[str, Path], pairs_limit: int | None) -> dict:
    """``{set: {"input": metrics, "model/runtime": metrics}}`` on every dataset (edgederain.evaluate)."""
    from edgederain.data.pairs import find_pairs
    from edgederain.evaluate import evaluate

    out = {}
    for name, folder in datasets.items():
        pairs = find_pairs(folder)[:pairs_limit]
        runs = {key: session.run for key, session in sessions.items()} or {"input": lambda f: f}
        out[name] = {}
        for key, predict in runs.items():
            report = evaluate(predict, pairs, grid_count=0, progress=False)
            out[name].setdefault("input", {"count": report.count, **report.input_mean})
            out[name][key] = {"count": report.count, **report.mean}
    return out


def heavy_folder(args) -> Path:
    """The heavy validation set; made with ``scripts/make_val_sets.py`` when the default is missing."""
    if args.heavy is not None:
        return args.heavy
    default = REPO / "runs" / "val" / "heavy"
    if not default.is_dir():
        subprocess.run([sys.executable, str(REPO / "scripts" / "make_val_sets.py"), "--out", str(default.parent)],
                       check=True, cwd=REPO)
    return default


def file_checks(model: ModelFiles, sessions: dict) -> dict:
    """Each ONNX file's contract precision and whether it was exported from this ``derain.pt``
    (a mismatch is warned about: the row would mix two networks)."""
    from edgederain.train.checkpoint import sha256_of

    sha, out = sha256_of(model.files["checkpoint"]), {}
    for kind in ("fp32", "int8"):
        session = sessions.get(f"{model.name}/ort_{kind}")
        if session is None:
            continue
        c = session.contract
        out[kind] = {"precision": c.precision, "checkpoint_matches": c.checkpoint_sha256 == sha}
        if c.precision != kind or c.checkpoint_sha256 != sha:
            print(f"warning: {model.files[kind]} is a {c.precision} file exported from checkpoint "
                  f"{c.checkpoint_sha256}, not from {model.files['checkpoint']} ({sha})", file=sys.stderr)
    return out


def rows_for(models, sessions, missing, stats, scores, complexity_of, reference: str) -> list[dict]:
    ref_macs = complexity_of[reference]["macs"] if reference in complexity_of else None
    rows = []
    for m in models:
        c = complexity_of[m.name]
        lat = {}
        for runtime in (*RUNTIMES, "torch_eager"):
            key = f"{m.name}/{runtime}"
            lat[runtime] = {**stats[key], **engine_details(sessions[key])} if key in sessions else stats.get(key, missing.get(key))
        rows.append({"name": m.name, "kind": "model", "files": {k: str(p) for k, p in m.files.items()},
                     "file_checks": file_checks(m, sessions), **c,
                     "gmac_ratio_to_reference": c["macs"] / ref_macs if ref_macs else None,
                     "latency": {k: v for k, v in lat.items() if v is not None},
                     "quality": {s: {r: v[f"{m.name}/{r}"] for r in RUNTIMES if f"{m.name}/{r}" in v}
                                 for s, v in scores.items()}})
    rows.append({"name": INPUT, "kind": "input", "parameters": 0, "macs": 0, "gmac": 0.0, "latency": {},
                 "quality": {s: {"input": v["input"]} for s, v in scores.items()}})
    return rows


def _cell_ms(row: dict, runtime: str) -> str:
    st = row["latency"].get(runtime)
    if not st or "median_ms" not in st:
        return "n/a" if row["kind"] == "model" else ""
    ratio = st.get("ratio_to_reference")
    return f"{st['median_ms']:.0f}" + (f" ({ratio:.2f}x)" if ratio else "")


def _cell_db(row: dict, dataset: str, variant: str) -> str:
    m = row["quality"].get(dataset, {}).get(variant)
    return f"{m['psnr_y']:.2f} / {m['ssim_y']:.3f}" if m else ""


def markdown(result: dict) -> str:
    s = result["settings"]
    h, w = s["size_hw"]
    head = ["model", "params", f"GMAC {w}x{h}", *(f"{LABELS[r]} ms" for r in RUNTIMES),
            "Rain100L Y PSNR/SSIM FP32", "INT8", "heavy Y PSNR/SSIM FP32", "INT8"]
    lines = ["| " + " | ".join(head) + " |", "|---|" + "---:|" * (len(head) - 1)]
    for row in result["rows"]:
        fp32, int8 = ("input", "input") if row["kind"] == "input" else ("ort_fp32", "ort_int8")
        cells = [row["name"], f"{row['parameters']:,}" if row["parameters"] else "",
                 f"{row['gmac']:.{1 if row['gmac'] >= 10 else 2}f}" if row["gmac"] else "", *(_cell_ms(row, r) for r in RUNTIMES),
                 _cell_db(row, "rain100l", fp32), _cell_db(row, "rain100l", int8) if row["kind"] == "model" else "",
                 _cell_db(row, "heavy", fp32), _cell_db(row, "heavy", int8) if row["kind"] == "model" else ""]
        lines.append("| " + " | ".join(cells) + " |")
    m = result["machine"]
    lines.append(f"\nMedian ms at {w}x{h}, {s['threads']} threads, {s['iterations']} interleaved rounds "
                 f"(x: ratio to {s['reference']} ORT FP32); {m['isa']['summary']}; load average "
                 f"{result['load_before'][0]:.2f} before, {result['load_after'][0]:.2f} after. "
                 f"`{result['command']}`")
    return "\n".join(lines)


def plot(result: dict, path: Path) -> str | None:
    """Latency vs PSNR Y (Rain100L, heavy); returns an error text instead of raising."""
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        import matplotlib.ticker
    except ImportError as exc:
        return f"no plot: matplotlib is not installed ({exc}); pip install -e '.[docs]'"
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2))
    colours = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    models = [r for r in result["rows"] if r["kind"] == "model"]
    for ax, dataset, title in zip(axes, ("rain100l", "heavy"), ("Rain100L", "heavy validation")):
        for i, row in enumerate(models):
            for runtime, marker in (("ort_fp32", "o"), ("openvino_int8", "s")):
                st, q = row["latency"].get(runtime, {}), row["quality"].get(dataset, {}).get(runtime)
                if "median_ms" in st and q:
                    ax.scatter(st["median_ms"], q["psnr_y"], marker=marker, s=60, color=colours[i % len(colours)],
                               label=f"{row['name']} {LABELS[runtime]}")
        inp = result["rows"][-1]["quality"].get(dataset, {}).get("input")
        if inp:
            ax.axhline(inp["psnr_y"], color="grey", linestyle="--", label=INPUT)
        ax.set(xscale="log", xlabel="median latency, ms (log)", ylabel="PSNR Y, dB", title=title)
        plain = matplotlib.ticker.FuncFormatter(lambda v, _: f"{v:g}")
        ax.xaxis.set_major_formatter(plain)
        ax.xaxis.set_minor_formatter(matplotlib.ticker.FuncFormatter(lambda v, _: f"{v:g}" if f"{v:g}"[0] in "25" else ""))
        ax.grid(True, which="both", alpha=0.3)
    axes[0].legend(fontsize=8)
    h, w = result["settings"]["size_hw"]
    fig.suptitle(f"{w}x{h}, {result['settings']['threads']} threads; {result['machine']['isa']['summary']}", fontsize=9)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return None


def parse_args(argv=None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", action="append", type=ModelFiles.parse, metavar="NAME=FOLDER")
    ap.add_argument("--reference", default="thesis", help="model whose ORT FP32 latency and GMAC are 1.0")
    ap.add_argument("--size", default="320x480", help="HxW for GMAC and latency")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--frames", type=int, default=4)
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--iterations", type=int, default=12)
    ap.add_argument("--pairs", type=int, help="evaluate only the first N pairs of each set")
    ap.add_argument("--rain100l", type=Path, default=DATA / "rain100l")
    ap.add_argument("--heavy", type=Path, help="heavy validation set (default runs/val/heavy, made if missing)")
    ap.add_argument("--no-torch", action="store_true", help="skip PyTorch eager")
    ap.add_argument("--quick", action="store_true", help="2 frames at 64x96, 1 + 2 rounds, 3 pairs per set")
    ap.add_argument("--out", type=Path)
    ap.add_argument("--plot", type=Path, default=REPO / "docs" / "img" / "pareto.png")
    ap.add_argument("--markdown", action="store_true", help="print the README table")
    args = ap.parse_args(argv)
    if args.quick:
        args.size, args.frames, args.warmup, args.iterations = "64x96", 2, 1, 2
        args.pairs = args.pairs or 3
    try:
        args.size = tuple(int(v) for v in args.size.split("x"))
        assert len(args.size) == 2 and min(args.size) >= 8
    except (ValueError, AssertionError):
        ap.error(f"--size must be HxW (e.g. 320x480), got {args.size!r}")
    if args.model is None:
        weights = REPO / "edgederain" / "weights"
        try:
            args.model = [ModelFiles.parse(f"thesis={weights}"), ModelFiles.parse(f"lite={weights / 'lite'}")]
        except argparse.ArgumentTypeError as exc:
            ap.error(f"{exc} (or pass --model NAME=FOLDER)")
    names = [m.name for m in args.model]
    if len(set(names)) != len(names):
        ap.error(f"--model names must differ, got {names}")
    if args.reference not in names:
        ap.error(f"--reference {args.reference!r} is not one of the models {names}")
    return args


def main(argv=None) -> dict:
    from edgederain.bench import json_ready, machine_info, versions

    args = parse_args(argv)
    start, machine = time.perf_counter(), machine_info()
    out = args.out or REPO / "benchmarks" / "results" / f"pareto_{cpu_kind(machine['isa'])}.json"
    datasets = {"rain100l": args.rain100l, "heavy": heavy_folder(args)}
    complexity_of = {m.name: complexity(m.files["checkpoint"], args.size) for m in args.model}
    sessions, fns, missing = open_all(args.model, args.threads)
    load_before = list(os.getloadavg())
    stats = latency(args.model, fns, args)
    load_after = list(os.getloadavg())
    add_ratios(stats, args.reference)
    scores = quality(sessions, datasets, args.pairs)
    result = {
        "benchmark": "pareto", "command": " ".join(["benchmarks/pareto.py", *(argv if argv is not None else sys.argv[1:])]),
        "settings": {"size_hw": list(args.size), "threads": args.threads, "frames": args.frames, "warmup": args.warmup,
                     "iterations": args.iterations, "pairs": args.pairs, "quick": args.quick, "reference": args.reference},
        "machine": machine, "cpu_kind": cpu_kind(machine["isa"]), "versions": versions(),
        "load_before": load_before, "load_after": load_after,
        "datasets": {k: str(v) for k, v in datasets.items()},
        "rows": rows_for(args.model, sessions, missing, stats, scores, complexity_of, args.reference),
    }
    result["plot"] = {"path": str(args.plot), "error": plot(result, args.plot)}
    result["seconds"] = time.perf_counter() - start
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(json_ready(result), indent=2) + "\n")
    print(f"wrote {out}" + ("" if result["plot"]["error"] else f" and {args.plot}"), file=sys.stderr)
    if args.markdown:
        print(markdown(result))
    return result


if __name__ == "__main__":
    main()
