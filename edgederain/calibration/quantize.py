"""Static INT8 quantization in QDQ format with ONNX Runtime's tooling.

Settings (:class:`QuantizeConfig`) and the defaults picked from measurement
(``benchmarks/int8_study.py``: thesis network, ``runs/short/derain_best.pt`` at step 2250, Rain100L
frames 1-12, 16 CamVid frames with synthetic rain for calibration; FP32 scores 30.76 dB):

- ``method``: ``percentile`` (default; 99.999th percentile of each activation's histogram),
  ``minmax`` or ``entropy``. Percentile came closest to the FP32 outputs (52.9 dB vs 51.3 dB for
  minmax; both within 0.05 dB of FP32 against ground truth). Entropy clipped too hard (31.7 dB vs
  FP32, -0.67 dB vs ground truth).
- ``scheme``: ``u8s8`` (uint8 asymmetric activations, int8 symmetric per-channel weights) is the
  CPU artifact: 0.43-0.45x FP32 latency at 480x320 on the CPU provider. ``s8s8`` (symmetric int8
  for both) is the TensorRT-style artifact: 48.2 dB vs FP32 and ~1.2-1.4x *slower* than FP32 on
  the CPU provider. They are different files.
- ``per_channel``: per-channel weight scales (default) were 0.2 dB closer to FP32 than per-tensor
  at the same latency.
- ``keep_float``: node groups left in float (:data:`edgederain.onnxgraph.nodes.KEEP_GROUPS`).
  RLCN is always kept (quantizing it cost 0.15 dB vs ground truth and 10 dB vs FP32 on a partly
  trained network, and 20-30 dB vs FP32 on an untrained prototype); ``io`` is kept by default,
  and so is ``veil`` (the veil head of ``thesis-veil``: a few nodes at 1/8 scale, under 0.1 % of
  the MACs, whose gain and offset multiply every output pixel).
  Keeping the sigmoids changed nothing; stem + head gained 1.2 dB vs FP32 and nothing vs ground
  truth; ``op_types=("Conv",)`` (quantize only convs) had the same latency, +0.9 dB vs FP32 and
  -0.06 dB vs ground truth.
- ``float_first_pool`` (default True): the encoder's first 2x2 max-pool stays float. Its input
  comes from the first residual block, whose skip path starts at the stem's float InstanceNorm,
  so ONNX Runtime keeps that tensor NCHW and ran the pool in uint8 on a slow generic kernel
  (74 of 1230 ms at 480x320 on 1 thread of the 2-core EPYC); in float (DequantizeLinear, MLAS
  max-pool, QuantizeLinear) it took 5 ms, the whole model 5 % less. The other two pools are
  fused into NHWC uint8 pools by ORT and stay quantized (floating all three added transposes
  and reorders).
- The calibration cache (ORT's JSON tensor ranges) is reused when the model, the calibration
  frames and the range settings are unchanged; a key file next to it records what it was made
  from, and a mismatch recalibrates instead of silently reusing stale ranges.
"""

from __future__ import annotations

import copy
import hashlib
import json
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import onnx

from edgederain.onnxgraph.nodes import first_encoder_pool, nodes_in_groups, op_counts
from edgederain.calibration.ranges import calibrate_to_cache
from edgederain.calibration.reader import CalibrationFrames
from edgederain.choices import CALIB_METHODS as METHODS
from edgederain.choices import INT8_SCHEMES as SCHEMES
from edgederain.choices import KEEP_GROUPS
from edgederain.choices import CalibMethod as Method
from edgederain.choices import Int8Scheme as Scheme
from edgederain.errors import CalibrationError


