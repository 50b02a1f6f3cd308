"""Interpolate two derain checkpoints of the same network: (1 - alpha) * A + alpha * B.

Every floating-point tensor of the state dict (BatchNorm statistics included) is interpolated;
integer buffers are taken from B. For networks fine-tuned from one another (the same lineage)
this moves along the line between them: how the model card measured what lies between the
packaged weights and the GPU burst's (Rain100L and heavy rain against real-rain removal).

    .venv/bin/python scripts/interpolate_weights.py A.pt B.pt ALPHA OUT.pt
    .venv/bin/python scripts/interpolate_weights.py edgederain/weights/derain.pt \\
        runs/burst-1/derain_best.pt 0.5 runs/rr/soup0.5.pt

If one network is the other with only a grown part (the veil head, wider MSPAM:
``edgederain/model/grow.py``), the smaller one is grown first, as ``edgederain train`` grows an
``init``; pass the seed of that run (``--grow-seed``) so the new weights start where the grown
run's did and the two lie on one line.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))


def interpolate(a: dict, b: dict, alpha: float) -> dict:
    if set(a) != set(b):
        raise SystemExit(f"the checkpoints hold different networks: {sorted(set(a) ^ set(b))[:5]}")
    out = {}
    for key, ta in a.items():
        tb = b[key]
        if ta.shape != tb.shape:
            raise SystemExit(f"{key}: shapes {tuple(ta.shape)} and {tuple(tb.shape)} differ")
        out[key] = ((1 - alpha) * ta + alpha * tb).to(ta.dtype) if ta.is_floating_point() else tb.clone()
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("a", type=Path)
    ap.add_argument("b", type=Path)
    ap.add_argument("alpha", type=float, help="0 gives A, 1 gives B")
    ap.add_argument("out", type=Path)
    ap.add_argument("--grow-seed", type=int, default=0,
                    help="seed of the run that grew the larger network (its training config's seed)")
    args = ap.parse_args(argv)
    from edgederain.model.grow import grow_network, growable
    from edgederain.train.checkpoint import load_derain_model, save_checkpoint

    model_a, _ = load_derain_model(args.a)
    model_b, data_b = load_derain_model(args.b)
    if model_a.config != model_b.config:
        if growable(model_a.config, model_b.config):
            model_a = grow_network(model_a, model_b.config, seed=args.grow_seed)
        elif growable(model_b.config, model_a.config):
            model_b = grow_network(model_b, model_a.config, seed=args.grow_seed)
        else:
            raise SystemExit(
                f"the checkpoints hold different networks ({model_a.config.to_dict()} and "
                f"{model_b.config.to_dict()}), and neither is the other with a grown part"
            )
    model_a.load_state_dict(interpolate(model_a.state_dict(), model_b.state_dict(), args.alpha))
    meta = {k: data_b[k] for k in ("stage", "step", "total", "train_config") if k in data_b}
    meta["interpolated"] = {"a": str(args.a), "b": str(args.b), "alpha": args.alpha}
    save_checkpoint(args.out, model_a, **meta)
    print(f"wrote {args.out}: (1 - {args.alpha}) x {args.a} + {args.alpha} x {args.b}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
