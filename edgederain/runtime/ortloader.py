"""Importing ONNX Runtime lazily and building its SessionOptions from a SessionConfig."""

from __future__ import annotations

from typing import Any

from edgederain.errors import MissingDependencyError
from edgederain.runtime.config import SessionConfig


def import_onnxruntime() -> Any:
    """``import onnxruntime`` or raise :class:`MissingDependencyError` with the install command."""
    try:
        import onnxruntime
    except ModuleNotFoundError:
        raise MissingDependencyError(
            "the runtime needs ONNX Runtime: pip install 'edgederain[cpu]' "
            "(or 'edgederain[gpu]' for CUDA/TensorRT; never both)"
        ) from None
    return onnxruntime


def session_options(ort: Any, config: SessionConfig) -> Any:
    """SessionOptions: graph optimisation level, CPU thread counts and logging."""
    levels = {
        "all": ort.GraphOptimizationLevel.ORT_ENABLE_ALL,
        "extended": ort.GraphOptimizationLevel.ORT_ENABLE_EXTENDED,
        "basic": ort.GraphOptimizationLevel.ORT_ENABLE_BASIC,
        "disabled": ort.GraphOptimizationLevel.ORT_DISABLE_ALL,
    }
    opts = ort.SessionOptions()
    opts.graph_optimization_level = levels[config.graph_optimization]
    cpu = config.providers.cpu
    opts.intra_op_num_threads = cpu.intra_op_threads
    opts.inter_op_num_threads = cpu.inter_op_threads
    opts.enable_cpu_mem_arena = cpu.use_arena
    opts.log_severity_level = config.log_severity
    return opts