# The runtimes each scheme is the INT8 file for (measured: docs/speed.md). U8S8 is ONNX Runtime's
# CPU format and runs on OpenVINO's int8 kernels within 0.1 dB of FP32. S8S8 runs 2.3x slower
# than U8S8 on ORT's CPU provider. On OpenVINO 2026.4 it depends on the CPU: with AMX (AMX int8
# kernels) it ran 0.84x the time of U8S8 and 0.05 dB from FP32 on Rain100L; on an Ice Lake Xeon
# (AVX-512 VNNI, no AMX) 0.81x the time but 3.8-4.4 dB below FP32. So it is an OpenVINO file on
# AMX CPUs only ("openvino-amx"; OpenVINOSession warns elsewhere).
SCHEME_RUNTIMES: dict[str, tuple[str, ...]] = {
    "u8s8": ("onnxruntime-cpu", "openvino"),
    "s8s8": ("tensorrt", "openvino-amx"),
}


@dataclass(frozen=True)
class QuantizeConfig:
    """How to quantize; defaults are the measured best CPU settings."""

    method: Method = "percentile"
    scheme: Scheme = "u8s8"
    per_channel: bool = True
    keep_float: tuple[str, ...] = ("rlcn", "io", "veil")
    exclude_nodes: tuple[str, ...] = ()
    op_types: tuple[str, ...] | None = None
    float_first_pool: bool = True
    percentile: float = 99.999
    cache: Path | None = None
    progress: bool = True

    def __post_init__(self) -> None:
        object.__setattr__(self, "keep_float", tuple(self.keep_float))
        object.__setattr__(self, "exclude_nodes", tuple(self.exclude_nodes))
        if self.method not in METHODS:
            raise CalibrationError(f"calibration method must be one of {METHODS}, got {self.method!r}")
        if self.scheme not in SCHEMES:
            raise CalibrationError(f"INT8 scheme must be one of {SCHEMES}, got {self.scheme!r}")
        unknown = sorted(set(self.keep_float) - set(KEEP_GROUPS))
        if unknown:
            raise CalibrationError(f"unknown keep-float groups {unknown}; choose from {KEEP_GROUPS}")
        if "rlcn" not in self.keep_float:
            raise CalibrationError(
                "RLCN must stay in float (its variance cancels catastrophically in INT8); "
                "include 'rlcn' in keep_float"
            )
        if not 90.0 <= self.percentile < 100.0:
            raise CalibrationError(f"percentile must be in [90, 100), got {self.percentile}")
        if self.cache is not None:
            object.__setattr__(self, "cache", Path(self.cache))

    def range_settings(self) -> dict[str, Any]:
        """The settings that change the calibrated ranges (part of the cache key)."""
        return {"method": self.method, "percentile": self.percentile}


@dataclass(frozen=True)
class QuantizeResult:
    """An INT8 model and how it was made (``settings`` goes into the contract)."""

    model: onnx.ModelProto
    kept_float: tuple[str, ...]
    settings: dict[str, Any]
    cache_hit: bool
    seconds: float
    op_counts: dict[str, int] = field(default_factory=dict)


def _ort_options(config: QuantizeConfig) -> dict[str, Any]:
    from onnxruntime.quantization import CalibrationMethod, QuantType

    methods = {"minmax": CalibrationMethod.MinMax, "entropy": CalibrationMethod.Entropy,
               "percentile": CalibrationMethod.Percentile}
    symmetric = config.scheme == "s8s8"
    extra = {"WeightSymmetric": True, "ActivationSymmetric": symmetric}
    return dict(
        calibrate_method=methods[config.method],
        activation_type=QuantType.QInt8 if symmetric else QuantType.QUInt8,
        weight_type=QuantType.QInt8,
        per_channel=config.per_channel,
        extra_options=extra,
        op_types_to_quantize=list(config.op_types) if config.op_types else None,
    )


def _cache_key(model: onnx.ModelProto, frames: CalibrationFrames, config: QuantizeConfig) -> dict:
    graph = hashlib.sha256(model.graph.SerializeToString()).hexdigest()
    return {"graph_sha256": graph, "frames_sha256": frames.fingerprint(), **config.range_settings()}


