"""Every list of named choices, defined once (standard library only).

Each choice is one ``Literal`` type; its tuple of values is read from it with
:func:`typing.get_args`, so the two cannot disagree. The contract, the export and runtime
configuration, the packaged-model lookup and the command line (whose typer choices are built
from these tuples by :func:`edgederain.commands.common.choice_enum`) all import from here.
Nothing here imports torch, onnx, onnxruntime, numpy or typer.
"""

from __future__ import annotations

from typing import Literal, get_args

# Weights/compute precision of an exported model (its I/O is always float32).
Precision = Literal["fp32", "fp16", "int8"]
PRECISIONS: tuple[str, ...] = get_args(Precision)

# Export: the torch.onnx exporter, the FP16 converter, and how the decoder's x2 upsampling is traced
# (docs/export.md; ``auto`` picks ``subpixel`` for FP32/FP16 and ``resize`` for INT8).
Exporter = Literal["dynamo", "torchscript"]
EXPORTERS: tuple[str, ...] = get_args(Exporter)
Fp16Backend = Literal["ort", "onnxconverter"]
FP16_BACKENDS: tuple[str, ...] = get_args(Fp16Backend)
Upsample = Literal["resize", "subpixel"]
UPSAMPLES: tuple[str, ...] = get_args(Upsample)
UpsampleChoice = Literal["auto", Upsample]
UPSAMPLE_CHOICES: tuple[str, ...] = get_args(UpsampleChoice)

# INT8: range calibration method, quantization scheme (u8s8 for CPU, s8s8 for TensorRT), and the
# node groups that can be kept in float.
CalibMethod = Literal["minmax", "entropy", "percentile"]
CALIB_METHODS: tuple[str, ...] = get_args(CalibMethod)
Int8Scheme = Literal["u8s8", "s8s8"]
INT8_SCHEMES: tuple[str, ...] = get_args(Int8Scheme)
KeepGroup = Literal["rlcn", "io", "veil", "stem", "head", "sigmoid", "mspam", "channel_attention"]
KEEP_GROUPS: tuple[str, ...] = get_args(KeepGroup)

# Runtime: execution providers by short name (as on the command line), and OpenVINO's inference
# precision; the command line, which runs OpenVINO on its default CPU device, offers f32 and bf16.
ProviderName = Literal["cpu", "cuda", "tensorrt", "openvino"]
PROVIDERS: tuple[str, ...] = get_args(ProviderName)
# The same providers in ONNX Runtime's priority order (a graph node goes to the first listed provider
# that takes it); edgederain.runtime.providers.Provider lists its members in this order.
PROVIDER_PRIORITY: tuple[str, ...] = ("tensorrt", "cuda", "openvino", "cpu")
OpenVINOPrecision = Literal["f32", "bf16", "f16"]
OPENVINO_PRECISIONS: tuple[str, ...] = get_args(OpenVINOPrecision)
CLI_OPENVINO_PRECISIONS: tuple[str, ...] = OPENVINO_PRECISIONS[:2]

# Image reading: what to do with alpha channels and 16-bit images (convert, or refuse the file).
Policy = Literal["convert", "refuse"]
POLICIES: tuple[str, ...] = get_args(Policy)

# ``edgederain compare``: the difference panel, |input - output| x K or grey 128 + signed x K.
DiffMode = Literal["abs", "signed"]
DIFF_MODES: tuple[str, ...] = get_args(DiffMode)

# Paired datasets (edgederain.data.pairs) and the network variant (edgederain.model.config).
Layout = Literal["auto", "folders", "prenet", "side-by-side"]
LAYOUTS: tuple[str, ...] = get_args(Layout)
Side = Literal["left", "right"]
SIDES: tuple[str, ...] = get_args(Side)
Variant = Literal["single", "lstm"]
VARIANTS: tuple[str, ...] = get_args(Variant)

# Training (edgederain.train.config): which stages run, autocast, compute device.
Stage = Literal["both", "ae", "derain"]
STAGES: tuple[str, ...] = get_args(Stage)
Amp = Literal["off", "bf16"]
AMPS: tuple[str, ...] = get_args(Amp)
Device = Literal["auto", "cpu", "cuda"]
DEVICES: tuple[str, ...] = get_args(Device)
