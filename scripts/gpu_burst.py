"""A training burst on a GPU machine: pack the backgrounds here, train there, continue here.

The GPU machine has torch with CUDA, typer, numpy and pillow, but neither this project's data nor a
network; what a call may carry is capped (the working tree plus carried paths, 64 MiB), so the
backgrounds travel as JPEG parts over a few consecutive calls, like the onnxruntime-gpu wheel
(``benchmarks/gpu_wheel.sh``). Steps:

1. here:   ``.venv/bin/python scripts/gpu_burst.py pack``
           -> ``runs/burst/bg-NN.tar`` (``--chunk-mib`` each, default 8) and ``manifest.json``:
           every background resized to at most ``--max-side`` (480, what the configs train on)
           and stored as JPEG ``--quality`` 92 (4:4:4), names and order kept, so the held-out
           split (every 20th image) is the one of every CPU run.
2. there, one call per part:  ``python3 scripts/gpu_burst.py stash``
           (carry ``runs/burst/bg-NN.tar`` and ``runs/burst/manifest.json``): copies the parts
           this call carried to ``$STASH`` (default /tmp/edgederain-burst), kept while the
           machine stays warm.
3. there, the last call:  ``python3 scripts/gpu_burst.py run CONFIG --minutes 8``
           unpacks the stash and runs ``edgederain train`` on CONFIG with the backgrounds, device
           ``cuda``, bf16, ``--workers`` processes rendering rain (the GPU would wait on one) and
           the output folder replaced; ``--batch-size``, ``--iterations``, ``--lr`` override the
           config. It stops at the end of the schedule or after ``--minutes`` (SIGINT: the loop
           saves its last checkpoint), then copies ``derain_best.pt``, ``derain_log.csv``,
           ``config.json`` and the train log to ``$OUT``.
4. here:   ``.venv/bin/python scripts/gpu_burst.py collect FILES_AT --to runs/burst-NAME``
           copies them into a run folder and prints how to continue on the CPU: a new segment
           with ``init`` = that ``derain_best.pt`` (a fine-tune: the optimizer state stays
           there; the network and its validation scores come back).

Exact device calls (the ``run`` tool; consecutive, since a warm machine is given back after
about 30 s idle and the stash with it; the tree is 53 MiB, so one 8 MiB part per call, or all
four parts in one call where the packaged ONNX files and ``weights/lite`` are left out of the
tree for it, since a burst needs only ``derain.pt`` and ``autoencoder.pt``):

    run(carry=["runs/burst/bg-00.tar", "runs/burst/manifest.json"],
        command="python3 scripts/gpu_burst.py stash")                  # then bg-01, bg-02
    run(carry=["runs/burst/bg-03.tar", "runs/burst/manifest.json"],
        command="python3 scripts/gpu_burst.py stash && python3 scripts/gpu_burst.py run "
                "configs/all-weather-gpu.toml --minutes 7", timeout_s=540)

``run --dry-run`` does step 3 on the CPU with a few iterations (CI runs it through
``tests/test_gpu_burst.py``), so the GPU minutes go to training, not to debugging.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import shutil
import signal
import subprocess
import sys
import tarfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
# the GPU machine runs this file from a copy of the tree, with no installed package: `pack`,
# `run` and `collect` import edgederain from the tree itself
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))
DEFAULT_STASH = Path(os.environ.get("STASH", "/tmp/edgederain-burst"))
RETURNED = ("derain_best.pt", "derain_log.csv", "config.json")
STARTUP_S = 150  # data, networks and validation sets before the loop's clock starts; then SIGINT


def _rel_names(root: Path) -> list[tuple[Path, str]]:
    from edgederain.data.datasets import list_backgrounds

    paths = list_backgrounds([root])
    named = [(p, p.relative_to(root).as_posix() + ".jpg") for p in paths]
    if sorted(n for _, n in named) != [n for _, n in named]:
        raise SystemExit("renaming to .jpg would change the backgrounds' order (and the held-out split)")
    return named


def pack(root: Path, out: Path, *, max_side: int, quality: int, chunk_mib: float) -> dict:
    """Resize and JPEG-encode every background under ``root`` into tar parts of at most ``chunk_mib``."""
    from PIL import Image

    from edgederain.data.datasets import load_background

    out.mkdir(parents=True, exist_ok=True)
    for old in out.glob("bg-*.tar"):
        old.unlink()
    limit = int(chunk_mib * 2**20) - 64 * 1024  # headroom for tar headers
    parts: list[dict] = []
    tar, size, count = None, 0, 0

    def close() -> None:
        if tar is not None:
            tar.close()
            parts[-1]["files"] = count

    for path, name in _rel_names(root):
        buf = io.BytesIO()
        Image.fromarray(load_background(path, max_side=max_side)).save(buf, "JPEG", quality=quality, subsampling=0)
        data = buf.getvalue()
        if tar is None or size + len(data) + 1024 > limit:
            close()
            part = out / f"bg-{len(parts):02d}.tar"
            parts.append({"name": part.name})
            tar, size, count = tarfile.open(part, "w"), 0, 0
        info = tarfile.TarInfo(f"{root.name}/{name}")
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
        size += len(data) + 1024
        count += 1
    close()
    manifest = {"root": root.name, "max_side": max_side, "quality": quality, "parts": parts,
                "files": sum(p["files"] for p in parts)}
    (out / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
    return manifest


def stash(src: Path, dest: Path) -> list[str]:
    """Copy the parts (and manifest) present in ``src`` to ``dest``; returns the parts copied."""
    dest.mkdir(parents=True, exist_ok=True)
    if not (src / "manifest.json").is_file():
        raise SystemExit(f"{src}/manifest.json not carried: carry it with every part")
    shutil.copy2(src / "manifest.json", dest / "manifest.json")
    copied = []
    for part in sorted(src.glob("bg-*.tar")):
        shutil.copy2(part, dest / part.name)
        copied.append(part.name)
    return copied


def unpack(store: Path) -> Path:
    """Extract every stashed part; the backgrounds' root folder. Refuses an incomplete stash."""
    manifest = json.loads((store / "manifest.json").read_text())
    missing = [p["name"] for p in manifest["parts"] if not (store / p["name"]).is_file()]
    if missing:
        raise SystemExit(f"stash {store} lacks {missing}: run `stash` once per part first")
    target = store / "backgrounds"
    shutil.rmtree(target, ignore_errors=True)
    target.mkdir(parents=True)
    for p in manifest["parts"]:
        with tarfile.open(store / p["name"]) as tar:
            tar.extractall(target, filter="data")
    root = target / manifest["root"]
    found = sum(1 for f in root.rglob("*.jpg"))
    if found != manifest["files"]:
        raise SystemExit(f"unpacked {found} backgrounds, the manifest lists {manifest['files']}")
    return root


