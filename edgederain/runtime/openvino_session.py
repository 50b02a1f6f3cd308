"""OpenVINOSession: an exported model on OpenVINO's own runtime (the ``openvino`` package), with
:class:`~edgederain.runtime.DerainSession`'s frame interface (numpy + openvino; onnxruntime only
to read the contract).

Measured on the 2-core EPYC at 480x320, 2 threads (``docs/speed.md``): the packaged INT8 (QDQ)
file runs in 199 ms here against 430 ms on ORT's CPU provider, the FP32 file at bf16 in 300 ms,
and OpenVINO's benchmark_app on an AMX Xeon ran both at 62-63 ms against 76-92 ms through ONNX
Runtime's OpenVINO plugin. ``--provider auto`` tries it first on x86 CPUs where ``openvino`` is
installed.

Precision and threads come from ``config.providers.openvino`` (``precision`` ->
``INFERENCE_PRECISION_HINT``, ``num_threads`` -> ``INFERENCE_NUM_THREADS``).

Everything between the frames and the engine is ``DerainSession``'s own code, inherited rather
than copied: contract checks, frame checks and output kinds (uint8 / float32 frames or batches in,
the same out), batch splitting (``max_batch``, fixed-batch graphs), the memory budget, and tiling
(``SessionConfig.tiling`` / ``--tile``, automatic tiles for frames over the budget, fixed-size
models run through tiles; :mod:`edgederain.runtime.tiling`). Only the engine differs: the model is
compiled by ``openvino.Core`` and :meth:`OpenVINOSession._infer_raw` runs its infer request.
"""

from __future__ import annotations

import os
from time import perf_counter
from typing import Any

import numpy as np

from edgederain.errors import ConfigError, MissingDependencyError
from edgederain.runtime import memory
from edgederain.runtime.machine import warn_if_bf16_emulated, warn_if_s8s8_without_amx
from edgederain.runtime.config import SessionConfig
from edgederain.runtime.modelfile import check_model_file
from edgederain.runtime.session import DerainSession, _peek_contract

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


class OpenVINOSession(DerainSession):
    """An exported model compiled by OpenVINO for the CPU; see the module docstring."""

    def __init__(self, model_path: str | os.PathLike, config: SessionConfig | None = None) -> None:
        from edgederain.runtime.ortloader import import_onnxruntime

        self.config = config if config is not None else SessionConfig.for_provider("openvino")
        if not isinstance(self.config, SessionConfig):
            raise ConfigError(f"config must be a SessionConfig or None, got {type(self.config).__name__}")
        self.model_path = check_model_file(model_path)
        self.contract = _peek_contract(import_onnxruntime(), self.model_path)
        ov = import_openvino()
        opts = self.config.providers.openvino
        if opts.precision == "bf16" and opts.device.upper().startswith("CPU"):
            warn_if_bf16_emulated("OpenVINO precision 'bf16'", "OpenVINO emulates it, 3.4x slower than "
                                  "ONNX Runtime FP32 on a 2-core Ice Lake Xeon "
                                  "(benchmarks/results/pareto_xeon_avx512.json); use precision 'f32' "
                                  "or the INT8 file")
        warn_if_s8s8_without_amx(self.contract.calibration, opts.device)
        props: dict[str, Any] = {"INFERENCE_PRECISION_HINT": opts.precision, "PERFORMANCE_HINT": "LATENCY",
                                 "NUM_STREAMS": 1}
        if opts.num_threads:
            props["INFERENCE_NUM_THREADS"] = opts.num_threads
        start = perf_counter()
        self._compiled = ov.Core().compile_model(str(self.model_path), opts.device, props)
        self.creation_seconds = perf_counter() - start
        self._request = self._compiled.create_infer_request()
        self._output = self._compiled.output(0)
        self._binding = False
        self.active_providers = (f"{RUNTIME_NAME}:{opts.device}",)
        self.fallback_reasons: tuple[str, ...] = ()
        self.openvino_version = ov.__version__
        hint = self._compiled.get_property("INFERENCE_PRECISION_HINT")
        self.execution_precision = hint.to_string() if hasattr(hint, "to_string") else str(hint)
        self.memory_budget = memory.resolve_budget(self.config.memory_budget)

    @property
    def requested_providers(self) -> tuple[str, ...]:
        return ("openvino",)

    def _infer_raw(self, x: np.ndarray) -> np.ndarray:
        """One compiled-model call on a float32 N x 3 x H x W tensor (checked by ``_infer``)."""
        return np.asarray(self._request.infer({0: x})[self._output])

    @property
    def info(self) -> dict[str, Any]:
        tiling = self.config.tiling
        return {"model_path": str(self.model_path), "precision": self.contract.precision,
                "active": list(self.active_providers), "openvino": self.openvino_version,
                "inference_precision": self.execution_precision,
                "threads": self.config.providers.openvino.num_threads,
                "tiling": None if tiling is None else {"tile": tiling.tile, "pad": tiling.pad,
                                                       "batch": tiling.batch},
                "memory_budget": self.memory_budget}

    def __repr__(self) -> str:
        return (f"OpenVINOSession({str(self.model_path)!r}, precision={self.contract.precision!r}, "
                f"inference={self.execution_precision})")
