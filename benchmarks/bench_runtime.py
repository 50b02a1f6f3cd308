"""Runtime benchmark: PyTorch eager vs ONNX Runtime FP32 vs ORT INT8 vs OpenVINO EP (f32, bf16),
at 480x320 and 1280x720, latency median and p99 side by side in one run, each variant's PSNR
against the ORT FP32 outputs; tiled-vs-untiled PSNR and the peak memory of a tiled 4000x3000
frame. Writes one JSON file.

    .venv/bin/python benchmarks/bench_runtime.py --threads 2 \\
        --openvino-python /path/to/venv-with-onnxruntime-openvino/bin/python

- Model: ``--checkpoint`` (a trained one when there is one); otherwise the ``thesis`` preset with
  seeded random weights redrawn so the predicted rain layer is as strong as real rain (with the
  ECNet init the output equals the input and every precision would look perfect).
- FP32 and INT8 files come from ``edgederain.export.export_onnx`` (INT8: U8S8 QDQ, RLCN in
  float, calibrated on CamVid road frames); frames are Rain100L rainy images (resized to
  1280x720 for the large size).
- OpenVINO runs in a separate Python (``--openvino-python``) that has ``onnxruntime-openvino``
  or ``onnxruntime-ep-openvino``: those must not be installed next to the project's onnxruntime.
  The worker uses only numpy + onnxruntime + ``edgederain.runtime``.
- Variants run one after another, each with ``--warmup`` untimed runs then ``--iterations``
  timed ones cycling over the frames. The machine is shared: the JSON records the load average.
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


def time_variant(run, frames: np.ndarray, warmup: int, iterations: int) -> tuple[dict, list]:
    """Warm up, then time ``iterations`` calls cycling over frames; outputs of one pass over all."""
    outs = [run(f) for f in frames]
    for i in range(warmup):
        run(frames[i % len(frames)])
    samples = []
    for i in range(iterations):
        t0 = time.perf_counter()
        run(frames[i % len(frames)])
        samples.append(time.perf_counter() - t0)
    ms = np.asarray(samples) * 1e3
    stats = {"runs": len(ms), "median_ms": float(np.median(ms)), "p99_ms": float(np.percentile(ms, 99)),
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
    """Runs inside the OpenVINO Python: time f32 and bf16 on the saved frames; write JSON + npy."""
    frames = np.load(args.frames_file)
    result = {}
    for precision in ("f32", "bf16"):
        try:
            session, run = ort_runner(Path(args.model), args.threads, provider="openvino",
                                      openvino_precision=precision)
        except Exception as exc:  # noqa: BLE001 - report why the variant is missing
            result[precision] = {"error": f"{type(exc).__name__}: {exc}"}
            continue
        stats, outs = time_variant(run, frames, args.warmup, args.iterations)
        np.save(Path(args.out_dir) / f"ov_{precision}.npy", np.stack(outs))
        import onnxruntime

        result[precision] = {**stats, "active": list(session.active_providers),
                             "onnxruntime": onnxruntime.__version__,
                             "load_config": session.info.provider_options.get(
                                 "OpenVINOExecutionProvider", {}).get("load_config")}
    (Path(args.out_dir) / "ov.json").write_text(json.dumps(result))


def run_openvino(python: str, model: Path, frames: np.ndarray, args) -> tuple[dict, dict]:
    with tempfile.TemporaryDirectory() as tmp:
        np.save(Path(tmp) / "frames.npy", frames)
        cmd = [python, __file__, "--worker", "--model", str(model), "--frames-file", str(Path(tmp) / "frames.npy"),
               "--out-dir", tmp, "--threads", str(args.threads), "--warmup", str(args.warmup),
               "--iterations", str(args.iterations)]
        env = {**os.environ, "PYTHONPATH": str(REPO)}
        proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=3600)
        if proc.returncode != 0:
            return {"error": proc.stderr[-2000:]}, {}
        stats = json.loads((Path(tmp) / "ov.json").read_text())
        outs = {p: list(np.load(Path(tmp) / f"ov_{p}.npy")) for p in stats if "error" not in stats[p]}
        return stats, outs


def bench_size(size, models, checkpoint, args) -> dict:
    frames = load_frames(size, args.frames)
    row: dict = {"shape_hw": list(size), "frames": len(frames), "load_before": list(os.getloadavg())}
    _, run32 = ort_runner(models["fp32"], args.threads)
    row["ort_fp32"], ref = time_variant(run32, frames, args.warmup, args.iterations)
    _, run8 = ort_runner(models["int8"], args.threads)
    row["ort_int8"], outs = time_variant(run8, frames, args.warmup, args.iterations)
    row["ort_int8"]["psnr_vs_fp32"] = psnr_vs(ref, outs)
    if args.openvino_python:
        ov_stats, ov_outs = run_openvino(args.openvino_python, models["fp32"], frames, args)
        for p, stats in ov_stats.items() if "error" not in ov_stats else []:
            if p in ov_outs:
                stats["psnr_vs_fp32"] = psnr_vs(ref, ov_outs[p])
            row[f"openvino_{p}"] = stats
        if "error" in ov_stats:
            row["openvino_error"] = ov_stats["error"]
    row["torch_eager"], outs = time_variant(torch_runner(checkpoint, args.threads), frames,
                                            args.warmup, args.iterations)
    row["torch_eager"]["psnr_vs_fp32"] = psnr_vs(ref, outs)
    eager = row["torch_eager"]["median_ms"]
    row["ratio_to_torch_median"] = {k: v["median_ms"] / eager for k, v in row.items()
                                    if isinstance(v, dict) and "median_ms" in v}
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

    models = {"fp32": out / "model_fp32.onnx", "int8": out / "model_int8.onnx"}
    if not models["fp32"].exists():
        export_onnx(checkpoint, models["fp32"], config=ExportConfig())
    if not models["int8"].exists():
        cfg = ExportConfig(precision="int8", calib_data=DATA / "backgrounds" / "camvid",
                           quantize=QuantizeConfig(progress=False))
        export_onnx(checkpoint, models["int8"], config=cfg)
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
    ap.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--frames-file", help=argparse.SUPPRESS)
    ap.add_argument("--model", help=argparse.SUPPRESS)
    ap.add_argument("--out-dir", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker:
        return openvino_worker(args)
    from edgederain.bench import json_ready, machine_info, versions

    work = args.out.parent
    work.mkdir(parents=True, exist_ok=True)
    checkpoint = args.checkpoint or lively_checkpoint(work / f"{args.preset}_random.pt", args.preset)
    models = export_models(checkpoint, work)
    result = {"checkpoint": str(checkpoint), "weights": "given" if args.checkpoint else f"{args.preset}, random (He init, rain std 0.05)",
              "threads": args.threads, "machine": machine_info(), "versions": versions(), "sizes": []}
    for text in args.sizes.split(","):
        h, w = (int(v) for v in text.split("x"))
        result["sizes"].append(bench_size((h, w), models, checkpoint, args))
        args.out.write_text(json.dumps(json_ready(result), indent=2))
    result["tiling"] = tiling_checks(models["fp32"], args)
    args.out.write_text(json.dumps(json_ready(result), indent=2))
    print(json.dumps(json_ready(result), indent=2))


if __name__ == "__main__":
    main()
