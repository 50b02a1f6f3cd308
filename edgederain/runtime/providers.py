"""Execution providers: typed options, the ONNX Runtime provider list they produce, and the check
that the requested providers really became active (numpy + onnxruntime only).

Providers are listed in the conventional priority order TensorRT, CUDA, OpenVINO, CPU; ONNX Runtime
gives each graph node to the first provider in the list that supports it. CPU is always available
behind the others for nodes they do not take.

Defaults, from what is known about this network:

- CUDA: heuristic cuDNN algorithm search (the exhaustive default re-tunes every new frame size).
- TensorRT: engine cache and timing cache on disk (engines are built lazily at the first run and
  take minutes), FP16/INT8 flags from the model contract's precision (an FP32 model is never run
  in FP16 behind the caller's back), optimisation profiles from the contract's min/fixed size.
- CPU: intra-op threads 0 (ONNX Runtime's default: one per physical core), one inter-op thread.
- OpenVINO: either the ``onnxruntime-ep-openvino`` plugin registered into the stock onnxruntime,
  or the OpenVINO provider built into the ``onnxruntime-openvino`` package. Precision and threads go
  through its ``load_config`` (its ``precision`` / ``num_of_threads`` options are ignored). The
  default precision is f32: bf16 is faster on CPUs with bf16 units but is a reduced-precision path
  that must be chosen knowingly.

Note:
    ``onnxruntime-gpu`` lists CUDA and TensorRT as *available* on machines without a GPU and then
    runs on CPU with only a log line. :func:`check_active` therefore decides from the providers the
    session reports after creation, and raises :class:`ProviderError` unless fallback is allowed.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import Any, Literal

from edgederain.choices import OPENVINO_PRECISIONS, PROVIDER_PRIORITY
from edgederain.choices import OpenVINOPrecision as OVPrecision
from edgederain.contract import IOContract
from edgederain.errors import ConfigError, ProviderError
from edgederain.runtime.checks import check_int, option


class _ProviderMembers(str, Enum):
    """An execution provider, by its short name (as on the command line)."""

    @property
    def ort_name(self) -> str:
        """The provider's name in ONNX Runtime."""
        return _ORT_NAMES[self]

    @property
    def is_gpu(self) -> bool:
        return self in (Provider.TENSORRT, Provider.CUDA)


# One member per provider of edgederain.choices (TENSORRT = "tensorrt", ...), in priority order.
Provider = _ProviderMembers(
    "Provider", [(name.upper(), name) for name in PROVIDER_PRIORITY], module=__name__, qualname="Provider"
)
Provider.__doc__ = _ProviderMembers.__doc__

_ORT_NAMES = {
    Provider.TENSORRT: "TensorrtExecutionProvider",
    Provider.CUDA: "CUDAExecutionProvider",
    Provider.OPENVINO: "OpenVINOExecutionProvider",
    Provider.CPU: "CPUExecutionProvider",
}
ORDER: tuple[Provider, ...] = (Provider.TENSORRT, Provider.CUDA, Provider.OPENVINO, Provider.CPU)
CHAINS: dict[Provider, tuple[Provider, ...]] = {
    Provider.TENSORRT: (Provider.TENSORRT, Provider.CUDA, Provider.CPU),
    Provider.CUDA: (Provider.CUDA, Provider.CPU),
    Provider.OPENVINO: (Provider.OPENVINO, Provider.CPU),
    Provider.CPU: (Provider.CPU,),
}


def _check_nonneg(name: str, value: int) -> None:
    check_int(name, value, minimum=0)


@dataclass(frozen=True)
class CPUOptions:
    """CPU provider: thread counts (0 = ONNX Runtime's default, one thread per physical core)."""

    intra_op_threads: int = 0
    inter_op_threads: int = 1
    use_arena: bool = True

    def __post_init__(self) -> None:
        _check_nonneg("intra_op_threads", self.intra_op_threads)
        _check_nonneg("inter_op_threads", self.inter_op_threads)

    def to_ort(self) -> dict[str, str]:
        return {"arena_extend_strategy": "kSameAsRequested"} if not self.use_arena else {}


CudnnSearch = Literal["HEURISTIC", "EXHAUSTIVE", "DEFAULT"]


