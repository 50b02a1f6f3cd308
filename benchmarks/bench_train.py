"""Training throughput: stage-2 iterations per second (forward, thesis loss, backward, clip, Adam).

Batch 4 of 96 x 96 crops by default, for each model preset and precision (FP32, and bf16 autocast
with channels_last). The frozen autoencoder's forward pass (the embedding target) is included, as
in real training. Writes JSON.

    python benchmarks/bench_train.py --out runs/bench_train.json [--presets thesis thesis-lstm]
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from pathlib import Path

import torch

from edgederain.model.autoencoder import RainAutoencoder, transfer_decoder
from edgederain.model.config import get_preset
from edgederain.model.net import DerainNet
from edgederain.train.losses import derain_loss
from edgederain.train.setup import Compute


def bench(preset: str, amp: str, *, batch: int, crop: int, iters: int, warmup: int) -> dict:
    torch.manual_seed(0)
    cfg = get_preset(preset)
    compute = Compute(torch.device("cpu"), bf16=amp == "bf16", channels_last=amp == "bf16")
    ae = compute.prepare(RainAutoencoder(cfg)).eval()
    net = DerainNet(cfg)
    transfer_decoder(ae, net)
    net = compute.prepare(net).train()
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    clean = torch.rand(batch, 3, crop, crop)
    rainy = (clean + (torch.rand_like(clean[:, :1]) > 0.9).float() * 0.3).clamp(0, 1)
    rainy, clean = compute.format(rainy), compute.format(clean)
    times = []
    for i in range(warmup + iters):
        t0 = time.perf_counter()
        with compute.autocast():
            out = net(rainy)
            with torch.no_grad():
                z = ae.encode(compute.format(2 * (rainy - clean)))
        loss, _ = derain_loss(out, rainy, clean, z)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(net.parameters(), 5.0)
        opt.step()
        if i >= warmup:
            times.append(time.perf_counter() - t0)
    times.sort()
    med = times[len(times) // 2]
    return {"preset": preset, "amp": amp, "channels_last": amp == "bf16", "batch": batch, "crop": crop,
            "iterations": iters, "s_per_it_median": med, "s_per_it_min": times[0], "it_per_s": 1 / med}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=Path("runs/bench_train.json"))
    ap.add_argument("--presets", nargs="*", default=["thesis", "thesis-lstm"])
    ap.add_argument("--amp", nargs="*", default=["off", "bf16"])
    ap.add_argument("--batch", type=int, default=4)
    ap.add_argument("--crop", type=int, default=96)
    ap.add_argument("--iters", type=int, default=10, help="timed iterations (lstm presets: a third)")
    ap.add_argument("--threads", type=int, default=0)
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    rows = []
    for preset in args.presets:
        n = max(2, args.iters // 3) if "lstm" in preset else args.iters
        for amp in args.amp:
            row = bench(preset, amp, batch=args.batch, crop=args.crop, iters=n, warmup=2)
            rows.append(row)
            print(f"{preset:12s} {amp:5s} {row['s_per_it_median']:.3f} s/it  {row['it_per_s']:.2f} it/s", flush=True)
    env = {"torch": torch.__version__, "threads": torch.get_num_threads(), "cpu": platform.processor() or platform.machine()}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"env": env, "results": rows}, indent=1))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
