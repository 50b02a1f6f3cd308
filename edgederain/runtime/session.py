"""DerainSession: an exported deraining model on ONNX Runtime, frames in, frames out.

>>> s = DerainSession("derain.onnx")                     # doctest: +SKIP
>>> clean = s.run(frame)                                  # uint8 H x W x 3 RGB in and out

The session reads the model's contract (and refuses a model without one), checks that the graph's
input and output match it, places the model on the requested execution providers and checks that
they are really active (see :mod:`edgederain.runtime.placement`). Frames may be uint8 H x W x 3
RGB, float32 in [0, 1], or N x H x W x 3 batches of either; the output has the input's kind.
Padding to the contract's size multiple happens inside the exported graph; frames larger than one
tile are tiled when :attr:`SessionConfig.tiling` is set; models exported with a fixed size run
other sizes only through tiling.

Before a run, the memory it needs is estimated (:mod:`edgederain.runtime.memory`) and compared
with :attr:`SessionConfig.memory_budget`: batches are split to fit, a frame too large to run
whole is tiled with an :class:`~edgederain.errors.AutoTilingWarning` (or refused, with
``large_frames="refuse"``), and an out-of-memory error from ONNX Runtime is re-raised as
:class:`~edgederain.errors.FrameMemoryError` suggesting tiling. A requested provider that is not
running (``allow_fallback=True``) is reported by :attr:`DerainSession.fell_back`,
:attr:`DerainSession.fallback_reasons` and a :class:`~edgederain.errors.ProviderFallbackWarning`.
"""

from __future__ import annotations

import os
import warnings
from dataclasses import dataclass
from pathlib import Path
from time import perf_counter
from typing import Any

import numpy as np

from edgederain.contract import IOContract
from edgederain.errors import (
    AutoTilingWarning,
    ConfigError,
    ContractError,
    FrameMemoryError,
    InputError,
    ProviderError,
    ProviderFallbackWarning,
)
from edgederain.runtime import memory
from edgederain.runtime.config import SessionConfig
from edgederain.runtime.modelfile import check_model_file, load_error
from edgederain.runtime.ortloader import import_onnxruntime, session_options
from edgederain.runtime.placement import (
    PROVIDER_HINTS,
    Placement,
    check_active,
    plan_placement,
    session_providers,
)
from edgederain.runtime.preprocess import from_model_output, frames_to_tensor, validate_frames
from edgederain.runtime.providers import Provider
from edgederain.runtime.tiling import Progress, TilePlan, plan_tiles, run_tiled


@dataclass(frozen=True)
class SessionInfo:
    """What a session is running on (for logs and benchmark records)."""

    model_path: str
    precision: str
    input_shape: tuple[int | str, ...]
    requested: tuple[str, ...]
    active: tuple[str, ...]
    fallback_reasons: tuple[str, ...]
    provider_options: dict[str, dict[str, str]]
    io_binding: bool
    creation_seconds: float
    onnxruntime_version: str
    fell_back: bool = False
    memory_budget: int | None = None


def _read_contract(meta: dict[str, str], path: Path) -> IOContract:
    """The model's contract; every error about it names the model file."""
    try:
        return IOContract.from_metadata(meta, source=str(path))
    except ContractError as exc:
        if str(path) in str(exc):
            raise
        raise ContractError(f"{path}: {exc}") from None


def _peek_contract(ort: Any, path: Path) -> IOContract:
    """Read the contract before the real session exists (TensorRT needs it for its profiles)."""
    opts = ort.SessionOptions()
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    opts.log_severity_level = 3
    try:
        sess = ort.InferenceSession(str(path), sess_options=opts, providers=["CPUExecutionProvider"])
    except Exception as exc:  # noqa: BLE001 - ORT raises several unrelated types for a bad file
        raise load_error(path, exc) from None
    return _read_contract(sess.get_modelmeta().custom_metadata_map, path)


