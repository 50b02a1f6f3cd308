"""Model configuration: frozen dataclasses and named presets.

A :class:`ModelConfig` fully describes a network: ``build_model(config)`` rebuilds it, and
checkpoints and exported ONNX contracts carry ``config.to_dict()`` so nothing else is needed
to reconstruct the architecture.

Presets
-------
``thesis``
    Single-pass ECNet + CAB + MSPAM (docs/model.md#the-derain-network). MSPAM widths k = 32 / 48 / 64 at the
    full, 1/2 and 1/4 scales, CA in all ten residual blocks: 2,877,840 parameters, 0.18 % below
    the thesis's 2.883M. The thesis does not give MSPAM's width; 48 at the 1/2 scale is the one
    natural knob that lands within 0.2 % (docs/model.md#parameter-count).
``thesis-k32``
    The same with ECNet's attention-gate widths k = 32 / 32 / 64 (2,824,704 parameters, -2.0 %).
``thesis-lstm``
    Layered-LSTM variant (ECNet+LL, docs/model.md#layered-lstm-variant): ConvLSTM in each encoder block,
    N = 6 iterations, states carried across iterations, previous rain residual fed back.
``lite``
    The edge variant: half the widths (16/32/64/128), MSPAM k = 12 / 16 / 32; 705,199 parameters
    and 11.5 GMAC at 480 x 320, 4.4x fewer than ``thesis`` (50.2 GMAC). Trained by distillation
    from the all-weather ``thesis`` model (``configs/lite.toml``, docs/speed.md#the-lite-variant).
``thesis-veil``
    ``thesis`` plus the veil head (``veil = True``): a smooth per-pixel gain and offset, predicted
    from the bottleneck, applied to I - R^ so that the network can undo rain accumulation (the
    veil O = a B + (1 - a) A of heavy rain) as a multiplicative correction instead of an additive
    rain layer (docs/model.md#the-veil-head). 8,422 parameters more; zero-initialised, so a
    ``thesis`` checkpoint starts a ``thesis-veil`` run with its own outputs.
``lite-veil``
    ``lite`` plus the veil head: 4,326 parameters and 0.010 GMAC more (709,525 and 11.49 GMAC),
    so still 4.4x fewer MACs than ``thesis``; a ``lite`` checkpoint starts a ``lite-veil`` run
    with its own outputs.
``tiny`` / ``tiny-lstm`` / ``tiny-veil``
    Narrow versions (widths 8/16/32/64) for tests and CI smoke runs; never for real results.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from edgederain.choices import VARIANTS, Variant
from edgederain.configkeys import check_known_keys
from edgederain.errors import ConfigError


@dataclass(frozen=True)
class ModelConfig:
    """Architecture of a :class:`~edgederain.model.net.DerainNet` (and its rain autoencoder).

    Attributes:
        variant: ``"single"`` (one pass, the thesis model) or ``"lstm"`` (layered ConvLSTM,
            ``iterations`` unrolled passes).
        widths: channels per encoder scale, finest first. ``len(widths) - 1`` max-pools, so
            input sides are padded to a multiple of ``2 ** (len(widths) - 1)``.
        mspam_widths: MSPAM internal width k per skip connection, finest first
            (one per skip, i.e. ``len(widths) - 1`` values).
        decoder_ca: channel attention in the decoder residual blocks too (encoder always has it).
        ca_reduction: channel-attention reduction ratio r (thesis: 16).
        rlcn_window: RLCN window side (thesis: 9).
        iterations: recurrent passes for the ``lstm`` variant (thesis: N = 6); must be 1 for
            ``single``.
        veil: add the veil head (``single`` only; not in the thesis): the output becomes
            B^ = (I - R^) * (1 + g) + b with g, b smooth 3-channel maps from the bottleneck.
    """

    variant: Variant = "single"
    widths: tuple[int, ...] = (32, 64, 128, 256)
    mspam_widths: tuple[int, ...] = (32, 48, 64)
    decoder_ca: bool = True
    ca_reduction: int = 16
    rlcn_window: int = 9
    iterations: int = 1
    veil: bool = False

    def __post_init__(self) -> None:
        # Accept lists (from JSON) but store tuples so the config stays hashable.
        object.__setattr__(self, "widths", tuple(int(w) for w in self.widths))
        object.__setattr__(self, "mspam_widths", tuple(int(k) for k in self.mspam_widths))
        if self.variant not in VARIANTS:
            raise ConfigError(f"variant must be one of {VARIANTS}, got {self.variant!r}")
        if len(self.widths) < 2 or any(w < 1 for w in self.widths):
            raise ConfigError(f"widths needs at least two positive entries, got {self.widths}")
        if len(self.mspam_widths) != len(self.widths) - 1 or any(k < 1 for k in self.mspam_widths):
            raise ConfigError(
                f"mspam_widths needs {len(self.widths) - 1} positive entries (one per skip), "
                f"got {self.mspam_widths}"
            )
        if self.ca_reduction < 1:
            raise ConfigError(f"ca_reduction must be >= 1, got {self.ca_reduction}")
        if self.rlcn_window < 3 or self.rlcn_window % 2 == 0:
            raise ConfigError(f"rlcn_window must be an odd number >= 3, got {self.rlcn_window}")
        if self.iterations < 1:
            raise ConfigError(f"iterations must be >= 1, got {self.iterations}")
        if self.variant == "single" and self.iterations != 1:
            raise ConfigError("iterations applies to the 'lstm' variant only; use 1 for 'single'")
        if self.veil and self.variant != "single":
            raise ConfigError("the veil head is built for the 'single' variant only")

    @property
    def size_multiple(self) -> int:
        """Input height and width are padded to a multiple of this (8 for four scales)."""
        return 2 ** (len(self.widths) - 1)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict; :meth:`from_dict` inverts it."""
        d = dataclasses.asdict(self)
        d["widths"] = list(self.widths)
        d["mspam_widths"] = list(self.mspam_widths)
        return d

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "ModelConfig":
        """Build from a dict; unknown keys are an error (a typo must not pass silently)."""
        check_known_keys(cls, data, what="model config")
        return cls(**data)


_THESIS = ModelConfig()
_LITE = ModelConfig(widths=(16, 32, 64, 128), mspam_widths=(12, 16, 32))
_TINY = ModelConfig(widths=(8, 16, 32, 64), mspam_widths=(8, 8, 16))

PRESETS: dict[str, ModelConfig] = {
    "thesis": _THESIS,
    "thesis-k32": dataclasses.replace(_THESIS, mspam_widths=(32, 32, 64)),
    "thesis-lstm": dataclasses.replace(_THESIS, variant="lstm", iterations=6),
    "thesis-veil": dataclasses.replace(_THESIS, veil=True),
    "lite": _LITE,
    "lite-veil": dataclasses.replace(_LITE, veil=True),
    "tiny": _TINY,
    "tiny-lstm": dataclasses.replace(_TINY, variant="lstm", iterations=3),
    "tiny-veil": dataclasses.replace(_TINY, veil=True),
}


def get_preset(name: str) -> ModelConfig:
    """Return the named preset, or raise :class:`ConfigError` listing the valid names."""
    try:
        return PRESETS[name]
    except KeyError:
        raise ConfigError(f"unknown model preset {name!r}; choose one of {sorted(PRESETS)}") from None


__all__ = ["ModelConfig", "PRESETS", "VARIANTS", "Variant", "get_preset"]
