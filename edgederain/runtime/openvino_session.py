"""OpenVINOSession: an exported model on OpenVINO's own runtime (the ``openvino`` package), with
:class:`~edgederain.runtime.DerainSession`'s frame interface (numpy + openvino; onnxruntime only
to read the contract).

Measured on the 2-core EPYC at 480x320, 2 threads (``docs/speed.md``): the packaged INT8 (QDQ)
file runs in 199 ms here against 430 ms on ORT's CPU provider, the FP32 file at bf16 in 300 ms,
and OpenVINO's benchmark_app on an AMX Xeon ran both at 62-63 ms against 76-92 ms through ONNX
Runtime's OpenVINO plugin. ``--provider auto`` tries it first on x86 CPUs where ``openvino`` is
installed.

Same contract checks, frame checks and output kinds as ``DerainSession`` (uint8 / float32 frames
or batches in, the same out). Precision and threads come from ``config.providers.openvino``
(``precision`` -> ``INFERENCE_PRECISION_HINT``, ``num_threads`` -> ``INFERENCE_NUM_THREADS``).

Note:
    Tiling is not implemented here: a config with ``tiling`` is refused, and a frame whose memory
    estimate exceeds the budget raises :class:`~edgederain.errors.FrameMemoryError` suggesting
    ``DerainSession`` with tiles (``--provider cpu --tile 512``).
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np

from edgederain.errors import ConfigError, FrameMemoryError, MissingDependencyError
from edgederain.runtime import memory
from edgederain.runtime.config import SessionConfig
from edgederain.runtime.modelfile import check_model_file
from edgederain.runtime.preprocess import from_model_output, frames_to_tensor, validate_frames

RUNTIME_NAME = "OpenVINORuntime"


def import_openvino() -> Any:
    """``import openvino`` or raise :class:`MissingDependencyError` with the install command."""
    try:
        import openvino
    except ModuleNotFoundError:
        raise MissingDependencyError(
            "OpenVINO's own runtime needs the openvino package: pip install openvino"
        ) from None
    return openvino


class OpenVINOSession:
    """An exported model compiled by OpenVINO for the CPU; see the module docstring."""

    def __init__(self, model_path: str | os.PathLike, config: SessionConfig | None = None) -> None:
        from edgederain.runtime.ortloader import import_onnxruntime
        from edgederain.runtime.session import _peek_contract

        self.config = config if config is not None else SessionConfig.for_provider("openvino")
        if self.config.tiling is not None:
            raise ConfigError("tiling is not available on OpenVINO's runtime session; use DerainSession "
                              "(--provider cpu or openvino) for tiled frames")
        self.model_path = check_model_file(model_path)
        self.contract = _peek_contract(import_onnxruntime(), self.model_path)
        ov = import_openvino()
        opts = self.config.providers.openvino
        props: dict[str, Any] = {"INFERENCE_PRECISION_HINT": opts.precision, "PERFORMANCE_HINT": "LATENCY",
                                 "NUM_STREAMS": 1}
        if opts.num_threads:
            props["INFERENCE_NUM_THREADS"] = opts.num_threads
        self._compiled = ov.Core().compile_model(str(self.model_path), opts.device, props)
        self._request = self._compiled.create_infer_request()
        self._output = self._compiled.output(0)
        self.active_providers = (f"{RUNTIME_NAME}:{opts.device}",)
        self.fallback_reasons: tuple[str, ...] = ()
        self.openvino_version = ov.__version__
        hint = self._compiled.get_property("INFERENCE_PRECISION_HINT")
        self.execution_precision = hint.to_string() if hasattr(hint, "to_string") else str(hint)
        self.memory_budget = memory.resolve_budget(self.config.memory_budget)

    @property
    def fell_back(self) -> bool:
        return False

    def tile_plan(self, height: int, width: int) -> None:
        """Frames always run whole here (see the module docstring)."""
        return None

    def run(self, frames: np.ndarray, *, progress: Any = None) -> np.ndarray:
        """Derain a frame or a batch; returns the same dtype, layout and batching as given."""
        kind = validate_frames(frames, min_size=self.contract.min_size)
        h, w = frames.shape[-3], frames.shape[-2]
        batch = frames.shape[0] if kind.batched else 1
        need = memory.estimate_bytes(h, w, batch=batch, precision=self.contract.precision,
                                     multiple=self.contract.size_multiple)
        if self.memory_budget is not None and need > self.memory_budget:
            raise FrameMemoryError(
                f"{batch} x {h}x{w} needs about {memory.human(need)}, above the memory budget of "
                f"{memory.human(self.memory_budget)}; OpenVINO's runtime session does not tile: use "
                "DerainSession with tiles (--provider cpu --tile 512)"
            )
        x = frames_to_tensor(frames, kind)
        y = np.asarray(self._request.infer({0: x})[self._output])
        return from_model_output(y, kind)

    __call__ = run

    @property
    def info(self) -> dict[str, Any]:
        return {"model_path": str(self.model_path), "precision": self.contract.precision,
                "active": list(self.active_providers), "openvino": self.openvino_version,
                "inference_precision": self.execution_precision,
                "threads": self.config.providers.openvino.num_threads}

    def __repr__(self) -> str:
        return (f"OpenVINOSession({str(self.model_path)!r}, precision={self.contract.precision!r}, "
                f"inference={self.execution_precision})")
