"""Throughput of fleet deraining on Ray Data against the plain ``edgederain derain`` command.

    .venv/bin/python benchmarks/ray_vs_derain.py [--images 32] [--pause-training]

Both derain the same folder (the first ``--images`` rainy frames of ``../shared/data/rain100l``,
481 x 321, read in place) with the same model (the packaged default, FP32 on CPU) into fresh
output folders, on this machine:

- ``derain``: ``edgederain derain FOLDER -o OUT --threads T`` as a subprocess (one session with
  T intra-op threads; T = the CPU count).
- ``ray_cli``: ``edgederain derain FOLDER -o OUT --ray local --ray-actors A --threads 1`` as a
  subprocess: starts a local Ray instance, A actors of one thread each, stops Ray (what a user
  running the command once pays).
- ``ray_warm``: :func:`edgederain.fleet.derain_on_ray` in this process on a Ray instance started
  before the clock (what each further job on a running cluster pays: actor start, model
  transfer, scheduling).

It records wall seconds and images per second of each, the Ray instance's start time, the
overhead of each Ray path against ``derain`` and the outputs' agreement (the PNG outputs must be
identical). ``--pause-training`` stops the background ``edgederain train`` job (SIGSTOP) while it
measures, for at most 170 s, and always resumes it (SIGCONT, also on errors). Other processes on
the machine are not controlled: the load average is recorded before and after.

Writes ``benchmarks/results/ray_vs_derain.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
DATA = REPO.parent / "shared" / "data" / "rain100l" / "rainy"
sys.path.insert(0, str(REPO))
EDGEDERAIN = [sys.executable, "-m", "edgederain"]
PAUSE_LIMIT_S = 170


def _machine() -> dict:
    from importlib.metadata import PackageNotFoundError, version

    from edgederain.bench import machine_info

    info = machine_info()
    versions = {}
    for pkg in ("edgederain", "ray", "onnxruntime", "numpy", "pyarrow", "pandas"):
        try:
            versions[pkg] = version(pkg)
        except PackageNotFoundError:
            versions[pkg] = None
    return {**info, "versions": versions}


def _inputs(folder: Path, n: int) -> list[Path]:
    import re

    files = sorted(DATA.glob("*.png"), key=lambda p: [int(t) if t.isdigit() else t for t in re.split(r"(\d+)", p.name)])
    if len(files) < n:
        raise SystemExit(f"need {n} rainy frames under {DATA}, found {len(files)}")
    folder.mkdir()
    for f in files[:n]:  # symlinks: the data is read in place, never copied
        (folder / f.name).symlink_to(f)
    return files[:n]


def _timed(cmd: list[str]) -> float:
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    start = time.perf_counter()
    done = subprocess.run(cmd, capture_output=True, text=True, env=env)
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed ({done.returncode}):\n{done.stdout}\n{done.stderr[-2000:]}")
    return seconds


def _agreement(a: Path, b: Path) -> dict:
    """Same output names? Largest pixel difference, and share of differing pixels (ORT with one
    thread per actor against T threads may round a few pixels the other way)."""
    from PIL import Image

    names = sorted(p.name for p in a.iterdir())
    if names != sorted(p.name for p in b.iterdir()):
        return {"same_names": False}
    diffs = [np.abs(np.asarray(Image.open(a / n), np.int16) - np.asarray(Image.open(b / n), np.int16)) for n in names]
    return {"same_names": True, "max_abs_diff": int(max(d.max() for d in diffs)),
            "differing_share": float(np.mean([np.mean(d > 0) for d in diffs]))}


class _TrainingPaused:
    """SIGSTOP the background training job for the measurement; SIGCONT on exit, always."""

    def __init__(self, enabled: bool) -> None:
        self.pids: list[int] = []
        if enabled:
            out = subprocess.run(["pgrep", "-f", "edgederain train"], capture_output=True, text=True).stdout
            self.pids = [int(p) for p in out.split() if int(p) != os.getpid()]

    def __enter__(self):
        for pid in self.pids:
            os.kill(pid, signal.SIGSTOP)
        signal.signal(signal.SIGALRM, lambda *a: self._resume())
        signal.alarm(PAUSE_LIMIT_S)  # resumed at the latest after PAUSE_LIMIT_S, whatever happens
        self.start = time.time()
        return self

    def _resume(self) -> None:
        for pid in self.pids:
            try:
                os.kill(pid, signal.SIGCONT)
            except ProcessLookupError:
                pass

    def __exit__(self, *exc) -> None:
        signal.alarm(0)
        self._resume()
        self.seconds = time.time() - self.start


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--images", type=int, default=32)
    ap.add_argument("--actors", type=int, default=os.cpu_count() or 2)
    ap.add_argument("--pause-training", action="store_true")
    ap.add_argument("--out", type=Path, default=REPO / "benchmarks" / "results" / "ray_vs_derain.json")
    args = ap.parse_args()

    import ray

    from edgederain.fleet import RayOptions, derain_on_ray
    from edgederain.runtime import SessionConfig

    cpus = os.cpu_count() or 2
    work = Path(tempfile.mkdtemp(prefix="ray-vs-derain-"))
    folder = work / "in"
    _inputs(folder, args.images)
    result: dict = {"images": args.images, "image_size": "481x321 (Rain100L rainy)", "model": "packaged default (FP32)",
                    "actors": args.actors, "machine_before": _machine()}
    with _TrainingPaused(args.pause_training) as paused:
        plain = _timed([*EDGEDERAIN, "derain", str(folder), "-o", str(work / "plain"), "-q", "--threads", str(cpus)])
        ray_cli = _timed([*EDGEDERAIN, "derain", str(folder), "-o", str(work / "ray_cli"), "-q", "--threads", "1",
                          "--ray", "local", "--ray-actors", str(args.actors)])
        t0 = time.perf_counter()
        ray.init(num_cpus=cpus, include_dashboard=False, log_to_driver=False)
        init_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        summary = derain_on_ray([str(folder)], work / "ray_warm", session_config=SessionConfig.for_provider("cpu", threads=1),
                                ray_options=RayOptions(actors=args.actors, progress=False))
        warm = time.perf_counter() - t0
        ray.shutdown()
    if summary.count("done") != args.images:
        raise SystemExit(f"ray_warm did {summary.count('done')} of {args.images} images")
    runs = {"derain": plain, "ray_cli": ray_cli, "ray_warm": warm}
    result.update({
        "training_paused": bool(paused.pids), "paused_s": round(paused.seconds, 1),
        "ray_init_s": round(init_s, 2),
        "runs": {k: {"wall_s": round(v, 2), "images_per_s": round(args.images / v, 3)} for k, v in runs.items()},
        "overhead_vs_derain": {k: round(v / plain, 3) for k, v in runs.items() if k != "derain"},
        "outputs_vs_derain": {k: _agreement(work / "plain", work / k) for k in ("ray_cli", "ray_warm")},
        "commands": {
            "derain": f"edgederain derain IN -o OUT -q --threads {cpus}",
            "ray_cli": f"edgederain derain IN -o OUT -q --threads 1 --ray local --ray-actors {args.actors}",
            "ray_warm": f"derain_on_ray([IN], OUT, RayOptions(actors={args.actors})) on a running ray.init(num_cpus={cpus})",
        },
        "load_average_after": list(os.getloadavg()),
    })
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps({k: result[k] for k in ("runs", "overhead_vs_derain", "ray_init_s", "outputs_vs_derain")}, indent=2))


if __name__ == "__main__":
    main()
