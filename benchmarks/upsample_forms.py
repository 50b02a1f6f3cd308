"""The decoder's nearest x2 + 3x3 conv in the INT8 graph against the same function as one ConvTranspose.

    .venv/bin/python benchmarks/upsample_forms.py --threads 2 --rounds 15 \
        --out benchmarks/results/upsample_forms_<cpu>.json

Nearest x2 then a 3x3 conv equals a ConvTranspose with kernel 4, stride 2, padding 1 whose taps
are the four 2x2 phase kernels of :class:`edgederain.model.blocks.SubpixelUp`. In an INT8 graph that
would drop the uint8 Resize, which ONNX Runtime runs on one thread (docs/speed.md), for one
convolution with 4/9 of the MACs. Each of the three decoder levels of ``thesis`` at 480x320 is
exported both ways (random weights, ReLU after), quantized with ORT's QDQ quantizer (U8S8,
per-channel, 4 random calibration frames) and timed interleaved in FP32 and INT8.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np

FOLD = ((1.0, 0.0, 0.0), (0.0, 1.0, 1.0)), ((1.0, 1.0, 0.0), (0.0, 0.0, 1.0))
LEVELS = ((256, 128, 40, 60), (128, 64, 80, 120), (64, 32, 160, 240))


def modules():
    """(Up, ConvTransposeUp) classes; torch is imported here, not at module import."""
    import torch
    import torch.nn.functional as F
    from torch import nn

    class Up(nn.Module):
        def __init__(self, cin: int, cout: int) -> None:
            super().__init__()
            self.conv = nn.Conv2d(cin, cout, 3, padding=1)

        def forward(self, x):
            return torch.relu(self.conv(F.interpolate(x, scale_factor=2, mode="nearest")))

    class ConvTransposeUp(nn.Module):
        """The same function as ``Up``: output phase (a, c) of row 2m + a reads input row m - 1 + a + r
        through kernel row 3 - a - 2r (padding 1), r in {0, 1}; columns likewise."""

        def __init__(self, up: Up) -> None:
            super().__init__()
            w = up.conv.weight.detach()
            cout, cin = w.shape[:2]
            fold = torch.tensor(FOLD, dtype=w.dtype)
            k = torch.zeros(cin, cout, 4, 4, dtype=w.dtype)
            for a in (0, 1):
                for c in (0, 1):
                    phase = torch.einsum("ry,cx,oiyx->oirc", fold[a], fold[c], w)
                    for r in (0, 1):
                        for q in (0, 1):
                            k[:, :, 3 - a - 2 * r, 3 - c - 2 * q] = phase[:, :, r, q].T
            self.ct = nn.ConvTranspose2d(cin, cout, 4, stride=2, padding=1)
            with torch.no_grad():
                self.ct.weight.copy_(k)
                self.ct.bias.copy_(up.conv.bias.detach())

        def forward(self, x):
            return torch.relu(self.ct(x))

    return Up, ConvTransposeUp


def _quantize(f32: Path, i8: Path, shape: tuple[int, ...]) -> None:
    from onnxruntime.quantization import CalibrationDataReader, QuantFormat, QuantType, quantize_static

    class Reader(CalibrationDataReader):
        def __init__(self) -> None:
            self.frames = iter([{"x": np.random.default_rng(i).random(shape, dtype=np.float32)} for i in range(4)])

        def get_next(self):
            return next(self.frames, None)

    quantize_static(str(f32), str(i8), Reader(), quant_format=QuantFormat.QDQ, per_channel=True,
                    activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8)


def measure_level(cin: int, cout: int, h: int, w: int, *, threads: int, rounds: int, tmp: Path) -> dict:
    import onnx
    import onnxruntime as ort
    import torch

    Up, ConvTransposeUp = modules()
    torch.manual_seed(0)
    up = Up(cin, cout).eval()
    ct = ConvTransposeUp(up).eval()
    x = torch.rand(1, cin, h, w)
    with torch.no_grad():
        torch_diff = float((up(x) - ct(x)).abs().max())
    sessions, ops = {}, {}
    for name, module in (("resize_conv", up), ("conv_transpose", ct)):
        f32, i8 = tmp / f"{name}_{cin}.onnx", tmp / f"{name}_{cin}_int8.onnx"
        torch.onnx.export(module, (x,), str(f32), input_names=["x"], output_names=["y"], opset_version=18,
                          dynamo=False)
        _quantize(f32, i8, tuple(x.shape))
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = threads
        for prec, f in (("fp32", f32), ("int8", i8)):
            sessions[f"{name}_{prec}"] = ort.InferenceSession(str(f), opts, providers=["CPUExecutionProvider"])
            ops[f"{name}_{prec}"] = sorted({n.op_type for n in onnx.load(str(f)).graph.node})
    xs = x.numpy()
    times: dict[str, list[float]] = {k: [] for k in sessions}
    for s in sessions.values():
        s.run(None, {"x": xs})
    for _ in range(rounds):
        for k, s in sessions.items():
            t0 = time.perf_counter()
            s.run(None, {"x": xs})
            times[k].append((time.perf_counter() - t0) * 1e3)
    int8_diff = float(np.abs(sessions["resize_conv_int8"].run(None, {"x": xs})[0]
                             - sessions["conv_transpose_int8"].run(None, {"x": xs})[0]).max())
    return {"shape": [cin, cout, h, w], "torch_max_abs_diff": torch_diff, "int8_max_abs_diff": int8_diff,
            "median_ms": {k: round(statistics.median(v), 3) for k, v in times.items()}, "ops": ops}


def main(argv: list[str] | None = None) -> int:
    from edgederain.bench import machine_info, versions, write_record

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--rounds", type=int, default=15)
    ap.add_argument("--scale", type=int, default=1, help="divide every level's size by this (tests)")
    ap.add_argument("--out", type=Path)
    args = ap.parse_args(argv)
    levels = [(ci, co, h // args.scale, w // args.scale) for ci, co, h, w in LEVELS]
    with tempfile.TemporaryDirectory() as tmp:
        rows = [measure_level(*lv, threads=args.threads, rounds=args.rounds, tmp=Path(tmp)) for lv in levels]
    for r in rows:
        print(r["shape"], r["median_ms"])
    write_record(args.out, {"benchmark": "upsample_forms", "threads": args.threads, "rounds": args.rounds,
                            "machine": machine_info(), "versions": versions(), "levels": rows})
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