def _check_io(sess: Any, contract: IOContract, path: Path) -> None:
    inputs = {i.name: i for i in sess.get_inputs()}
    outputs = {o.name for o in sess.get_outputs()}
    if contract.input_name not in inputs or contract.output_name not in outputs:
        raise ContractError(
            f"{path}: contract names input {contract.input_name!r} / output {contract.output_name!r} "
            f"but the graph has inputs {sorted(inputs)} and outputs {sorted(outputs)}; re-export it"
        )
    if len(inputs[contract.input_name].shape) != 4:
        raise ContractError(f"{path}: graph input is not 4-D N x 3 x H x W; re-export the model")


class DerainSession:
    """An exported model on ONNX Runtime; see the module docstring."""

    def __init__(self, model_path: str | os.PathLike, config: SessionConfig | None = None) -> None:
        self.config = config if config is not None else SessionConfig()
        if not isinstance(self.config, SessionConfig):
            raise ConfigError(f"config must be a SessionConfig or None, got {type(self.config).__name__}")
        self.model_path = check_model_file(model_path)
        self._ort = import_onnxruntime()
        pc = self.config.providers
        start = perf_counter()
        peeked = _peek_contract(self._ort, self.model_path) if Provider.TENSORRT in pc.providers else None
        self._session, placement = self._create(peeked)
        self.creation_seconds = perf_counter() - start
        meta = self._session.get_modelmeta().custom_metadata_map
        self.contract = _read_contract(meta, self.model_path)
        _check_io(self._session, self.contract, self.model_path)
        self.active_providers = tuple(self._session.get_providers())
        reasons = check_active(list(self.active_providers), placement, pc)
        self.fallback_reasons = tuple(r for _, r in placement.dropped) + reasons
        self._placement = placement
        self._binding = pc.uses_io_binding
        self._device = "cuda" if pc.primary.is_gpu and not reasons else "cpu"
        self.memory_budget = memory.resolve_budget(self.config.memory_budget)
        if self.fell_back:
            warnings.warn(ProviderFallbackWarning(self._fallback_note()), stacklevel=2)

    @property
    def requested_providers(self) -> tuple[str, ...]:
        """The providers asked for, by short name (``("cuda", "cpu")``)."""
        return tuple(p.value for p in self.config.providers.providers)

    @property
    def fell_back(self) -> bool:
        """True when a requested provider is not running (dropped or silently replaced by ORT)."""
        return bool(self.fallback_reasons)

    def _fallback_note(self) -> str:
        return (
            f"requested providers {list(self.requested_providers)} but the session runs on "
            f"{list(self.active_providers)} (allow_fallback=True): " + "; ".join(self.fallback_reasons)
        )

    def _create(self, contract: IOContract | None) -> tuple[Any, Placement]:
        ort, cfg = self._ort, self.config
        opts = session_options(ort, cfg)
        placement = plan_placement(ort, cfg.providers, contract or IOContract(), opts)
        try:
            sess = ort.InferenceSession(
                str(self.model_path), sess_options=opts, providers=session_providers(placement),
                enable_fallback=0,
            )
        except Exception as exc:  # noqa: BLE001 - ORT raises several unrelated types here
            return self._after_failure(exc, placement)
        return sess, placement

    def _after_failure(self, exc: Exception, placement: Placement) -> tuple[Any, Placement]:
        """A session that failed to build: a bad model, or a provider that could not start."""
        if placement.requested == (Provider.CPU,):
            raise load_error(self.model_path, exc) from None
        cpu_opts = session_options(self._ort, self.config)
        try:
            sess = self._ort.InferenceSession(
                str(self.model_path), sess_options=cpu_opts, providers=["CPUExecutionProvider"]
            )
        except Exception as cpu_exc:  # noqa: BLE001
            raise load_error(self.model_path, cpu_exc) from None
        if not self.config.providers.allow_fallback:
            first = placement.requested[0]
            raise ProviderError(
                f"execution provider {first.value!r} failed to start ({exc}); "
                f"{PROVIDER_HINTS[first]}, or pass allow_fallback=True (--allow-fallback)"
            ) from None
        dropped = tuple((p, f"failed to start: {exc}") for p in placement.requested if p is not Provider.CPU)
        cpu_only = Placement((("CPUExecutionProvider", {}),), (Provider.CPU,), placement.dropped + dropped)
        return sess, cpu_only

    # --- information ----------------------------------------------------------------------
    @property
    def info(self) -> SessionInfo:
        return SessionInfo(
            model_path=str(self.model_path),
            precision=self.contract.precision,
            input_shape=self.contract.input_shape,
            requested=tuple(p.value for p in self.config.providers.providers),
            active=self.active_providers,
            fallback_reasons=self.fallback_reasons,
            provider_options=self._placement.options_for_report(),
            io_binding=self._binding,
            creation_seconds=self.creation_seconds,
            onnxruntime_version=self._ort.__version__,
            fell_back=self.fell_back,
            memory_budget=self.memory_budget,
        )

    def __repr__(self) -> str:
        return (
            f"DerainSession({str(self.model_path)!r}, precision={self.contract.precision!r}, "
            f"providers={list(self.active_providers)})"
        )

    # --- running --------------------------------------------------------------------------
    def run(self, frames: np.ndarray, *, progress: Progress | None = None) -> np.ndarray:
        """Derain a frame or a batch; returns the same dtype, layout and batching as given.

        ``progress(done, total)``, when given, is called after each tile of a tiled run with the
        tiles finished and the tiles in this call (all frames of a batch); untiled runs do not
        call it. An exception it raises stops the run.
        """
        kind = validate_frames(frames, min_size=self.contract.min_size)
        h, w = frames.shape[-3], frames.shape[-2]
        plan, note = self._plan(h, w)
        if plan is None:
            x = frames_to_tensor(frames, kind)
            return from_model_output(self._run_batched(x, self._frames_per_run(h, w)), kind)
        if note:
            warnings.warn(AutoTilingWarning(note), stacklevel=2)
        batch = frames if kind.batched else frames[None]
        tile_batch = self.config.tiling.batch if self.config.tiling else 1
        total = plan.count * len(batch)
        outs = [
            run_tiled(f, self._run_batched, plan, batch=tile_batch, progress=progress,
                      offset=i * plan.count, total=total)
            for i, f in enumerate(batch)
        ]
        return np.stack(outs) if kind.batched else outs[0]

    __call__ = run

    def tile_plan(self, height: int, width: int) -> TilePlan | None:
        """How a height x width frame will be tiled (configured or automatic), or None when it
        runs whole. ``plan.count`` is the number of tiles ``progress`` will count to."""
        return self._plan(height, width)[0]

    def memory_estimate(self, height: int, width: int, *, batch: int = 1) -> int:
        """Estimated bytes for running ``batch`` frames of height x width whole in one run."""
        c = self.contract
        return memory.estimate_bytes(height, width, batch=batch, precision=c.precision,
                                     multiple=c.size_multiple)

    def _plan(self, height: int, width: int) -> tuple[TilePlan | None, str | None]:
        """The tiling for a frame size, and a note when it was chosen automatically."""
        fixed, tiling = self.contract.fixed_size, self.config.tiling
        multiple = self.contract.size_multiple
        if fixed is not None and (height, width) == fixed:
            return None, None
        if fixed is not None and tiling is None:
            raise InputError(
                f"this model accepts only {fixed[0]}x{fixed[1]} frames, got {height}x{width}; "
                "enable tiling (SessionConfig(tiling=TileConfig()) or --tile) or resize the frames"
            )
        if tiling is None:
            return self._auto_plan(height, width)
        if fixed is not None:
            return plan_tiles(height, width, tiling, multiple=multiple, fixed=fixed), None
        window = tiling.window(multiple)
        if height <= window and width <= window:
            self._check_tile_fits(height, width, 1)
            return None, None
        plan = plan_tiles(height, width, tiling, multiple=multiple)
        self._check_tile_fits(plan.win_h, plan.win_w, tiling.batch)
        return plan, None

    def _over_budget(self, height: int, width: int, batch: int = 1) -> int | None:
        """The estimate when it exceeds the budget, else None."""
        need = self.memory_estimate(height, width, batch=batch)
        return need if self.memory_budget is not None and need > self.memory_budget else None

    def _check_tile_fits(self, height: int, width: int, batch: int) -> None:
        need = self._over_budget(height, width, batch)
        if need is not None:
            raise FrameMemoryError(
                f"tiles of {height}x{width} (x{batch}) need about {memory.human(need)}, above the "
                f"memory budget of {memory.human(self.memory_budget)} (memory_budget=); lower "
                "tile (--tile), or raise memory_budget"
            )

    def _auto_plan(self, height: int, width: int) -> tuple[TilePlan | None, str | None]:
        """Untiled config: run whole if the frame fits the budget, else tile it or refuse."""
        need = self._over_budget(height, width)
        if need is None:
            return None, None
        budget, c = self.memory_budget, self.contract
        whole = (
            f"a {height}x{width} frame needs about {memory.human(need)} to run whole, above the "
            f"memory budget of {memory.human(budget)} (memory_budget=)"
        )
        tile = memory.fitting_tile(budget, precision=c.precision, multiple=c.size_multiple)
        if self.config.large_frames == "refuse" or tile is None:
            fix = (
                f"run it in tiles with tile={tile.tile} (--tile {tile.tile})" if tile
                else "raise memory_budget: it does not fit even tiles of 64 pixels"
            )
            raise FrameMemoryError(f"{whole}; {fix}, or resize the frame")
        plan = plan_tiles(height, width, tile, multiple=c.size_multiple)
        return plan, (
            f"{whole}: running it in {plan.count} tiles of {tile.tile} pixels (pass tile= / --tile "
            "to choose the tiling, large_frames='refuse' to refuse such frames, "
            "memory_budget=None to run them whole)"
        )

    def _frames_per_run(self, height: int, width: int) -> int | None:
        """How many frames of this size one run may take within the budget (None: no limit)."""
        if self.memory_budget is None:
            return None
        per_frame = self.memory_estimate(height, width) - memory.FIXED_BYTES
        return max(1, (self.memory_budget - memory.FIXED_BYTES) // max(per_frame, 1))

    def run_tensor(self, x: np.ndarray) -> np.ndarray:
        """Low level: float32 N x 3 x H x W in [0, 1] -> the model's float32 output, unclamped."""
        if not isinstance(x, np.ndarray) or x.dtype != np.float32 or x.ndim != 4 or x.shape[1] != 3:
            raise InputError(
                f"run_tensor expects a float32 N x 3 x H x W array, got "
                f"{getattr(x, 'dtype', type(x).__name__)} {getattr(x, 'shape', '')}; use run() for frames"
            )
        return self._run_batched(np.ascontiguousarray(x))

    def _run_batched(self, x: np.ndarray, limit: int | None = None) -> np.ndarray:
        fixed = self.contract.fixed_batch
        limits = [n for n in (self.config.max_batch, limit) if n]
        step = fixed or (min(limits) if limits else x.shape[0])
        if x.shape[0] == step:
            return self._infer(x)
        outs = []
        for i in range(0, x.shape[0], step):
            chunk = x[i : i + step]
            n = chunk.shape[0]
            if fixed and n < fixed:  # fill a fixed-batch graph with copies of the last frame
                chunk = np.concatenate([chunk, np.repeat(chunk[-1:], fixed - n, axis=0)])
            outs.append(self._infer(chunk)[:n])
        return np.concatenate(outs)

    def _infer_raw(self, x: np.ndarray) -> np.ndarray:
        c = self.contract
        if self._binding:
            binding = self._session.io_binding()
            binding.bind_cpu_input(c.input_name, x)
            binding.bind_output(c.output_name, self._device)
            self._session.run_with_iobinding(binding)
            return binding.copy_outputs_to_cpu()[0]
        (y,) = self._session.run([c.output_name], {c.input_name: x})
        return y

    def _infer(self, x: np.ndarray) -> np.ndarray:
        try:
            y = self._infer_raw(x)
        except Exception as exc:
            if not memory.is_allocation_failure(exc):
                raise
            detail = memory.allocation_detail(exc)
            raise FrameMemoryError(
                f"ONNX Runtime ran out of memory on a {'x'.join(map(str, x.shape))} input "
                f"({detail}); run large frames in tiles with "
                "tile=512 (--tile 512), or lower memory_budget= so they are tiled automatically"
            ) from None
        if y.shape != x.shape:
            raise ContractError(
                f"{self.model_path}: model returned shape {y.shape} for input {x.shape}; "
                "the contract promises the input's shape; re-export the model"
            )
        return y
