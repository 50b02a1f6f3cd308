"""Runtime benchmark: PyTorch eager vs ONNX Runtime FP32 vs ORT INT8 vs OpenVINO EP (f32, bf16),
at 480x320 and 1280x720, latency median and p99 side by side in one run, each variant's PSNR
against the ORT FP32 outputs; tiled-vs-untiled PSNR and the peak memory of a tiled 4000x3000
frame. Writes one JSON file.

    .venv/bin/python benchmarks/bench_runtime.py --threads 2 \\
        --openvino-python /path/to/venv-with-onnxruntime-openvino/bin/python

- Model: ``--checkpoint`` (a trained one when there is one); otherwise the ``thesis`` preset with
  seeded random weights redrawn so the predicted rain layer is as strong as real rain (with the
  ECNet init the output equals the input and every precision would look perfect).
- FP32 and INT8 files come from ``edgederain.export.export_onnx`` with its defaults, as the
  packaged model is built: FP32 with sub-pixel upsampling, INT8 (U8S8 QDQ, RLCN in float,
  calibrated on CamVid road frames with synthetic light rain) from the resize graph. The FP32
  resize graph (``ort_fp32_resize``) is timed too: it is the graph the INT8 model quantizes, so
  ``ratio_int8_to_fp32_resize_median`` is the speed-up of quantization alone. Frames are
  Rain100L rainy images (resized to 1280x720 for the large size).
- OpenVINO runs in a separate Python (``--openvino-python``) that has ``onnxruntime-openvino``
  or ``onnxruntime-ep-openvino``: those must not be installed next to the project's onnxruntime.
  The worker uses only numpy + onnxruntime + ``edgederain.runtime``. It runs the FP32 model
  with OpenVINO's f32 and bf16 inference precision, and the INT8 (QDQ) model with f32.
- Variants are interleaved: after one untimed pass over the frames (outputs for the PSNR), each
  of ``--warmup`` + ``--iterations`` rounds runs every variant once, the order rotating, so a
  change in machine load hits all variants alike. The JSON records the load average.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
DATA = REPO.parent / "shared" / "data"
sys.path.insert(0, str(REPO))


def lively_checkpoint(path: Path, preset: str = "thesis", seed: int = 0) -> Path:
    """A preset with He-init convs, head scaled so the rain layer has std ~0.05."""
    import torch

    from edgederain.model import build_model
    from edgederain.train.checkpoint import save_checkpoint

    torch.manual_seed(seed)
    net = build_model(preset).eval()
    for m in net.modules():
        if isinstance(m, torch.nn.Conv2d):
            torch.nn.init.kaiming_normal_(m.weight, nonlinearity="relu")
    with torch.no_grad():
        net.head.weight.mul_(0.05 / float(net(torch.rand(1, 3, 64, 64)).rain.std()))
        net.head.bias.zero_()
    return save_checkpoint(path, net)


def load_frames(size: tuple[int, int], count: int) -> np.ndarray:
    """Rain100L rainy frames at (H, W): landscape ones as they are, resized when needed."""
    from PIL import Image

    from edgederain.io import list_images, read_rgb

    frames = []
    for p in list_images(DATA / "rain100l" / "rainy"):
        rgb = read_rgb(p)
        if rgb.shape[0] > rgb.shape[1]:
            continue
        if rgb.shape[:2] != size:
            rgb = np.asarray(Image.fromarray(rgb).resize((size[1], size[0]), Image.BILINEAR))
        frames.append(rgb)
        if len(frames) == count:
            break
    return np.stack(frames)


class LocalRunner:
    """A variant in this process: ``fn(frame) -> float32 H x W x 3`` output."""

    def __init__(self, fn, frames: np.ndarray) -> None:
        self.fn, self.frames = fn, frames

    def outputs(self) -> list:
        return [self.fn(f) for f in self.frames]

    def time(self, i: int) -> float:
        t0 = time.perf_counter()
        self.fn(self.frames[i % len(self.frames)])
        return time.perf_counter() - t0


class RemoteRunner:
    """A variant served by the OpenVINO worker process (times measured inside the worker)."""

    def __init__(self, worker: subprocess.Popen, name: str, out_dir: Path) -> None:
        self.worker, self.name, self.out_dir = worker, name, out_dir

    def _ask(self, line: str) -> str:
        self.worker.stdin.write(line + "\n")
        self.worker.stdin.flush()
        return self.worker.stdout.readline().strip()

    def outputs(self) -> list:
        self._ask(f"out {self.name}")
        return list(np.load(self.out_dir / f"ov_{self.name}.npy"))

    def time(self, i: int) -> float:
        return float(self._ask(f"run {self.name} {i}"))


def interleaved(runners: dict, n_frames: int, warmup: int, iterations: int) -> tuple[dict, dict]:
    """Outputs of every variant, then warm-up and timed rounds in which each variant runs once
    (the order rotating every round), so all variants see the same machine load."""
    outs = {k: r.outputs() for k, r in runners.items()}
    names = list(runners)
    samples: dict = {k: [] for k in names}
    for i in range(warmup + iterations):
        order = names[i % len(names):] + names[: i % len(names)]
        for k in order:
            t = runners[k].time(i % n_frames)
            if i >= warmup:
                samples[k].append(t)
    stats = {}
    for k, values in samples.items():
        ms = np.asarray(values) * 1e3
        stats[k] = {"runs": len(ms), "median_ms": float(np.median(ms)), "p99_ms": float(np.percentile(ms, 99)),
                    "min_ms": float(ms.min()), "max_ms": float(ms.max())}
    return stats, outs


def ort_runner(model: Path, threads: int, **kw):
    from edgederain.runtime import DerainSession, SessionConfig

    session = DerainSession(model, SessionConfig.for_provider(threads=threads, **kw))
    return session, lambda f: session.run(f.astype(np.float32) / 255.0)


def torch_runner(checkpoint: Path, threads: int):
    import torch

    from edgederain.train.checkpoint import load_derain_model

    torch.set_num_threads(threads)
    net, _ = load_derain_model(checkpoint)

    def run(f: np.ndarray) -> np.ndarray:
        with torch.inference_mode():
            x = torch.from_numpy(f).permute(2, 0, 1)[None].float().div_(255.0)
            return net.infer(x)[0].permute(1, 2, 0).numpy()

    return run


def psnr_vs(ref: list, outs: list) -> dict:
    from edgederain.metrics import psnr

    values = [psnr(np.clip(o, 0, 1), np.clip(r, 0, 1)) for o, r in zip(outs, ref)]
    return {"mean_db": float(np.mean(values)), "min_db": float(np.min(values))}


def openvino_worker(args: argparse.Namespace) -> None:
    """Runs inside the OpenVINO Python; answers ``run NAME I`` (seconds) and ``out NAME``."""
    import onnxruntime

    frames = np.load(args.frames_file)
    runs, info = {}, {}
    variants = {"f32": (args.model, "f32"), "bf16": (args.model, "bf16"), "int8": (args.model_int8, "f32")}
    for precision, (model, hint) in variants.items():
        try:
            session, fn = ort_runner(Path(model), args.threads, provider="openvino",
                                     openvino_precision=hint)
        except Exception as exc:  # noqa: BLE001 - report why the variant is missing
            info[precision] = {"error": f"{type(exc).__name__}: {exc}"}
            continue
        runs[precision] = fn
        info[precision] = {"active": list(session.active_providers), "onnxruntime": onnxruntime.__version__,
                           "load_config": session.info.provider_options.get(
                               "OpenVINOExecutionProvider", {}).get("load_config")}
    print(json.dumps(info), flush=True)
    _serve(runs, frames, args)


def ov_runtime_worker(args: argparse.Namespace) -> None:
    """OpenVINO's own runtime (``openvino`` package; numpy + openvino only): the FP32 file at f32 and
    bf16 inference precision, the INT8 (QDQ) file at f32 and bf16 (its int8 kernels either way).
    Same protocol as :func:`openvino_worker`."""
    import openvino as ov

    core = ov.Core()
    frames = np.load(args.frames_file)
    variants = {"f32": (args.model, "f32"), "bf16": (args.model, "bf16"),
                "int8": (args.model_int8, "f32"), "int8_bf16": (args.model_int8, "bf16")}
    runs, info = {}, {}
    for name, (model, hint) in variants.items():
        config = {"INFERENCE_PRECISION_HINT": hint, "INFERENCE_NUM_THREADS": args.threads,
                  "PERFORMANCE_HINT": "LATENCY", "NUM_STREAMS": 1}
        try:
            compiled = core.compile_model(model, "CPU", config)
        except Exception as exc:  # noqa: BLE001 - report why the variant is missing
            info[name] = {"error": f"{type(exc).__name__}: {exc}"[:500]}
            continue
        request, output = compiled.create_infer_request(), compiled.output(0)

        def run(f, request=request, output=output):
            x = np.ascontiguousarray(f.transpose(2, 0, 1)[None], dtype=np.float32) / 255.0
            return np.asarray(request.infer({0: x})[output])[0].transpose(1, 2, 0)

        runs[name] = run
        info[name] = {"openvino": ov.__version__, "hint": hint, "model": str(model),
                      "execution_precision": str(compiled.get_property("INFERENCE_PRECISION_HINT"))}
    print(json.dumps(info), flush=True)
    _serve(runs, frames, args)


def _serve(runs: dict, frames: np.ndarray, args) -> None:
    """Answer ``out NAME`` (outputs saved as .npy) and ``run NAME I`` (seconds) on stdin."""
    for line in sys.stdin:
        cmd, name, *rest = line.split()
        if cmd == "out":
            np.save(Path(args.out_dir) / f"ov_{name}.npy", np.stack([runs[name](f) for f in frames]))
            print("ok", flush=True)
        elif cmd == "run":
            t0 = time.perf_counter()
            runs[name](frames[int(rest[0])])
            print(time.perf_counter() - t0, flush=True)


def start_openvino(python: str, models: dict, frames: np.ndarray, tmp: Path, args, *,
                   kind: str = "ort-openvino", prefix: str = "openvino_") -> tuple[dict, dict]:
    """Start a worker (``kind``: ONNX Runtime's OpenVINO EP, or OpenVINO's own runtime); returns
    (info per variant, runners for those that work, named ``prefix + variant``)."""
    tmp.mkdir(parents=True, exist_ok=True)
    np.save(tmp / "frames.npy", frames)
    cmd = [python, __file__, "--worker", kind, "--model", str(models["fp32"]), "--model-int8", str(models["int8"]),
           "--frames-file", str(tmp / "frames.npy"),
           "--out-dir", str(tmp), "--threads", str(args.threads)]
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    worker = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env)
    line = worker.stdout.readline()
    if not line:
        return {"error": f"{kind} worker did not start"}, {}
    info = json.loads(line)
    runners = {f"{prefix}{p}": RemoteRunner(worker, p, tmp) for p, v in info.items() if "error" not in v}
    return info, runners


def _best_ratio(stats: dict, a: str, b: str) -> float | None:
    """Fastest variant whose name has ``a`` (int8) over the fastest with ``b`` (bf16, not int8)."""
    best_a = [v["median_ms"] for k, v in stats.items() if a in k]
    best_b = [v["median_ms"] for k, v in stats.items() if b in k and a not in k]
    return min(best_a) / min(best_b) if best_a and best_b else None


def bench_size(size, models, checkpoint, args) -> dict:
    frames = load_frames(size, args.frames)
    row: dict = {"shape_hw": list(size), "frames": len(frames), "load_before": list(os.getloadavg())}
    runners = {"torch_eager": LocalRunner(torch_runner(checkpoint, args.threads), frames),
               "ort_fp32": LocalRunner(ort_runner(models["fp32"], args.threads)[1], frames),
               "ort_int8": LocalRunner(ort_runner(models["int8"], args.threads)[1], frames)}
    if models["fp32_resize"] != models["fp32"]:
        runners["ort_fp32_resize"] = LocalRunner(ort_runner(models["fp32_resize"], args.threads)[1], frames)
    with tempfile.TemporaryDirectory() as tmp:
        info, ovrt_info, worker_runners = {}, {}, {}
        if args.openvino_python:
            info, worker_runners = start_openvino(args.openvino_python, models, frames, Path(tmp) / "ep", args)
        if args.openvino_runtime_python:
            ovrt_info, more = start_openvino(args.openvino_runtime_python, models, frames, Path(tmp) / "rt", args,
                                             kind="openvino-runtime", prefix="ovrt_")
            worker_runners.update(more)
        stats, outs = interleaved({**runners, **worker_runners}, len(frames), args.warmup, args.iterations)
        for r in {id(r.worker): r for r in worker_runners.values()}.values():
            r.worker.stdin.close()
            r.worker.wait(timeout=60)
    for name, st in stats.items():
        if name != "ort_fp32":
            st["psnr_vs_fp32"] = psnr_vs(outs["ort_fp32"], outs[name])
        extra = info if name.startswith("openvino_") else ovrt_info if name.startswith("ovrt_") else {}
        row[name] = {**st, **extra.get(name.split("_", 1)[1], {})}
    row["openvino_info"], row["openvino_runtime_info"] = info, ovrt_info
    row["best_int8_to_best_bf16_median"] = _best_ratio(stats, "int8", "bf16")
    eager = row["torch_eager"]["median_ms"]
    row["ratio_to_torch_median"] = {k: v["median_ms"] / eager for k, v in stats.items()}
    row["ratio_int8_to_fp32_median"] = stats["ort_int8"]["median_ms"] / stats["ort_fp32"]["median_ms"]
    if "ort_fp32_resize" in stats:
        row["ratio_int8_to_fp32_resize_median"] = stats["ort_int8"]["median_ms"] / stats["ort_fp32_resize"]["median_ms"]
    row["load_after"] = list(os.getloadavg())
    return row


def tiling_checks(model: Path, args) -> dict:
    """Tiled vs untiled PSNR at the default tile/overlap on 1280x720 frames; tiled 4000x3000 RSS."""
    from edgederain.metrics import psnr
    from edgederain.runtime import DerainSession, SessionConfig, TileConfig

    frames = load_frames((720, 1280), 3)
    whole = DerainSession(model, SessionConfig.for_provider(threads=args.threads))
    d = TileConfig()
    tiled = DerainSession(model, SessionConfig.for_provider(threads=args.threads, tile=d.tile, tile_pad=d.pad))
    scores = [psnr(tiled.run(f), whole.run(f)) for f in frames]
    code = (
        "import numpy as np, time\n"
        "from edgederain.bench import peak_rss_mb\n"
        "from edgederain.runtime import DerainSession, SessionConfig\n"
        f"s = DerainSession({str(model)!r}, SessionConfig.for_provider(threads={args.threads}, tile=512, tile_pad=32))\n"
        "base = peak_rss_mb()\n"
        "f = np.random.default_rng(0).integers(0, 256, (3000, 4000, 3), dtype=np.uint8)\n"
        "t = time.perf_counter(); out = s.run(f); t = time.perf_counter() - t\n"
        "print(base, peak_rss_mb(), t, s.tile_plan(3000, 4000).count)\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, timeout=3600)
    base, peak, seconds, windows = (float(v) for v in proc.stdout.split()) if proc.returncode == 0 else (0, 0, 0, 0)
    return {"tile": d.tile, "pad": d.pad, "tiled_vs_untiled_psnr_db_720p": scores,
            "tiled_4000x3000": {"rss_after_session_mb": base, "peak_rss_mb": peak, "seconds": seconds,
                                "windows": int(windows), "error": proc.stderr[-1000:] if proc.returncode else None}}


def export_models(checkpoint: Path, out: Path) -> dict[str, Path]:
    from edgederain.calibration.quantize import QuantizeConfig
    from edgederain.export import ExportConfig, export_onnx

    models = {"fp32": out / "model_fp32.onnx", "fp32_resize": out / "model_fp32_resize.onnx",
              "int8": out / "model_int8.onnx"}
    configs = {
        "fp32": ExportConfig(),
        "fp32_resize": ExportConfig(upsample="resize"),
        "int8": ExportConfig(precision="int8", calib_data=DATA / "backgrounds" / "camvid", calib_rain="all-weather",
                             quantize=QuantizeConfig(progress=False)),
    }
    for name, path in models.items():
        if not path.exists():
            export_onnx(checkpoint, path, config=configs[name])
    return models


def chosen_models(checkpoint: Path, work: Path, args) -> dict[str, Path]:
    """``--fp32-model`` / ``--int8-model`` (e.g. the packaged files) where given, else exported."""
    models = export_models(checkpoint, work) if not (args.fp32_model and args.int8_model) else {}
    if args.fp32_model:
        models["fp32"] = args.fp32_model
    if args.int8_model:
        models["int8"] = args.int8_model
    models.setdefault("fp32_resize", models["fp32"])
    return models


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--checkpoint", type=Path)
    ap.add_argument("--out", type=Path, default=REPO / "runs" / "bench" / "runtime.json")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--frames", type=int, default=4)
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--iterations", type=int, default=12)
    ap.add_argument("--sizes", default="320x480,720x1280")
    ap.add_argument("--openvino-python")
    ap.add_argument("--preset", default="thesis", help="preset for the random-weight model")
    ap.add_argument("--no-tiling", action="store_true", help="skip the tiling accuracy/memory checks")
    ap.add_argument("--openvino-runtime-python",
                    help="a Python with the openvino package: OpenVINO's own runtime, f32/bf16/int8")
    ap.add_argument("--fp32-model", type=Path, help="FP32 file to time (default: exported from --checkpoint)")
    ap.add_argument("--int8-model", type=Path, help="INT8 file to time (default: exported from --checkpoint)")
    ap.add_argument("--worker", choices=("ort-openvino", "openvino-runtime"), help=argparse.SUPPRESS)
    ap.add_argument("--frames-file", help=argparse.SUPPRESS)
    ap.add_argument("--model", help=argparse.SUPPRESS)
    ap.add_argument("--model-int8", help=argparse.SUPPRESS)
    ap.add_argument("--out-dir", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker:
        return (openvino_worker if args.worker == "ort-openvino" else ov_runtime_worker)(args)
    from edgederain.bench import json_ready, machine_info, versions

    work = args.out.parent
    work.mkdir(parents=True, exist_ok=True)
    checkpoint = args.checkpoint or lively_checkpoint(work / f"{args.preset}_random.pt", args.preset)
    models = chosen_models(checkpoint, work, args)
    result = {"checkpoint": str(checkpoint), "weights": "given" if args.checkpoint else f"{args.preset}, random (He init, rain std 0.05)",
              "threads": args.threads, "machine": machine_info(), "versions": versions(), "sizes": []}
    for text in args.sizes.split(","):
        h, w = (int(v) for v in text.split("x"))
        result["sizes"].append(bench_size((h, w), models, checkpoint, args))
        args.out.write_text(json.dumps(json_ready(result), indent=2))
    if not args.no_tiling:
        result["tiling"] = tiling_checks(models["fp32"], args)
    args.out.write_text(json.dumps(json_ready(result), indent=2))
    print(json.dumps(json_ready(result), indent=2))


if __name__ == "__main__":
    main()
