"""Where a model's remaining error lies: streak-scale detail or low-frequency veil and colour.

    .venv/bin/python benchmarks/residual_split.py --model edgederain/weights/derain_fp32.onnx \\
        --data runs/val/heavy runs/val/storm --out benchmarks/results/residual_split.json

For each paired folder (the fixed sets of ``scripts/make_val_sets.py``, or any paired folder),
on its first ``--count`` pairs, with E = output - clean (mean over RGB, 0-255 levels):

- ``mse_low`` / ``mse_high``: the mean square of E blurred by a Gaussian of ``--sigma`` px and of
  what is left (the split of the error between the veil / colour scale and the streak scale), for
  the output and for the rainy input;
- ``psnr_y``: the output's Y-PSNR; ``psnr_y_global_affine``: after the per-channel gain and
  offset that best map the output onto the clean image (least squares): what a per-image global
  colour / contrast correction could add at most; ``psnr_y_low_oracle``: after adding back E's
  low-frequency part exactly: what any smooth correction could add at most. Both use the clean
  image, so they are bounds, not results.

The split is what motivated the veil head (docs/model.md#the-veil-head): on the `heavy` set the
all-weather segment-4 network left 70 % of its squared error in the low band.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np


def _blur(e: np.ndarray, sigma: float) -> np.ndarray:
    """Separable Gaussian blur of a 2-D array, mirrored borders, radius 3 sigma."""
    r = max(1, int(round(3 * sigma)))
    k = np.exp(-0.5 * (np.arange(-r, r + 1) / sigma) ** 2)
    k /= k.sum()
    win = np.lib.stride_tricks.sliding_window_view
    rows = win(np.pad(e, ((0, 0), (r, r)), mode="symmetric"), 2 * r + 1, axis=1) @ k
    return win(np.pad(rows, ((r, r), (0, 0)), mode="symmetric"), 2 * r + 1, axis=0) @ k


def _affine(out: np.ndarray, clean: np.ndarray) -> np.ndarray:
    fitted = np.empty_like(out)
    for ch in range(3):
        a = np.stack([out[..., ch].ravel(), np.ones(out[..., ch].size)], 1)
        coef = np.linalg.lstsq(a, clean[..., ch].ravel(), rcond=None)[0]
        fitted[..., ch] = (a @ coef).reshape(out.shape[:2])
    return fitted


def split(predict, pairs, *, sigma: float) -> dict:
    from edgederain.data.pairs import load_pair
    from edgederain.metrics import image_metrics

    q = lambda x: np.clip(np.rint(x), 0, 255).astype(np.uint8)  # noqa: E731
    acc: dict[str, list[float]] = {}
    for pair in pairs:
        rainy, clean = load_pair(pair)
        out = predict(rainy).astype(np.float64)
        c = clean.astype(np.float64)
        row = {}
        for tag, x in (("", out), ("input_", rainy.astype(np.float64))):
            e = (x - c).mean(axis=2)
            low = _blur(e, sigma)
            row[f"{tag}mse_low"] = float((low ** 2).mean())
            row[f"{tag}mse_high"] = float(((e - low) ** 2).mean())
        low3 = np.stack([_blur(c[..., k] - out[..., k], sigma) for k in range(3)], -1)
        row["psnr_y"] = image_metrics(q(out), clean)["psnr_y"]
        row["psnr_y_global_affine"] = image_metrics(q(_affine(out, c)), clean)["psnr_y"]
        row["psnr_y_low_oracle"] = image_metrics(q(out + low3), clean)["psnr_y"]
        for k, v in row.items():
            acc.setdefault(k, []).append(v)
    mean = {k: float(np.mean(v)) for k, v in acc.items()}
    mean["low_share"] = mean["mse_low"] / (mean["mse_low"] + mean["mse_high"])
    return {"count": len(pairs), "mean": mean}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", action="append", required=True, help="LABEL=PATH or PATH (.pt / .onnx); repeatable")
    ap.add_argument("--data", nargs="+", default=["runs/val/heavy", "runs/val/storm", "runs/val/camera"])
    ap.add_argument("--count", type=int, default=10)
    ap.add_argument("--sigma", type=float, default=8.0)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--out", default="benchmarks/results/residual_split.json")
    args = ap.parse_args(argv)

    from edgederain.bench import machine_info
    from edgederain.data.pairs import find_pairs
    from edgederain.evaluate import make_predictor

    result = {"machine": machine_info(), "sigma": args.sigma, "models": {}}
    for spec in args.model:
        label, _, path = spec.rpartition("=")
        label = label or Path(path).stem
        predict, _ = make_predictor(path, threads=args.threads)
        sets = {}
        for folder in args.data:
            sets[Path(folder).name] = s = split(predict, find_pairs(folder)[: args.count], sigma=args.sigma)
            m = s["mean"]
            print(f"{label:>12} {Path(folder).name:>8}: Y {m['psnr_y']:.2f}, global affine {m['psnr_y_global_affine']:.2f}, "
                  f"low oracle {m['psnr_y_low_oracle']:.2f}; low share {m['low_share']:.2f} "
                  f"(input {m['input_mse_low'] / (m['input_mse_low'] + m['input_mse_high']):.2f})", flush=True)
        result["models"][label] = {"path": path, "sets": sets}
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(result, indent=2) + "\n")
    print("wrote", args.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
