"""Session configuration: providers, tiling, batching and ONNX Runtime settings (frozen, validated)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from edgederain.errors import ConfigError
from edgederain.runtime.providers import (
    CPUOptions,
    OpenVINOOptions,
    OVPrecision,
    Provider,
    ProviderConfig,
)
from edgederain.runtime.tiling import TileConfig

GraphOptimization = Literal["all", "extended", "basic", "disabled"]
GRAPH_OPTIMIZATIONS: tuple[str, ...] = ("all", "extended", "basic", "disabled")


@dataclass(frozen=True)
class SessionConfig:
    """Everything a :class:`~edgederain.runtime.session.DerainSession` needs besides the model.

    Attributes:
        providers: execution providers and their options (default: CPU only).
        tiling: tile frames larger than one window; None runs every frame whole.
        max_batch: split batches larger than this into several runs (None: one run per batch).
        graph_optimization: ONNX Runtime graph optimisation level.
        log_severity: ONNX Runtime log level (0 verbose .. 4 fatal); 3 shows errors only.
    """

    providers: ProviderConfig = field(default_factory=ProviderConfig)
    tiling: TileConfig | None = None
    max_batch: int | None = None
    graph_optimization: GraphOptimization = "all"
    log_severity: int = 3

    def __post_init__(self) -> None:
        if not isinstance(self.providers, ProviderConfig):
            raise ConfigError(
                "providers must be a ProviderConfig; build one with ProviderConfig.for_provider('cpu')"
            )
        if self.tiling is not None and not isinstance(self.tiling, TileConfig):
            raise ConfigError("tiling must be a TileConfig or None")
        if self.max_batch is not None and (not isinstance(self.max_batch, int) or self.max_batch < 1):
            raise ConfigError(f"max_batch must be an int >= 1 or None, got {self.max_batch!r}")
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
    ) -> "SessionConfig":
        """A config for one provider's conventional chain (e.g. tensorrt -> cuda -> cpu).

        ``threads`` sets the CPU provider's and OpenVINO's thread count (0: their default);
        ``tile`` enables tiling with that core size and ``tile_pad`` context pixels.
        """
        providers = ProviderConfig.for_provider(
            provider,
            allow_fallback=allow_fallback,
            cpu=CPUOptions(intra_op_threads=threads),
            openvino=OpenVINOOptions(precision=openvino_precision, num_threads=threads),
        )
        tiling = TileConfig(tile=tile, pad=tile_pad) if tile is not None else None
        return cls(providers=providers, tiling=tiling, max_batch=max_batch)