def burst_config(config: Path, backgrounds: Path, out_dir: Path, *, device: str, workers: int,
                 overrides: dict) -> dict:
    """The training config of the burst, as a dict for a JSON config file."""
    from edgederain.train.config import load_train_config

    changes = {"backgrounds": (str(backgrounds),), "out_dir": str(out_dir), "device": device,
               "workers": workers, "threads": 0}
    if device == "cuda":
        changes.update(amp="bf16", channels_last=True)
    return load_train_config(config).replace(**{**changes, **overrides}).to_dict()


def run(config: Path, *, store: Path, out: Path, minutes: float, workers: int, dry_run: bool,
        overrides: dict, python: str) -> int:
    root = unpack(store)
    work = store / "run"
    shutil.rmtree(work, ignore_errors=True)
    device = "cpu" if dry_run else "cuda"
    overrides = {k: v for k, v in overrides.items() if v is not None}
    # the schedule fits the minutes: the loop stops after them and its decays fall at their fractions
    overrides = {"time_limit": minutes, **overrides}
    if dry_run:
        overrides = {"derain_iterations": 2, "val_count": 1, "val_every": 1, "amp": "off", **overrides}
    cfg = burst_config(config, root, work, device=device, workers=workers, overrides=overrides)
    out.mkdir(parents=True, exist_ok=True)
    cfg_file = store / "burst_config.json"
    cfg_file.write_text(json.dumps(cfg, indent=2) + "\n")
    env = {**os.environ, "PYTHONPATH": f"{REPO}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}
    cmd = [python, "-m", "edgederain", "train", "--config", str(cfg_file), "--no-progress"]
    print(" ".join(cmd), flush=True)
    t0 = time.time()
    with open(out / "train.log", "w") as log:
        proc = subprocess.Popen(cmd, cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT)
        try:
            code = proc.wait(timeout=minutes * 60 + STARTUP_S)
        except subprocess.TimeoutExpired:
            proc.send_signal(signal.SIGINT)  # the loop saves derain_last.pt and stops
            code = proc.wait(timeout=120)
    seconds = time.time() - t0
    for name in RETURNED:
        if (work / name).is_file():
            shutil.copy2(work / name, out / name)
    (out / "burst.json").write_text(json.dumps({"exit_code": code, "seconds": round(seconds, 1),
                                                "config": str(config), "device": device}, indent=2) + "\n")
    print(f"train exited {code} after {seconds:.0f} s; returned: "
          f"{sorted(p.name for p in out.iterdir())}", flush=True)
    return 0 if (out / "derain_best.pt").is_file() else 1


def collect(src: Path, dest: Path) -> None:
    dest.mkdir(parents=True, exist_ok=True)
    for name in (*RETURNED, "train.log", "burst.json"):
        if (src / name).is_file():
            shutil.copy2(src / name, dest / name)
    best = dest / "derain_best.pt"
    if not best.is_file():
        raise SystemExit(f"{src} holds no derain_best.pt; see {dest / 'train.log'}")
    print(f"continue on the CPU with a config whose init = \"{best}\" (a new segment), e.g.\n"
          f"  edgederain train --config CONFIG --init {best} --out runs/NEXT")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("pack")
    p.add_argument("--backgrounds", type=Path, default=REPO.parent / "shared" / "data" / "backgrounds")
    p.add_argument("--out", type=Path, default=REPO / "runs" / "burst")
    p.add_argument("--max-side", type=int, default=480)
    p.add_argument("--quality", type=int, default=92)
    p.add_argument("--chunk-mib", type=float, default=8.0)
    s = sub.add_parser("stash")
    s.add_argument("--src", type=Path, default=REPO / "runs" / "burst")
    s.add_argument("--stash", type=Path, default=DEFAULT_STASH)
    r = sub.add_parser("run")
    r.add_argument("config", type=Path)
    r.add_argument("--stash", type=Path, default=DEFAULT_STASH)
    r.add_argument("--out", type=Path, default=Path(os.environ.get("OUT", REPO / "runs" / "burst-out")))
    r.add_argument("--minutes", type=float, default=8.0)
    r.add_argument("--workers", type=int, default=max(1, (os.cpu_count() or 2) - 2))
    r.add_argument("--batch-size", type=int)
    r.add_argument("--iterations", type=int, dest="derain_iterations")
    r.add_argument("--lr", type=float)
    r.add_argument("--dry-run", action="store_true", help="CPU, 2 iterations: check the steps, not the GPU")
    r.add_argument("--python", default=sys.executable)
    c = sub.add_parser("collect")
    c.add_argument("files_at", type=Path)
    c.add_argument("--to", type=Path, required=True)
    args = ap.parse_args(argv)
    if args.cmd == "pack":
        m = pack(args.backgrounds, args.out, max_side=args.max_side, quality=args.quality, chunk_mib=args.chunk_mib)
        sizes = {p["name"]: round((args.out / p["name"]).stat().st_size / 2**20, 2) for p in m["parts"]}
        print(f"{m['files']} backgrounds in {len(m['parts'])} parts (MiB): {sizes}")
    elif args.cmd == "stash":
        print(f"stashed {stash(args.src, args.stash)} in {args.stash}")
    elif args.cmd == "run":
        overrides = {"batch_size": args.batch_size, "derain_iterations": args.derain_iterations, "lr": args.lr}
        return run(args.config, store=args.stash, out=args.out, minutes=args.minutes, workers=args.workers,
                   dry_run=args.dry_run, overrides=overrides, python=args.python)
    else:
        collect(args.files_at, args.to)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
