"""Rain engines compared by what a network learns from them: ours vs albumentations' and kornia's RandomRain.

The test: a ``thesis`` checkpoint (``--start``) is fine-tuned for the same number of stage-2
iterations (same seed, crops, schedule, image loss only) once per engine, the rain of every training
crop drawn by that engine only. Each fine-tuned model (and the start point) is then scored on:

- a fixed heavy-rain set drawn by each engine on the 17 held-out backgrounds (every 20th of
  ``../shared/data/backgrounds``, at most 480 px; the same held-out split as every training run),
  so every engine is also scored on the others' rain (the off-diagonal is what generalises);
- Rain100L (100 pairs, Yang et al.'s renderer: independent of all three engines);
- the 19 real rainy photos of ``../shared/data/real_rain``: the share of bright-streak energy
  removed (``edgederain.compare.rain_change``, defined in ``docs/real_rain.md``), no ground truth.

Engines: ``ours`` is the ``heavy`` preset (``edgederain/data/rain_presets.py``); ``albumentations``
is ``A.RandomRain`` with its ``heavy`` and ``torrential`` types drawn per image, slant within +-15;
``kornia`` is ``kornia.augmentation.RandomRain`` with 500-1,500 drops of 10-40 px per 480 x 320
(scaled with the area) and widths -3..3. The crop pipeline around the engine (downscaling,
exposure) is the same for all three. Not installed by the project: run it in an environment with
``pip install albumentations kornia`` beside edgederain's own dependencies.

    python benchmarks/rain_baselines.py --iterations 400 --out runs/baselines \\
        --json benchmarks/results/rain_baselines.json
"""

from __future__ import annotations

import argparse
import json
import platform
import subprocess
import time
from pathlib import Path
from typing import Callable

import numpy as np

from edgederain.compare import rain_change
from edgederain.evaluate import evaluate, make_predictor
from edgederain.io import list_images, read_rgb, write_image
from edgederain.data import datasets as train_data
from edgederain.data.datasets import list_backgrounds, load_background, split_holdout
from edgederain.data.pairs import find_pairs
from edgederain.data.synth import add_rain

REPO = Path(__file__).resolve().parents[1]
DATA = REPO.parent / "shared" / "data"
Engine = Callable[[np.ndarray, np.random.Generator], np.ndarray]