@dataclass(frozen=True)
class CUDAOptions:
    """CUDA provider. ``HEURISTIC`` cuDNN search suits frame sizes that vary."""

    device_id: int = 0
    cudnn_conv_algo_search: CudnnSearch = "HEURISTIC"
    gpu_mem_limit_bytes: int | None = None
    cudnn_conv_use_max_workspace: bool = True

    def __post_init__(self) -> None:
        _check_nonneg("device_id", self.device_id)
        if self.cudnn_conv_algo_search not in ("HEURISTIC", "EXHAUSTIVE", "DEFAULT"):
            raise ConfigError(
                "cudnn_conv_algo_search must be HEURISTIC, EXHAUSTIVE or DEFAULT, "
                f"got {self.cudnn_conv_algo_search!r}"
            )

    def to_ort(self) -> dict[str, str]:
        opts = {
            "device_id": str(self.device_id),
            "cudnn_conv_algo_search": self.cudnn_conv_algo_search,
            "cudnn_conv_use_max_workspace": "1" if self.cudnn_conv_use_max_workspace else "0",
            "do_copy_in_default_stream": "1",
        }
        if self.gpu_mem_limit_bytes is not None:
            opts["gpu_mem_limit"] = str(self.gpu_mem_limit_bytes)
        return opts


def default_cache_dir(kind: str) -> Path:
    """``$XDG_CACHE_HOME/edgederain/<kind>`` (``~/.cache`` when unset)."""
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "edgederain" / kind


@dataclass(frozen=True)
class TensorRTOptions:
    """TensorRT provider. ``fp16`` / ``int8`` = None: follow the contract's precision."""

    device_id: int = 0
    fp16: bool | None = None
    int8: bool | None = None
    cache_dir: str | None = None
    opt_size: tuple[int, int] = (720, 1280)
    max_size: tuple[int, int] = (1088, 1920)
    max_batch: int = 1
    workspace_bytes: int | None = None
    builder_optimization_level: int = 3

    def __post_init__(self) -> None:
        _check_nonneg("device_id", self.device_id)
        for name in ("opt_size", "max_size"):
            size = tuple(getattr(self, name))
            if len(size) != 2 or any(not isinstance(v, int) or v < 1 for v in size):
                raise ConfigError(f"{name} must be (height, width) positive ints, got {size!r}")
            object.__setattr__(self, name, size)
        if any(o > m for o, m in zip(self.opt_size, self.max_size)):
            raise ConfigError(f"opt_size {self.opt_size} exceeds max_size {self.max_size}")
        if self.max_batch < 1:
            raise ConfigError(f"max_batch must be >= 1, got {self.max_batch}")
        if not 0 <= self.builder_optimization_level <= 5:
            raise ConfigError("builder_optimization_level must be in 0..5")

    def profile_shapes(self, contract: IOContract) -> tuple[str, str, str]:
        """TensorRT min/opt/max shape strings for the contract's input."""
        name = contract.input_name
        if contract.fixed_size is not None:
            h, w = contract.fixed_size
            lo = opt = hi = (h, w)
        else:
            m = contract.min_size
            lo, opt, hi = (m, m), self.opt_size, self.max_size
        nb = contract.fixed_batch
        b_lo, b_hi = (nb, nb) if nb else (1, self.max_batch)
        b_opt = b_lo
        return (
            f"{name}:{b_lo}x3x{lo[0]}x{lo[1]}",
            f"{name}:{b_opt}x3x{opt[0]}x{opt[1]}",
            f"{name}:{b_hi}x3x{hi[0]}x{hi[1]}",
        )

    def to_ort(self, contract: IOContract) -> dict[str, str]:
        cache = Path(self.cache_dir) if self.cache_dir else default_cache_dir("tensorrt")
        fp16 = contract.precision == "fp16" if self.fp16 is None else self.fp16
        int8 = contract.precision == "int8" if self.int8 is None else self.int8
        lo, opt, hi = self.profile_shapes(contract)
        opts = {
            "device_id": str(self.device_id),
            "trt_fp16_enable": "1" if fp16 else "0",
            "trt_int8_enable": "1" if int8 else "0",
            "trt_engine_cache_enable": "1",
            "trt_engine_cache_path": str(cache),
            "trt_timing_cache_enable": "1",
            "trt_timing_cache_path": str(cache),
            "trt_builder_optimization_level": str(self.builder_optimization_level),
            "trt_profile_min_shapes": lo,
            "trt_profile_opt_shapes": opt,
            "trt_profile_max_shapes": hi,
        }
        if self.workspace_bytes is not None:
            opts["trt_max_workspace_size"] = str(self.workspace_bytes)
        return opts


