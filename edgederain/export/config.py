"""Export settings (frozen, validated): precision, graph shape, exporter, gates, INT8 calibration."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from edgederain.calibration.quantize import QuantizeConfig
from edgederain.choices import (
    EXPORTERS, FP16_BACKENDS, PRECISIONS, UPSAMPLE_CHOICES, UPSAMPLES, Exporter, Fp16Backend, Precision,
    Upsample, UpsampleChoice,
)
from edgederain.errors import ExportError
from edgederain.export.gates import Gates

@dataclass(frozen=True)
class ExportConfig:
    """How to export a checkpoint.

    Attributes:
        precision: ``fp32``, ``fp16`` (GPU artifact; I/O stays float32) or ``int8`` (QDQ).
        opset: ONNX opset; 18 (see :mod:`edgederain.export.onnx_export` for why).
        exporter: ``dynamo`` (default) or ``torchscript`` (for opset < 18).
        static_size: fixed (H, W), or None for dynamic height/width.
        batch: fixed batch size, or None for a dynamic batch.
        simplify: run onnxsim, kept only when outputs stay equal.
        verify: run the precision's gate and refuse to write a model that fails it.
        fp16_backend: FP16 converter (``ort`` = onnxruntime.transformers.float16, measured best).
        upsample: how the decoder's nearest x2 + conv is traced (see
            :mod:`edgederain.export.onnx_export`): ``auto`` (``subpixel`` for FP32/FP16,
            ``resize`` for INT8), ``resize`` or ``subpixel``.
        verify_data: folder of frames (optionally rainy/ + clean/) added to the gate's inputs.
        verify_frames: how many of its frames to use.
        calib_data: folder of calibration frames (required for ``int8``).
        calib_frames / calib_crop / min_calib_frames: how many frames, centre-crop side, minimum.
        calib_rain: render this synthetic rain preset onto ``calib_data`` (clean frames) first.
        quantize: INT8 settings (method, scheme, nodes kept in float, cache).
        gates: gate thresholds.
    """

    precision: Precision = "fp32"
    opset: int = 18
    exporter: Exporter = "dynamo"
    static_size: tuple[int, int] | None = None
    batch: int | None = None
    simplify: bool = True
    verify: bool = True
    fp16_backend: Fp16Backend = "ort"
    upsample: UpsampleChoice = "auto"
    verify_data: Path | None = None
    verify_frames: int = 4
    calib_data: Path | None = None
    calib_frames: int = 32
    calib_crop: int | None = 256
    min_calib_frames: int = 8
    calib_rain: str | None = None
    quantize: QuantizeConfig = field(default_factory=QuantizeConfig)
    gates: Gates = field(default_factory=Gates)

    def __post_init__(self) -> None:
        if self.precision not in PRECISIONS:
            raise ExportError(f"precision must be one of {PRECISIONS}, got {self.precision!r}")
        if self.exporter not in EXPORTERS:
            raise ExportError(f"exporter must be 'dynamo' or 'torchscript', got {self.exporter!r}")
        if self.fp16_backend not in FP16_BACKENDS:
            raise ExportError(f"fp16_backend must be 'ort' or 'onnxconverter', got {self.fp16_backend!r}")
        if self.upsample not in UPSAMPLE_CHOICES:
            raise ExportError(f"upsample must be one of {UPSAMPLE_CHOICES}, got {self.upsample!r}")
        if not 13 <= self.opset <= 21:
            raise ExportError(f"opset must be between 13 and 21, got {self.opset}")
        if self.static_size is not None:
            h, w = self.static_size
            if h < 8 or w < 8:
                raise ExportError(f"static size must be at least 8x8, got {h}x{w}")
        if self.batch is not None and self.batch < 1:
            raise ExportError(f"batch must be >= 1, got {self.batch}")
        if self.precision == "int8" and self.calib_data is None:
            raise ExportError("INT8 export needs calibration frames: pass --calib-data DIR")
        if self.precision != "int8" and self.calib_data is not None:
            raise ExportError("--calib-data is only used for INT8; add --int8 or drop it")
        if self.verify_frames < 0 or self.calib_frames < 1:
            raise ExportError("verify_frames must be >= 0 and calib_frames >= 1")

    @property
    def upsample_graph(self) -> str:
        """The upsampling form traced: ``auto`` resolved for this precision."""
        if self.upsample != "auto":
            return self.upsample
        return "resize" if self.precision == "int8" else "subpixel"

    @property
    def input_shape(self) -> tuple[int | str, ...]:
        """The contract's input shape: names for dynamic dims."""
        h, w = self.static_size or ("height", "width")
        return (self.batch or "batch", 3, h, w)


def parse_size(text: str) -> tuple[int, int]:
    """``"320x480"`` -> (320, 480); raises :class:`ExportError` with the expected form."""
    try:
        h, w = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise ExportError(f"size must look like HEIGHTxWIDTH (e.g. 320x480), got {text!r}") from None
    return h, w


__all__ = ["PRECISIONS", "UPSAMPLES", "UPSAMPLE_CHOICES", "ExportConfig", "Exporter", "Fp16Backend",
           "Precision", "Upsample", "UpsampleChoice", "parse_size"]
