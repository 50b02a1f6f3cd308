"""Session configuration: providers, tiling, batching and ONNX Runtime settings (frozen, validated)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from edgederain.choices import OPENVINO_PRECISIONS
from edgederain.errors import ConfigError
from edgederain.runtime.checks import check_choice, check_int
from edgederain.runtime.providers import (
    AUTO,
    AutoPolicy,
    CPUOptions,
    OpenVINOOptions,
    OVPrecision,
    Provider,
    ProviderConfig,
)
from edgederain.runtime.tiling import TileConfig

GraphOptimization = Literal["all", "extended", "basic", "disabled"]
GRAPH_OPTIMIZATIONS: tuple[str, ...] = ("all", "extended", "basic", "disabled")
LargeFrames = Literal["tile", "refuse"]
LARGE_FRAMES: tuple[str, ...] = ("tile", "refuse")


def _valid_budget(budget: object) -> bool:
    if budget is None or isinstance(budget, str):
        return budget is None or budget == "auto"
    return isinstance(budget, int) and not isinstance(budget, bool) and budget >= 1


@dataclass(frozen=True)
class SessionConfig:
    """Everything a :class:`~edgederain.runtime.session.DerainSession` needs besides the model.

    Attributes:
        providers: execution providers and their options (default: CPU only).
        tiling: tile frames larger than one window; None runs every frame whole.
        max_batch: split batches larger than this into several runs (None: one run per batch).
        graph_optimization: ONNX Runtime graph optimisation level.
        log_severity: ONNX Runtime log level (0 verbose .. 4 fatal); 3 shows errors only.
        memory_budget: bytes one model run may use, checked against an estimate made before the
            run (:mod:`edgederain.runtime.memory`); ``"auto"`` (default): half of the machine's
            physical memory; None: no check.
        large_frames: what happens to a frame whose estimate exceeds the budget when no tiling
            is set: ``"tile"`` (default) runs it in tiles that fit, with an
            :class:`~edgederain.errors.AutoTilingWarning`; ``"refuse"`` raises
            :class:`~edgederain.errors.FrameMemoryError` before running.
    """

    providers: ProviderConfig = field(default_factory=ProviderConfig)
    tiling: TileConfig | None = None
    max_batch: int | None = None
    graph_optimization: GraphOptimization = "all"
    log_severity: int = 3
    memory_budget: int | Literal["auto"] | None = "auto"
    large_frames: LargeFrames = "tile"

    @property
    def is_auto(self) -> bool:
        """True for an unresolved ``provider="auto"`` config (see :meth:`for_provider`)."""
        return self.providers.auto is not None

    def __post_init__(self) -> None:
        if not isinstance(self.providers, ProviderConfig):
            raise ConfigError(
                "providers must be a ProviderConfig; build one with ProviderConfig.for_provider('cpu')"
            )
        if self.tiling is not None and not isinstance(self.tiling, TileConfig):
            raise ConfigError("tiling must be a TileConfig or None")
        check_int("max_batch", self.max_batch, minimum=1, optional=True)
        if not _valid_budget(self.memory_budget):
            raise ConfigError(
                "memory_budget must be a number of bytes (an int >= 1), 'auto' or None, "
                f"got {self.memory_budget!r}"
            )
        check_choice("large_frames", self.large_frames, LARGE_FRAMES)
        if self.graph_optimization not in GRAPH_OPTIMIZATIONS:
            raise ConfigError(
                f"graph_optimization must be one of {GRAPH_OPTIMIZATIONS}, got {self.graph_optimization!r}"
            )
        if self.log_severity not in range(5):
            raise ConfigError(f"log_severity must be 0..4, got {self.log_severity!r}")

    @classmethod
    def for_provider(
        cls,
        provider: Provider | str = Provider.CPU,
        *,
        threads: int = 0,
        allow_fallback: bool = False,
        tile: int | None = None,
        tile_pad: int = 32,
        max_batch: int | None = None,
        openvino_precision: OVPrecision = "f32",
        memory_budget: int | Literal["auto"] | None = "auto",
        large_frames: LargeFrames = "tile",
        exclude_precisions: tuple[str, ...] = (),
    ) -> "SessionConfig":
        """A config for one provider's conventional chain (e.g. tensorrt -> cuda -> cpu).

        ``provider="auto"`` makes a config that :func:`edgederain.runtime.auto.auto_session`
        resolves per model and machine (fastest gated provider and precision, never one of
        ``exclude_precisions``: fp32, fp16, bf16, int8); ``exclude_precisions`` is refused for
        any other provider, where the precision is the model file's.

        ``threads`` sets the CPU provider's and OpenVINO's thread count (0: their default);
        ``tile`` enables tiling with that core size and ``tile_pad`` context pixels;
        ``memory_budget`` and ``large_frames`` are described in the class docstring.
        """
        check_int("threads", threads, minimum=0)
        check_int("tile", tile, minimum=8, optional=True)
        check_int("tile_pad", tile_pad, minimum=0)
        check_choice("openvino_precision", openvino_precision, OPENVINO_PRECISIONS)
        auto = provider == AUTO
        if exclude_precisions and not auto:
            raise ConfigError(
                "exclude_precisions (--exclude-precision) only applies to provider 'auto'; with "
                f"provider {getattr(provider, 'value', provider)!r} the precision is the model file's"
            )
        if auto and allow_fallback:
            raise ConfigError("allow_fallback (--allow-fallback) does not apply to provider 'auto', "
                              "which only picks providers that run")
        providers = ProviderConfig.for_provider(
            provider,
            allow_fallback=allow_fallback,
            cpu=CPUOptions(intra_op_threads=threads),
            openvino=OpenVINOOptions(precision=openvino_precision, num_threads=threads),
            **({"auto": AutoPolicy(tuple(exclude_precisions))} if auto else {}),
        )
        tiling = TileConfig(tile=tile, pad=tile_pad) if tile is not None else None
        return cls(
            providers=providers, tiling=tiling, max_batch=max_batch, memory_budget=memory_budget,
            large_frames=large_frames,
        )