@dataclass(frozen=True)
class OpenVINOOptions:
    """OpenVINO provider. ``precision`` and ``num_threads`` go through its load_config."""

    device: Literal["CPU", "GPU", "NPU"] = "CPU"
    precision: OVPrecision = "f32"
    num_threads: int = 0
    cache_dir: str | None = None

    def __post_init__(self) -> None:
        if self.device not in ("CPU", "GPU", "NPU"):
            raise ConfigError(f"OpenVINO device must be CPU, GPU or NPU, got {self.device!r}")
        if self.precision not in OPENVINO_PRECISIONS:
            *others, last = OPENVINO_PRECISIONS
            raise ConfigError(
                f"OpenVINO {option('precision')} must be {', '.join(others)} or {last}, got {self.precision!r}"
            )
        _check_nonneg("num_threads", self.num_threads)

    def load_config(self) -> str:
        """The JSON ``load_config`` option: {device: {INFERENCE_PRECISION_HINT, ...}}."""
        props = {"INFERENCE_PRECISION_HINT": self.precision}
        if self.num_threads:
            props["INFERENCE_NUM_THREADS"] = str(self.num_threads)
        return json.dumps({self.device: props}, sort_keys=True)

    def to_ort(self) -> dict[str, str]:
        opts = {"device_type": self.device, "load_config": self.load_config()}
        if self.cache_dir:
            opts["cache_dir"] = self.cache_dir
        return opts


AUTO_PRECISIONS: tuple[str, ...] = ("fp32", "fp16", "bf16", "int8")


@dataclass(frozen=True)
class AutoPolicy:
    """``--provider auto``: choose provider and precision per machine (:mod:`edgederain.runtime.auto`),
    never one of the ``exclude``-d precisions (fp32, fp16, bf16, int8)."""

    exclude: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        exclude = (self.exclude,) if isinstance(self.exclude, str) else tuple(self.exclude)
        unknown = [p for p in exclude if p not in AUTO_PRECISIONS]
        if unknown:
            raise ConfigError(
                f"exclude_precisions (--exclude-precision) names unknown precision(s) {unknown}; "
                f"choose from {', '.join(AUTO_PRECISIONS)}"
            )
        if set(exclude) >= set(AUTO_PRECISIONS):
            raise ConfigError(f"exclude_precisions (--exclude-precision) excludes every precision; leave at least one")
        object.__setattr__(self, "exclude", tuple(dict.fromkeys(exclude)))


@dataclass(frozen=True)
class ProviderConfig:
    """Which providers to request, in priority order, with their options.

    ``allow_fallback=False`` (the default) makes a requested provider that is not available, or
    that did not become active, an error instead of a silent CPU run.
    """

    providers: tuple[Provider, ...] = (Provider.CPU,)
    allow_fallback: bool = False
    cpu: CPUOptions = field(default_factory=CPUOptions)
    cuda: CUDAOptions = field(default_factory=CUDAOptions)
    tensorrt: TensorRTOptions = field(default_factory=TensorRTOptions)
    openvino: OpenVINOOptions = field(default_factory=OpenVINOOptions)
    io_binding: bool | None = None
    auto: AutoPolicy | None = None

    def __post_init__(self) -> None:
        if self.auto is not None and not isinstance(self.auto, AutoPolicy):
            raise ConfigError("auto must be an AutoPolicy or None")
        names = tuple(parse_provider(p) for p in self.providers)
        if not names:
            raise ConfigError("providers is empty; request at least 'cpu'")
        if len(set(names)) != len(names):
            raise ConfigError(f"providers lists a provider twice: {[p.value for p in names]}")
        ranks = [ORDER.index(p) for p in names]
        if ranks != sorted(ranks):
            want = [p.value for p in sorted(names, key=ORDER.index)]
            raise ConfigError(
                f"providers must be in priority order (tensorrt, cuda, openvino, cpu); "
                f"write {want} instead of {[p.value for p in names]}"
            )
        object.__setattr__(self, "providers", names)

    @classmethod
    def for_provider(cls, name: Provider | str, **options: Any) -> "ProviderConfig":
        """The conventional chain for one provider: tensorrt -> (tensorrt, cuda, cpu), etc.;
        ``"auto"`` marks the config for :func:`edgederain.runtime.auto.auto_session` (the CPU
        entry is a placeholder until it is resolved)."""
        if name == AUTO:
            options.setdefault("auto", AutoPolicy())
            return cls(providers=(Provider.CPU,), **options)
        return cls(providers=CHAINS[parse_provider(name)], **options)

    @property
    def primary(self) -> Provider:
        return self.providers[0]

    @property
    def uses_io_binding(self) -> bool:
        """IO binding: on by default for GPU providers, where it avoids extra host copies."""
        return self.primary.is_gpu if self.io_binding is None else self.io_binding


AUTO = "auto"


def parse_provider(name: Provider | str) -> Provider:
    """``"cuda"`` / ``"CUDAExecutionProvider"`` / :class:`Provider` -> :class:`Provider`."""
    if isinstance(name, Provider):
        return name
    for p in Provider:
        if name in (p.value, p.ort_name):
            return p
    raise ConfigError(
        f"unknown execution provider {name!r} for {option('provider')}; "
        f"choose one of {[p.value for p in Provider] + [AUTO]}"
    )