def _ours(clean: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    return add_rain(clean, config="heavy", rng=rng)


def _albumentations(clean: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    import albumentations as A

    kind = ("heavy", "torrential")[int(rng.integers(2))]
    slant = float(rng.uniform(-15, 15))
    t = A.RandomRain(slant_range=(slant, slant), rain_type=kind, p=1.0)
    t.set_random_seed(int(rng.integers(2**31)))
    return t(image=np.ascontiguousarray(clean))["image"]


def _kornia(clean: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    import kornia.augmentation as K
    import torch

    h, w = clean.shape[:2]
    scale = h * w / (480 * 320)
    drops = int(rng.integers(500, 1500) * scale) + 1
    t = K.RandomRain(number_of_drops=(drops, drops), drop_height=(10, 40), drop_width=(-3, 3), p=1.0)
    torch.manual_seed(int(rng.integers(2**31)))
    x = torch.from_numpy(clean).permute(2, 0, 1)[None].float() / 255.0
    with torch.no_grad():
        y = t(x)[0].permute(1, 2, 0).clamp(0, 1).numpy()
    return np.round(y * 255.0).astype(np.uint8)


ENGINES: dict[str, Engine] = {"ours": _ours, "albumentations": _albumentations, "kornia": _kornia}


def _patched(engine: Engine):
    """Route the training datasets' rain through ``engine`` (this process only)."""

    def render(clean, *, config=None, rng=None):
        return engine(clean, rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng))

    train_data.add_rain = render


def fine_tune(name: str, start: Path, out: Path, iterations: int, threads: int) -> Path:
    from edgederain.train.config import TrainConfig
    from edgederain.train.loop import train

    run = out / f"train-{name}"
    ckpt = run / "derain_final.pt"
    if ckpt.is_file():
        return ckpt
    _patched(ENGINES[name])
    cfg = TrainConfig(
        model="thesis", stage="derain", out_dir=str(run), init=str(start),
        backgrounds=(str(DATA / "backgrounds"),), rain="heavy", max_side=480, crop=96, batch_size=4,
        derain_iterations=iterations, lr=2e-4, milestones=(0.7,), gamma=0.3, w_embedding=0.0,
        val_count=4, val_every=10 * iterations, checkpoint_every=100, threads=threads, seed=3,
    )
    t0 = time.time()
    train(cfg, progress=False)
    (run / "seconds.txt").write_text(f"{time.time() - t0:.1f}\n")
    return ckpt


def write_sets(out: Path) -> dict[str, Path]:
    _, held = split_holdout(list_backgrounds([DATA / "backgrounds"]), every=20)
    sets = {}
    for k, (name, engine) in enumerate(ENGINES.items()):
        root = out / f"val-{name}"
        sets[name] = root
        if (root / "rainy").is_dir() and len(list_images(root / "rainy")) == len(held):
            continue
        (root / "rainy").mkdir(parents=True, exist_ok=True)
        (root / "clean").mkdir(parents=True, exist_ok=True)
        for i, path in enumerate(held):
            img = load_background(path, max_side=480)
            write_image(root / "clean" / f"{path.stem}.png", img)
            write_image(root / "rainy" / f"{path.stem}.png", engine(img, np.random.default_rng([2027, k, i])))
    return sets


def score(model: Path, sets: dict[str, Path], threads: int) -> dict:
    predict, _ = make_predictor(model, threads=threads)
    row: dict = {}
    for name, root in {**sets, "rain100l": DATA / "rain100l"}.items():
        rep = evaluate(predict, find_pairs(root), progress=False)
        row[name] = {"psnr_y": rep.mean["psnr_y"], "ssim_y": rep.mean["ssim_y"],
                     "input_psnr_y": rep.input_mean["psnr_y"]}
    removed = []
    for path in list_images(DATA / "real_rain"):
        rgb = read_rgb(path)
        got = rain_change(rgb, predict(rgb)).rain_removed
        if got is not None:
            removed.append(got)
    row["real_rain_removed"] = float(np.mean(removed))
    return row


def _cpu() -> str:
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True, check=True).stdout
        return next(line.split(":", 1)[1].strip() for line in out.splitlines() if line.startswith("Model name"))
    except Exception:  # noqa: BLE001 - informational only
        return platform.processor()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--start", type=Path, required=True,
                    help="thesis checkpoint to fine-tune; the recorded run started from the retired light model: "
                         "git show 80324e3:edgederain/weights/light/derain.pt > light.pt")
    ap.add_argument("--iterations", type=int, default=400)
    ap.add_argument("--out", type=Path, default=REPO / "runs" / "baselines")
    ap.add_argument("--json", type=Path, default=REPO / "benchmarks" / "results" / "rain_baselines.json")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--engines", nargs="*", default=list(ENGINES))
    args = ap.parse_args()
    import albumentations
    import kornia

    sets = write_sets(args.out)
    models = {f"{args.start.stem} (start)": args.start}
    for name in args.engines:
        models[f"fine-tuned on {name}"] = fine_tune(name, args.start, args.out, args.iterations, args.threads)
    results = {}
    for label, path in models.items():
        results[label] = score(path, sets, args.threads)
        print(label, json.dumps(results[label]))
    seconds = {n: float((args.out / f"train-{n}" / "seconds.txt").read_text()) for n in args.engines
               if (args.out / f"train-{n}" / "seconds.txt").is_file()}
    doc = {
        "command": "python benchmarks/rain_baselines.py --iterations %d" % args.iterations,
        "cpu": _cpu(), "iterations": args.iterations, "batch": 4, "crop": 96, "threads": args.threads,
        "versions": {"albumentations": albumentations.__version__, "kornia": kornia.__version__},
        "train_seconds": seconds, "results": results,
    }
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(doc, indent=2) + "\n")
    print(f"wrote {args.json}")


if __name__ == "__main__":
    main()
