"""Everything that needs a GPU, in one call, written as one JSON file (run by ``gpu_check.sh``).

Sections (each one is recorded even when it fails: its ``error`` says why, the others still run):

- ``environment``: CPU and ISA (``edgederain.bench.machine_info``), package versions, torch's CUDA
  build and device, ONNX Runtime's providers, ``nvidia-smi -L``, the library path used.
- ``torch_eager``: PyTorch eager latency of the ``thesis`` network (the packaged trained weights)
  and of ``lite`` when that preset exists (random weights: latency only), FP32 and FP16
  (``autocast``), at 480x320 and 1920x1080, timed with CUDA events; NaN count and PSNR of FP16
  against FP32 on the same frame.
- ``ort_cuda``: ONNX Runtime's CUDA provider on the packaged FP32 and FP16 files with IO binding
  (input and output on the GPU: the model's own latency), cuDNN search HEURISTIC and EXHAUSTIVE;
  plus ``DerainSession`` end to end (uint8 frame in, uint8 frame out, host copies included).
- ``fp16_numerics``: the packaged FP16 file against the FP32 file on Rain100L frames on the CUDA
  provider: PSNR between outputs, max abs error, NaN/Inf, and Y-PSNR of both against ground truth.
- ``tensorrt``: whether a TensorRT build is there (the ``tensorrt`` module, ``libnvinfer`` on the
  library path, the provider in ONNX Runtime) and, if so, FP16 latency through the TensorRT EP.

``--dry-run`` runs the same code on the CPU (torch on CPU, the CPU provider, small frames, two
iterations) so the script is tested in CI and the GPU minutes go to measuring. Rain100L frames
come from ``--frames`` (an .npz written here by ``--prepare``, since the data set does not travel
to the GPU machine); without it synthetic frames are used and the section says so.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
import traceback
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
WEIGHTS = REPO / "edgederain" / "weights"
SIZES = {"480x320": (320, 480), "1920x1080": (1080, 1920)}
DRY_SIZES = {"480x320": (24, 32), "1920x1080": (32, 48)}


def _section(record: dict, name: str, out: Path, fn, *args) -> None:
    """Run one section; record its result or its error, and write the JSON so far."""
    from edgederain.bench import json_ready

    start = time.perf_counter()
    try:
        record[name] = fn(*args)
    except Exception as exc:  # noqa: BLE001 - a failing section must not stop the others
        record[name] = {"error": f"{type(exc).__name__}: {exc}", "traceback": traceback.format_exc()[-3000:]}
    record[name]["seconds"] = time.perf_counter() - start
    out.write_text(json.dumps(json_ready(record), indent=2))
    print(f"[gpu_check] {name}: {'error: ' + record[name]['error'] if 'error' in record[name] else 'ok'}"
          f" ({record[name]['seconds']:.1f} s)", flush=True)


def environment(args) -> dict:
    import onnxruntime as ort

    from edgederain.bench import machine_info, versions

    env = {"dry_run": args.dry_run, "machine": machine_info(), "versions": versions(),
           "onnxruntime_file": ort.__file__, "ort_available": ort.get_available_providers(),
           "ort_device": ort.get_device(), "ld_library_path": os.environ.get("LD_LIBRARY_PATH", "")}
    try:
        import torch

        env["torch"] = {"version": torch.__version__, "cuda": torch.version.cuda,
                        "cudnn": torch.backends.cudnn.version() if torch.cuda.is_available() else None,
                        "available": torch.cuda.is_available(),
                        "device": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None}
    except ImportError as exc:
        env["torch"] = {"error": str(exc)}
    try:
        env["nvidia_smi"] = subprocess.run(["nvidia-smi", "-L"], capture_output=True, text=True,
                                           timeout=20).stdout.strip()
    except (OSError, subprocess.TimeoutExpired) as exc:
        env["nvidia_smi"] = f"unavailable: {exc}"
    return env


class Timer:
    """Per-call latency in ms: CUDA events on the GPU, perf_counter on the CPU (dry run)."""

    def __init__(self, cuda: bool) -> None:
        self.cuda = cuda

    def measure(self, fn, *, warmup: int, iterations: int) -> dict:
        import torch

        for _ in range(warmup):
            fn()
        times = []
        for _ in range(iterations):
            if self.cuda:
                start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
                start.record()
                fn()
                end.record()
                torch.cuda.synchronize()
                times.append(start.elapsed_time(end))
            else:
                t0 = time.perf_counter()
                fn()
                times.append((time.perf_counter() - t0) * 1e3)
        return _stats(times)


def _stats(ms: list[float]) -> dict:
    a = np.asarray(ms)
    return {"runs": len(a), "median_ms": float(np.median(a)), "p90_ms": float(np.percentile(a, 90)),
            "min_ms": float(a.min()), "max_ms": float(a.max())}


def _nets(dry: bool):
    """(name, network, weights) for thesis (packaged weights) and lite (if the preset exists)."""
    from edgederain.model import build_model
    from edgederain.model.config import PRESETS
    from edgederain.train.checkpoint import load_derain_model

    net, _ = load_derain_model(WEIGHTS / "derain.pt")
    yield "thesis", net, "packaged all-weather weights"
    if "lite" in PRESETS:
        yield "lite", build_model("lite"), "random (latency only)"


def torch_eager(args) -> dict:
    import torch

    from edgederain.metrics import psnr

    cuda = not args.dry_run
    device = torch.device("cuda" if cuda else "cpu")
    torch.backends.cudnn.benchmark = True
    if not cuda:
        torch.set_num_threads(args.threads)
    timer, sizes = Timer(cuda), DRY_SIZES if args.dry_run else SIZES
    out: dict = {"device": str(device), "sizes": {k: list(v) for k, v in sizes.items()}, "models": {}}
    for name, net, weights in _nets(args.dry_run):
        net = net.to(device).eval()
        rows = {"weights": weights}
        for label, (h, w) in sizes.items():
            x = torch.rand(1, 3, h, w, device=device)
            with torch.inference_mode():
                ref = net.infer(x)
                with torch.autocast(device.type, dtype=torch.float16 if cuda else torch.bfloat16):
                    half = net.infer(x).float()
                row = {"fp32": timer.measure(lambda: net.infer(x), warmup=args.warmup, iterations=args.iterations)}

                def run_half():
                    with torch.autocast(device.type, dtype=torch.float16 if cuda else torch.bfloat16):
                        return net.infer(x)

                row["fp16_autocast"] = timer.measure(run_half, warmup=args.warmup, iterations=args.iterations)
            a, b = ref[0].permute(1, 2, 0).cpu().numpy(), half[0].permute(1, 2, 0).cpu().numpy()
            row["fp16_vs_fp32"] = {"psnr_db": float(psnr(np.clip(b, 0, 1), np.clip(a, 0, 1))),
                                   "nan": int(np.isnan(b).sum()), "max_abs": float(np.nanmax(np.abs(a - b)))}
            rows[label] = row
        out["models"][name] = rows
        del net
        if cuda:
            torch.cuda.empty_cache()
    return out


def _ort_session(path: Path, provider: str, search: str, threads: int):
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.log_severity_level = 3
    if provider == "cuda":
        providers = [("CUDAExecutionProvider", {"cudnn_conv_algo_search": search,
                                                "cudnn_conv_use_max_workspace": "1"}), "CPUExecutionProvider"]
    else:
        opts.intra_op_num_threads = threads
        providers = ["CPUExecutionProvider"]
    sess = ort.InferenceSession(str(path), opts, providers=providers)
    return sess


def _bound_run(sess, x: np.ndarray, device: str):
    """IO binding with input and output on ``device``: returns run()."""
    import onnxruntime as ort

    name, out_name = sess.get_inputs()[0].name, sess.get_outputs()[0].name
    xv = ort.OrtValue.ortvalue_from_numpy(x, device, 0)
    binding = sess.io_binding()
    binding.bind_ortvalue_input(name, xv)
    binding.bind_output(out_name, device)

    def run():
        sess.run_with_iobinding(binding)

    return run, binding


def ort_cuda(args) -> dict:
    from edgederain.runtime import DerainSession, SessionConfig

    provider = "cpu" if args.dry_run else "cuda"
    device = "cpu" if args.dry_run else "cuda"
    sizes = DRY_SIZES if args.dry_run else SIZES
    out: dict = {"provider": provider, "io_binding_device": device, "files": {}}
    for precision in ("fp32", "fp16"):
        path = WEIGHTS / f"derain_{precision}.onnx"
        rows: dict = {}
        for search in ("HEURISTIC",) if args.dry_run else ("HEURISTIC", "EXHAUSTIVE"):
            sess = _ort_session(path, provider, search, args.threads)
            rows[f"active_{search}"] = sess.get_providers()
            for label, (h, w) in sizes.items():
                x = np.random.default_rng(0).random((1, 3, h, w), dtype=np.float32)
                run, _ = _bound_run(sess, x, device)
                run()  # first run: cuDNN search, allocations
                t = []
                for i in range(args.warmup + args.iterations):
                    t0 = time.perf_counter()
                    run()
                    if i >= args.warmup:
                        t.append((time.perf_counter() - t0) * 1e3)
                rows[f"{label}_{search}_iobinding"] = _stats(t)
        session = DerainSession(path, SessionConfig.for_provider(provider, threads=args.threads))
        for label, (h, w) in sizes.items():
            frame = np.random.default_rng(1).integers(0, 256, (h, w, 3), dtype=np.uint8)
            session.run(frame)
            t = []
            for i in range(args.warmup + args.iterations):
                t0 = time.perf_counter()
                session.run(frame)
                if i >= args.warmup:
                    t.append((time.perf_counter() - t0) * 1e3)
            rows[f"{label}_derain_session_uint8"] = _stats(t)
        rows["derain_session_active"] = list(session.active_providers)
        out["files"][precision] = rows
    return out


def _frames(args) -> tuple[np.ndarray, np.ndarray | None, str]:
    if args.frames and Path(args.frames).is_file():
        data = np.load(args.frames)
        return data["rainy"], data["clean"], f"Rain100L ({args.frames})"
    rng = np.random.default_rng(0)
    h, w = DRY_SIZES["480x320"]
    return rng.integers(0, 256, (2, h, w, 3), dtype=np.uint8), None, "synthetic (no --frames file)"


def fp16_numerics(args) -> dict:
    from edgederain.metrics import image_metrics, psnr

    provider = "cpu" if args.dry_run else "cuda"
    rainy, clean, source = _frames(args)
    if args.dry_run:
        rainy, clean = rainy[:2], None if clean is None else clean[:2]
    sessions = {p: _ort_session(WEIGHTS / f"derain_{p}.onnx", provider, "HEURISTIC", args.threads)
                for p in ("fp32", "fp16")}
    rows = []
    for i, frame in enumerate(rainy):
        x = frame.transpose(2, 0, 1)[None].astype(np.float32) / 255.0
        outs = {p: s.run(None, {s.get_inputs()[0].name: x})[0][0].transpose(1, 2, 0) for p, s in sessions.items()}
        a, b = outs["fp32"], outs["fp16"]
        row = {"frame": i, "psnr_fp16_vs_fp32_db": float(psnr(np.clip(b, 0, 1), np.clip(a, 0, 1))),
               "max_abs": float(np.nanmax(np.abs(a - b))), "nan": int(np.isnan(b).sum()),
               "inf": int(np.isinf(b).sum())}
        if clean is not None:
            for p, o in outs.items():
                rgb = np.rint(np.clip(o, 0, 1) * 255).astype(np.uint8)
                row[f"{p}_psnr_y"] = float(image_metrics(rgb, clean[i])["psnr_y"])
        rows.append(row)
    summary = {"frames": len(rows), "source": source, "active": {p: s.get_providers() for p, s in sessions.items()},
               "min_psnr_fp16_vs_fp32_db": min(r["psnr_fp16_vs_fp32_db"] for r in rows),
               "nan_total": sum(r["nan"] for r in rows)}
    if clean is not None:
        summary.update({f"mean_{p}_psnr_y": float(np.mean([r[f"{p}_psnr_y"] for r in rows])) for p in ("fp32", "fp16")})
    return {**summary, "per_frame": rows}


def _find_libs(pattern: str) -> list[str]:
    found = []
    for base in [*os.environ.get("LD_LIBRARY_PATH", "").split(":"), *sys.path]:
        if base and Path(base).is_dir():
            found += [str(p) for p in Path(base).glob(f"**/{pattern}") if p.is_file()][:3]
    return sorted(set(found))[:10]


def tensorrt(args) -> dict:
    import onnxruntime as ort

    out: dict = {"tried": ["import tensorrt", "libnvinfer*.so* on LD_LIBRARY_PATH and sys.path",
                           "TensorrtExecutionProvider in onnxruntime.get_available_providers()"]}
    try:
        import tensorrt as trt  # noqa: F401

        out["tensorrt_module"] = getattr(trt, "__version__", "present")
    except ImportError as exc:
        out["tensorrt_module"] = f"missing: {exc}"
    out["libnvinfer"] = _find_libs("libnvinfer.so*")
    out["provider_listed"] = "TensorrtExecutionProvider" in ort.get_available_providers()
    if args.dry_run or not out["provider_listed"] or not out["libnvinfer"]:
        out["skipped"] = "no TensorRT libraries" if not out["libnvinfer"] else "dry run / provider not listed"
        return out
    from edgederain.runtime import DerainSession, SessionConfig

    session = DerainSession(WEIGHTS / "derain_fp16.onnx", SessionConfig.for_provider("tensorrt"))
    out["active"] = list(session.active_providers)
    h, w = SIZES["480x320"]
    frame = np.random.default_rng(2).integers(0, 256, (h, w, 3), dtype=np.uint8)
    t0 = time.perf_counter()
    session.run(frame)
    out["first_run_s"] = time.perf_counter() - t0  # engine build
    t = []
    for _ in range(args.iterations):
        t0 = time.perf_counter()
        session.run(frame)
        t.append((time.perf_counter() - t0) * 1e3)
    out["480x320_derain_session_uint8"] = _stats(t)
    return out


def prepare(path: Path, count: int) -> None:
    """Write ``count`` landscape Rain100L pairs (480x320) to ``path`` for the GPU machine."""
    from edgederain.io import list_images, read_rgb

    data = REPO.parent / "shared" / "data" / "rain100l"
    rainy, clean = [], []
    for p in list_images(data / "rainy"):
        r, c = read_rgb(p), read_rgb(data / "clean" / p.name)
        if r.shape[:2] == (320, 480):
            rainy.append(r)
            clean.append(c)
        if len(rainy) == count:
            break
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(path, rainy=np.stack(rainy), clean=np.stack(clean))
    print(f"wrote {path} ({len(rainy)} Rain100L pairs, {path.stat().st_size / 1e6:.1f} MB)")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=REPO / "runs" / "gpu_check" / "out")
    ap.add_argument("--dry-run", action="store_true", help="CPU only, small frames, 2 iterations")
    ap.add_argument("--frames", default=str(REPO / "runs" / "gpu_check" / "frames.npz"))
    ap.add_argument("--prepare", action="store_true", help="write --frames from ../shared/data/rain100l and exit")
    ap.add_argument("--prepare-count", type=int, default=8)
    ap.add_argument("--iterations", type=int, default=None)
    ap.add_argument("--warmup", type=int, default=None)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--sections", default="environment,torch_eager,ort_cuda,fp16_numerics,tensorrt")
    args = ap.parse_args()
    if args.prepare:
        return prepare(Path(args.frames), args.prepare_count)
    args.iterations = args.iterations or (2 if args.dry_run else 50)
    args.warmup = args.warmup if args.warmup is not None else (1 if args.dry_run else 10)
    args.out.mkdir(parents=True, exist_ok=True)
    out = args.out / "gpu_check.json"
    record: dict = {"started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "dry_run": args.dry_run}
    fns = {"environment": environment, "torch_eager": torch_eager, "ort_cuda": ort_cuda,
           "fp16_numerics": fp16_numerics, "tensorrt": tensorrt}
    for name in args.sections.split(","):
        _section(record, name, out, fns[name], args)
    failed = [k for k, v in record.items() if isinstance(v, dict) and "error" in v]
    print(f"[gpu_check] wrote {out}; failed sections: {failed or 'none'}", flush=True)
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
