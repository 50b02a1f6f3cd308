"""Soak benchmark of ``edgederain derain``: thousands of frames and a long video through the
command line, memory over time, and a kill -9 in the middle followed by a resume. Writes JSON.

    nice -n 15 env OMP_NUM_THREADS=1 .venv/bin/python benchmarks/soak_derain.py

What it does:

1. Generates ``--frames`` small frames (default 2000 at 96x128, JPEG) cropped from
   ``../shared/data/backgrounds`` with synthetic rain streaks and sensor noise, and, if PyAV is
   installed (the ``video`` extra), a ``--video-frames`` long H.264 video (default 300) of a
   camera panning over one background in the rain.
2. Run A: ``edgederain derain FRAMES VIDEO -o A --format png`` as a subprocess (niced, one ORT
   thread), sampling its RSS from ``/proc`` (VmRSS, and VmHWM for the peak between samples;
   psutil where there is no ``/proc``) every ``--sample-s``; records throughput (images, video
   frames), peak RSS, RSS once warm, at the end of the images and at the end, and the RSS growth
   per 1000 frames over the second half of the images.
3. Run B into another folder, killed with SIGKILL once half the frames are written; rerun (the
   same command: existing outputs are skipped), killed again while the video's temporary file is
   being written; rerun to completion.
4. Verifies that every input has exactly one output in B, that every output decodes, that every
   image equals run A's bit for bit and every video frame matches within ``--video-tolerance``,
   and lists any temporary file still there after the resume (a killed run leaves its hidden
   ``.edgederain-*`` file, never a partial file under an output name, since outputs are written
   to a temporary file and renamed; the next run removes such leftovers).

Model: the packaged INT8 file (``edgederain/weights/derain_int8.onnx``) unless ``--model``. On the
2-core development machine, shared with a training job, ``edgederain bench`` gave about 110 ms per
96x128 frame with one niced thread (360 ms at 160x240), hence the default size. Measured there
(``benchmarks/results/soak_derain.json``, load average 4-5 on 2 cores): run A 692 s for 2000
frames and the 300-frame video (3.35 images/s), the kill-and-resume runs 740 s, 25 minutes in all.
That run used the light-rain INT8 file packaged at that path then, later moved to
``edgederain/weights/light/`` and retired (same network and size as the all-weather default).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
DATA = REPO.parent / "shared" / "data" / "backgrounds"
sys.path.insert(0, str(REPO))


# --- inputs ------------------------------------------------------------------------------------
def _backgrounds(limit: int = 200) -> list[Path]:
    from edgederain.io import IMAGE_SUFFIXES

    files = sorted(p for p in DATA.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES)
    if not files:
        raise SystemExit(f"no background images under {DATA}")
    return files[:: max(1, len(files) // limit)]


def _rain(h: int, w: int, rng: np.random.Generator) -> np.ndarray:
    """Streaks: sparse drops smeared along one direction, float32 in [0, 1]."""
    drops = (rng.random((h, w)) < rng.uniform(0.002, 0.01)).astype(np.float32) * rng.uniform(0.5, 1.0)
    length, dx = int(rng.integers(6, 16)), rng.uniform(-0.4, 0.4)
    layer = np.zeros_like(drops)
    for t in range(length):
        layer += np.roll(drops, (t, int(round(t * dx))), axis=(0, 1))
    return np.clip(layer / 2.0, 0.0, 1.0)


def _rainy(clean: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    x = clean.astype(np.float32) / 255.0
    x = x + 0.6 * _rain(*x.shape[:2], rng)[..., None] + rng.normal(0, 0.01, x.shape).astype(np.float32)
    return np.clip(np.rint(x * 255.0), 0, 255).astype(np.uint8)


def _crop(img: np.ndarray, size: tuple[int, int], rng: np.random.Generator) -> np.ndarray:
    from PIL import Image

    h, w = size
    scale = max(h / img.shape[0], w / img.shape[1]) * rng.uniform(1.0, 2.0)
    pil = Image.fromarray(img).resize((max(w, round(img.shape[1] * scale)), max(h, round(img.shape[0] * scale))))
    arr = np.asarray(pil)
    y0, x0 = rng.integers(0, arr.shape[0] - h + 1), rng.integers(0, arr.shape[1] - w + 1)
    return arr[y0 : y0 + h, x0 : x0 + w]


def make_frames(folder: Path, n: int, size: tuple[int, int], seed: int) -> None:
    from PIL import Image

    from edgederain.io import read_rgb

    rng = np.random.default_rng(seed)
    sources = [read_rgb(p) for p in _backgrounds()]
    folder.mkdir(parents=True)
    for i in range(n):
        frame = _rainy(_crop(sources[i % len(sources)], size, rng), rng)
        Image.fromarray(frame).save(folder / f"frame_{i:05d}.jpg", quality=90)


def make_video(path: Path, n: int, size: tuple[int, int], seed: int) -> bool:
    try:
        import av
    except ModuleNotFoundError:
        return False
    from edgederain.io import read_rgb

    rng = np.random.default_rng(seed)
    h, w = size
    wide = _crop(read_rgb(_backgrounds()[0]), (h, w * 3), rng)
    with av.open(str(path), "w") as c:
        s = c.add_stream("libx264", rate=25)
        s.width, s.height, s.pix_fmt = w, h, "yuv420p"
        for i in range(n):
            x0 = int((2 * w) * (0.5 - 0.5 * np.cos(2 * np.pi * i / n)))
            frame = _rainy(np.ascontiguousarray(wide[:, x0 : x0 + w]), rng)
            for p in s.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")):
                c.mux(p)
        for p in s.encode():
            c.mux(p)
    return True


# --- running and sampling ----------------------------------------------------------------------
def _rss_mib(pid: int) -> tuple[float, float | None] | None:
    """(current RSS, peak RSS so far) in MiB: /proc's VmRSS and VmHWM (psutil's rss where /proc
    is absent, without the peak); None once the process is gone."""
    try:
        fields = dict(line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines()
                      if line.startswith(("VmRSS:", "VmHWM:")))
        return int(fields["VmRSS"].split()[0]) / 1024, int(fields["VmHWM"].split()[0]) / 1024
    except (OSError, KeyError, ValueError):
        pass
    try:
        import psutil

        return psutil.Process(pid).memory_info().rss / 2**20, None
    except Exception:  # noqa: BLE001 - psutil absent, or the process has just exited
        return None


def _outputs(folder: Path) -> list[Path]:
    return [p for p in folder.iterdir() if not p.name.startswith(".")] if folder.is_dir() else []


def _temporaries(folder: Path) -> list[Path]:
    return [p for p in folder.iterdir() if p.name.startswith(".edgederain-")] if folder.is_dir() else []


@dataclass
class Run:
    """One derain subprocess: its samples (t, rss MiB, outputs, peak rss MiB) and how it ended."""

    cmd: list[str]
    out: Path
    samples: list[tuple[float, float, int, float | None]] = field(default_factory=list)
    returncode: int | None = None
    wall_s: float = 0.0
    killed_at_outputs: int | None = None
    log: str = ""


def derain_cmd(inputs: list[Path], out: Path, model: Path) -> list[str]:
    exe = Path(sys.executable).with_name("edgederain")
    head = [str(exe)] if exe.exists() else [sys.executable, "-c", "from edgederain.cli import run; run()"]
    return head + ["derain", *map(str, inputs), "-o", str(out), "-m", str(model), "--format", "png",
                   "--threads", "1", "-q"]


def run(cmd: list[str], out: Path, *, sample_s: float, kill_when=None, log: Path) -> Run:
    """Run ``cmd`` niced; sample RSS; SIGKILL it when ``kill_when(out)`` becomes true."""
    r = Run(cmd, out)
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    start = time.monotonic()
    with open(log, "w") as f:
        # nice(1) execs the command in the same process. The peak is /proc's VmHWM, which starts
        # afresh at exec; wait4's ru_maxrss does not (it counts this script's pages at the fork).
        proc = subprocess.Popen(["nice", "-n", "15", *cmd], stdout=f, stderr=subprocess.STDOUT, env=env)
        while True:
            time.sleep(sample_s)
            done, status, usage = _poll(proc.pid)
            if done:
                break
            rss = _rss_mib(proc.pid)
            n = len(_outputs(out))
            if rss is not None:
                r.samples.append((time.monotonic() - start, rss[0], n, rss[1]))
            if kill_when is not None and kill_when(out):
                os.kill(proc.pid, signal.SIGKILL)
                r.killed_at_outputs = n
                _, status, usage = os.wait4(proc.pid, 0)
                break
    proc.returncode = os.waitstatus_to_exitcode(status)
    r.returncode, r.wall_s = proc.returncode, time.monotonic() - start
    r.log = log.read_text()[-2000:]
    return r


def _poll(pid: int):
    got, status, usage = os.wait4(pid, os.WNOHANG)
    return got == pid, status, usage


# --- verification ------------------------------------------------------------------------------
def verify(inputs: list[Path], a: Path, b: Path, tolerance: int) -> dict:
    from edgederain.io import read_image

    report = {"expected": len(inputs), "present": 0, "decoded": 0, "identical": 0, "within_tolerance": 0,
              "missing": [], "corrupt": [], "mismatch": [], "video_max_abs_diff": None}
    for src in inputs:
        is_video = src.suffix == ".mp4"
        name = src.name if is_video else src.stem + ".png"
        pa, pb = a / name, b / name
        if not pb.exists():
            report["missing"].append(name)
            continue
        report["present"] += 1
        try:
            if is_video:
                fa, fb = _video_frames(pa), _video_frames(pb)
                diff = max((int(np.abs(x.astype(int) - y.astype(int)).max()) for x, y in zip(fa, fb)), default=0)
                same_len = len(fa) == len(fb) == _count_frames(src)
                report["video_max_abs_diff"] = diff
                ok_exact, ok_tol = same_len and diff == 0, same_len and diff <= tolerance
            else:
                xa, xb = read_image(pa).rgb, read_image(pb).rgb
                ok_exact = ok_tol = xa.shape == xb.shape and np.array_equal(xa, xb)
        except Exception as exc:  # noqa: BLE001 - a corrupt output is what we look for
            report["corrupt"].append(f"{name}: {exc}")
            continue
        report["decoded"] += 1
        report["identical"] += int(ok_exact)
        report["within_tolerance"] += int(ok_tol)
        if not ok_tol:
            report["mismatch"].append(name)
    extra = {p.name for p in _outputs(b)} - {(s.name if s.suffix == ".mp4" else s.stem + ".png") for s in inputs}
    report["unexpected_outputs"] = sorted(extra)
    report["temporaries_left"] = sorted(p.name for p in _temporaries(b))
    report["passed"] = (report["within_tolerance"] == len(inputs) and not extra)
    return report


def _video_frames(path: Path) -> list[np.ndarray]:
    from edgederain.video import read_video

    return list(read_video(path))


def _count_frames(path: Path) -> int:
    return len(_video_frames(path))


# --- summary -----------------------------------------------------------------------------------
def memory_summary(r: Run, images: int, video_frames: int) -> dict:
    """Peak/warm/final RSS; growth per 1000 frames while the images run (the video, last, has its
    encoder's buffers on top, reported separately)."""
    s = r.samples
    if not s:
        return {}
    rss = np.array([x[1] for x in s])
    done = np.array([x[2] for x in s], dtype=float)
    image_phase = done < images
    warm = next((x[1] for x in s if x[2] >= max(1, images // 10)), rss[0])
    late = image_phase & (done >= images / 2)
    slope = None
    if late.sum() >= 3 and np.ptp(done[late]) > 0:
        slope = float(np.polyfit(done[late], rss[late], 1)[0] * 1000)
    hwm = [x[3] for x in s if x[3] is not None]
    hwm_images = [x[3] for x in s if x[3] is not None and x[2] < images]
    return {
        "samples": len(s), "sample_interval_s": round(float(np.median(np.diff([x[0] for x in s]))), 2) if len(s) > 1 else None,
        "peak_rss_sampled_mib": float(rss.max()), "peak_rss_hwm_mib": max(hwm) if hwm else None,
        "peak_rss_hwm_during_images_mib": max(hwm_images) if hwm_images else None,
        "rss_warm_mib": float(warm), "rss_end_of_images_mib": float(rss[image_phase][-1]) if image_phase.any() else None,
        "rss_final_mib": float(rss[-1]),
        "rss_growth_mib_per_1000_frames_second_half_of_images": slope,
        "video_frames_last": video_frames,
        "timeline_t_rss_outputs_hwm": [[round(t, 1), round(m, 1), n, None if h is None else round(h, 1)]
                                       for t, m, n, h in s[:: max(1, len(s) // 60)]],
    }


def throughput(r: Run, images: int, video_frames: int) -> dict:
    """Wall-clock rates: all frames over the whole run, images between the first and the last
    image output, and the video's frames after that (the video runs last)."""
    first = next((t for t, _, n, _ in r.samples if n >= 1), None)
    images_done = next((t for t, _, n, _ in r.samples if n >= images), None)
    image_rate = video_rate = None
    if first is not None and images_done is not None and images_done > first:
        image_rate = (images - 1) / (images_done - first)
    if video_frames and images_done is not None and r.wall_s > images_done:
        video_rate = video_frames / (r.wall_s - images_done)
    total = images + video_frames
    return {"wall_s": r.wall_s, "frames_per_s_wall": total / r.wall_s if r.wall_s else None,
            "images_per_s": image_rate, "video_frames_per_s": video_rate, "first_output_s": first}


def machine() -> dict:
    info = {"python": platform.python_version(), "platform": platform.platform(), "cores": os.cpu_count(),
            "load_average_start": os.getloadavg()}
    try:
        text = subprocess.run(["lscpu"], capture_output=True, text=True, check=True).stdout
        info["cpu"] = next((ln.split(":", 1)[1].strip() for ln in text.splitlines() if ln.startswith("Model name")), None)
    except (OSError, subprocess.CalledProcessError):
        info["cpu"] = platform.processor() or None
    flags = set()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("flags"):
                flags = set(line.split(":", 1)[1].split())
                break
    except OSError:
        pass
    info["avx2"] = "avx2" in flags
    info["avx512"] = sorted(f for f in flags if f.startswith("avx512"))
    info["amx"] = sorted(f for f in flags if f.startswith("amx"))
    return info


def versions() -> dict:
    import importlib.metadata as md

    out = {}
    for name in ("edgederain", "onnxruntime", "numpy", "pillow", "av", "psutil"):
        try:
            out[name] = md.version(name)
        except md.PackageNotFoundError:
            out[name] = None
    return out


# --- main --------------------------------------------------------------------------------------
def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--frames", type=int, default=2000)
    ap.add_argument("--size", default="96x128", help="frame size HxW")
    ap.add_argument("--video-frames", type=int, default=300, help="0: no video")
    ap.add_argument("--model", type=Path, default=REPO / "edgederain" / "weights" / "derain_int8.onnx")
    ap.add_argument("--sample-s", type=float, default=0.5)
    ap.add_argument("--video-tolerance", type=int, default=2, help="max abs difference per pixel")
    ap.add_argument("--workdir", type=Path, default=None, help="default: a temporary folder, removed after")
    ap.add_argument("--json", type=Path, default=REPO / "benchmarks" / "results" / "soak_derain.json")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--reuse-inputs", action="store_true",
                    help="keep the frames and video already in --workdir (same --frames) instead of regenerating")
    args = ap.parse_args(argv)
    h, w = (int(v) for v in args.size.lower().split("x"))
    work = args.workdir or Path(tempfile.mkdtemp(prefix="edgederain-soak-"))
    try:
        result = soak(args, work, (h, w))
    finally:
        if args.workdir is None:
            shutil.rmtree(work, ignore_errors=True)
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    a = {k: v for k, v in result["run_a"].items() if not k.startswith("timeline")}
    k = result["kill_and_resume"]
    print(json.dumps({"frames": result["frames"], "run_a": a, "runs": k["runs"],
                      "verification": k["verification"]}, indent=2))
    return 0 if result["kill_and_resume"]["verification"]["passed"] else 1


def soak(args, work: Path, size: tuple[int, int]) -> dict:
    t0 = time.monotonic()
    host = machine()  # now, for the load average at the start
    frames_dir, video = work / "frames", work / "drive.mp4"
    reuse = args.reuse_inputs and frames_dir.is_dir() and len(list(frames_dir.iterdir())) == args.frames
    for old in ("A", "B"):
        shutil.rmtree(work / old, ignore_errors=True)
    if not reuse:
        shutil.rmtree(frames_dir, ignore_errors=True)
        make_frames(frames_dir, args.frames, size, args.seed)
    has_video = args.video_frames > 0 and (
        (reuse and video.is_file()) or make_video(video, args.video_frames, size, args.seed + 1))
    inputs = [frames_dir] + ([video] if has_video else [])
    items = sorted(frames_dir.iterdir()) + ([video] if has_video else [])
    total_frames = args.frames + (args.video_frames if has_video else 0)
    gen_s = time.monotonic() - t0
    print(f"generated {args.frames} frames{' and a video' if has_video else ''} in {gen_s:.0f} s", flush=True)

    a = run(derain_cmd(inputs, work / "A", args.model), work / "A", sample_s=args.sample_s, log=work / "a.log")
    print(f"run A: rc {a.returncode}, {a.wall_s:.0f} s", flush=True)
    per_frame = a.wall_s / max(1, total_frames)

    b_cmd = derain_cmd(inputs, work / "B", args.model)
    half = args.frames // 2
    kill1 = run(b_cmd, work / "B", sample_s=0.1, log=work / "b1.log",
                kill_when=lambda out: len(_outputs(out)) >= half)
    seen: dict[str, float] = {}

    def in_video(out: Path) -> bool:
        temps = [p for p in _temporaries(out) if p.suffix == ".mp4"]
        if temps and "t" not in seen:
            seen["t"] = time.monotonic()
        return bool(temps) and time.monotonic() - seen["t"] > per_frame * args.video_frames / 2

    runs = [kill1]
    if has_video:
        runs.append(run(b_cmd, work / "B", sample_s=0.1, log=work / "b2.log", kill_when=in_video))
    runs.append(run(b_cmd, work / "B", sample_s=args.sample_s, log=work / "b3.log"))
    temporaries = [p.name for p in _temporaries(work / "B")]
    check = verify(items, work / "A", work / "B", args.video_tolerance)
    return {
        "what": "edgederain derain over a folder of frames and a video, as a subprocess; kill -9 and resume",
        "command": " ".join(b_cmd).replace(str(work), "$WORK"),
        "model": str(args.model.relative_to(REPO) if args.model.is_relative_to(REPO) else args.model),
        "frames": {"images": args.frames, "video_frames": args.video_frames if has_video else 0,
                   "total": total_frames, "size_hw": list(size), "input_format": "jpeg q90",
                   "output_format": "png", "generation_s": gen_s, "inputs_reused": reuse},
        "run_a": {"returncode": a.returncode, **throughput(a, args.frames, args.video_frames if has_video else 0), **memory_summary(a, args.frames, args.video_frames if has_video else 0)},
        "kill_and_resume": {
            "runs": [{"returncode": r.returncode, "wall_s": r.wall_s, "killed": r.killed_at_outputs is not None,
                      "outputs_when_killed": r.killed_at_outputs, "log_tail": r.log.strip().splitlines()[-3:]}
                     for r in runs],
            "temporaries_left_by_kills": temporaries,
            "verification": check,
        },
        "machine": host, "versions": versions(), "nice": 15, "ort_threads": 1,
        "load_average_end": os.getloadavg(), "total_s": time.monotonic() - t0,
    }


if __name__ == "__main__":
    raise SystemExit(main())