def _cached_ranges(model, frames, config, prepared: Path, workdir: Path) -> tuple[Path, bool]:
    """Path of the ranges cache for this model/frames/settings, calibrating if needed."""
    cache = config.cache or workdir / "ranges.json"
    key_path = cache.with_name(cache.name + ".key.json")
    key = _cache_key(model, frames, config)
    if cache.is_file() and key_path.is_file() and json.loads(key_path.read_text()) == key:
        return cache, True
    cache.unlink(missing_ok=True)
    calibrate_to_cache(prepared, frames, cache, method=config.method, percentile=config.percentile,
                       workdir=workdir, progress=config.progress)
    key_path.write_text(json.dumps(key, indent=1))
    return cache, False


def _preprocess(model: onnx.ModelProto, folder: Path) -> Path:
    """ORT's quantization pre-processing: shape inference only (names and metadata kept)."""
    from onnxruntime.quantization.shape_inference import quant_pre_process

    raw, prepared = folder / "fp32.onnx", folder / "fp32_prepared.onnx"
    onnx.save_model(model, str(raw), save_as_external_data=False)
    # Symbolic shape inference fails on dynamic H/W ("Incomplete symbolic shape inference");
    # ORT graph optimisation would rename nodes and drop the module metadata used to keep RLCN.
    quant_pre_process(str(raw), str(prepared), skip_symbolic_shape=True, skip_optimization=True)
    return prepared


def quantize_model(
    model: onnx.ModelProto, frames: CalibrationFrames, *, config: QuantizeConfig = QuantizeConfig()
) -> QuantizeResult:
    """Calibrate on ``frames`` and return the QDQ INT8 model (I/O stays float32)."""
    from onnxruntime.quantization import QuantFormat, quantize_static

    from edgederain.onnxgraph.rewrite import global_average_pools

    model = copy.deepcopy(model)
    global_average_pools(model)  # exported graphs have it already; older FP32 files may not
    pool = first_encoder_pool(model) if config.float_first_pool else []
    kept = tuple(dict.fromkeys(nodes_in_groups(model, config.keep_float) + pool + list(config.exclude_nodes)))
    if not nodes_in_groups(model, ["rlcn"]):
        raise CalibrationError("no RLCN nodes found (graph lacks module info); quantize a model "
                               "written by edgederain export")
    start = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="edgederain-int8-") as tmp:
        prepared = _preprocess(model, Path(tmp))
        cache, hit = _cached_ranges(model, frames, config, prepared, Path(tmp))
        out = Path(tmp) / "int8.onnx"
        try:
            quantize_static(str(prepared), str(out), None, quant_format=QuantFormat.QDQ,
                            nodes_to_exclude=list(kept), calibration_cache_path=cache,
                            **_ort_options(config))
        except (ValueError, RuntimeError) as exc:
            raise CalibrationError(f"INT8 quantization failed: {exc}") from None
        quantized = onnx.load(str(out))
    settings = {
        **config.range_settings(), "scheme": config.scheme, "per_channel": config.per_channel,
        "runtimes": list(SCHEME_RUNTIMES[config.scheme]),
        "keep_float": list(config.keep_float), "excluded_nodes": len(kept),
        "float_first_pool": bool(pool),
        "op_types": list(config.op_types) if config.op_types else None,
        "frames": len(frames), "crop": frames.crop, "frames_sha256": frames.fingerprint(),
        "source": frames.source, "format": "QDQ", "upsample": upsample_form(model),
    }
    return QuantizeResult(quantized, kept, settings, hit, time.perf_counter() - start, op_counts(quantized))


def upsample_form(model: onnx.ModelProto) -> str:
    """``subpixel`` if the decoder's upsampling was traced as DepthToSpace, else ``resize``."""
    return "subpixel" if any(n.op_type == "DepthToSpace" for n in model.graph.node) else "resize"


def quantized_convs(model: onnx.ModelProto) -> tuple[int, int]:
    """(convs fed by DequantizeLinear on both input and weight, all convs)."""
    producer = {o: n.op_type for n in model.graph.node for o in n.output}
    convs = [n for n in model.graph.node if n.op_type == "Conv"]
    qdq = [c for c in convs if all(producer.get(i) == "DequantizeLinear" for i in c.input[:2])]
    return len(qdq), len(convs)
