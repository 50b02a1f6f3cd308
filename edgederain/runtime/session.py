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
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from time import perf_counter
from typing import Any

import numpy as np

from edgederain.contract import IOContract
from edgederain.errors import ContractError, InputError, ModelLoadError, ModelNotFoundError, ProviderError
from edgederain.runtime.config import SessionConfig
from edgederain.runtime.ortloader import import_onnxruntime, session_options
from edgederain.runtime.placement import Placement, check_active, plan_placement, session_providers
from edgederain.runtime.preprocess import from_model_output, frames_to_tensor, validate_frames
from edgederain.runtime.providers import Provider
from edgederain.runtime.tiling import TilePlan, plan_tiles, run_tiled


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


def _model_file(model_path: str | os.PathLike) -> Path:
    p = Path(model_path)
    if not p.is_file():
        raise ModelNotFoundError(f"{p}: model file not found; pass the path of an exported .onnx file")
    return p


def _peek_contract(ort: Any, path: Path) -> IOContract:
    """Read the contract before the real session exists (TensorRT needs it for its profiles)."""
    opts = ort.SessionOptions()
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    opts.log_severity_level = 3
    try:
        sess = ort.InferenceSession(str(path), sess_options=opts, providers=["CPUExecutionProvider"])
    except Exception as exc:  # noqa: BLE001 - ORT raises several unrelated types for a bad file
        raise ModelLoadError(f"{path}: ONNX Runtime cannot load this model ({exc})") from None
    return IOContract.from_metadata(sess.get_modelmeta().custom_metadata_map, source=str(path))


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
        self.model_path = _model_file(model_path)
        self._ort = import_onnxruntime()
        pc = self.config.providers
        start = perf_counter()
        peeked = _peek_contract(self._ort, self.model_path) if Provider.TENSORRT in pc.providers else None
        self._session, placement = self._create(peeked)
        self.creation_seconds = perf_counter() - start
        meta = self._session.get_modelmeta().custom_metadata_map
        self.contract = IOContract.from_metadata(meta, source=str(self.model_path))
        _check_io(self._session, self.contract, self.model_path)
        self.active_providers = tuple(self._session.get_providers())
        reasons = check_active(list(self.active_providers), placement, pc)
        self.fallback_reasons = tuple(r for _, r in placement.dropped) + reasons
        self._placement = placement
        self._binding = pc.uses_io_binding
        self._device = "cuda" if pc.primary.is_gpu and not reasons else "cpu"

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
            raise ModelLoadError(f"{self.model_path}: ONNX Runtime cannot load this model ({exc})") from None
        cpu_opts = session_options(self._ort, self.config)
        try:
            sess = self._ort.InferenceSession(
                str(self.model_path), sess_options=cpu_opts, providers=["CPUExecutionProvider"]
            )
        except Exception as cpu_exc:  # noqa: BLE001
            raise ModelLoadError(
                f"{self.model_path}: ONNX Runtime cannot load this model ({cpu_exc})"
            ) from None
        if not self.config.providers.allow_fallback:
            raise ProviderError(
                f"execution provider {placement.requested[0].value!r} failed to start ({exc}); "
                "fix its libraries or pass allow_fallback=True (--allow-fallback)"
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
        )

    def __repr__(self) -> str:
        return (
            f"DerainSession({str(self.model_path)!r}, precision={self.contract.precision!r}, "
            f"providers={list(self.active_providers)})"
        )

    # --- running --------------------------------------------------------------------------
    def run(self, frames: np.ndarray) -> np.ndarray:
        """Derain a frame or a batch; returns the same dtype, layout and batching as given."""
        kind = validate_frames(frames, min_size=self.contract.min_size)
        h, w = frames.shape[-3], frames.shape[-2]
        plan = self.tile_plan(h, w)
        if plan is None:
            return from_model_output(self._run_batched(frames_to_tensor(frames, kind)), kind)
        batch = frames if kind.batched else frames[None]
        tile_batch = self.config.tiling.batch if self.config.tiling else 1
        outs = [run_tiled(f, self._run_batched, plan, batch=tile_batch) for f in batch]
        return np.stack(outs) if kind.batched else outs[0]

    __call__ = run

    def tile_plan(self, height: int, width: int) -> TilePlan | None:
        """How a height x width frame will be tiled, or None when it runs whole."""
        fixed, tiling = self.contract.fixed_size, self.config.tiling
        if fixed is not None and (height, width) == fixed:
            return None
        if fixed is not None and tiling is None:
            raise InputError(
                f"this model accepts only {fixed[0]}x{fixed[1]} frames, got {height}x{width}; "
                "enable tiling (SessionConfig(tiling=TileConfig()) or --tile) or resize the frames"
            )
        if tiling is None:
            return None
        window = tiling.window(self.contract.size_multiple)
        if fixed is None and height <= window and width <= window:
            return None
        return plan_tiles(height, width, tiling, multiple=self.contract.size_multiple, fixed=fixed)

    def run_tensor(self, x: np.ndarray) -> np.ndarray:
        """Low level: float32 N x 3 x H x W in [0, 1] -> the model's float32 output, unclamped."""
        if not isinstance(x, np.ndarray) or x.dtype != np.float32 or x.ndim != 4 or x.shape[1] != 3:
            raise InputError(
                f"run_tensor expects a float32 N x 3 x H x W array, got "
                f"{getattr(x, 'dtype', type(x).__name__)} {getattr(x, 'shape', '')}; use run() for frames"
            )
        return self._run_batched(np.ascontiguousarray(x))

    def _run_batched(self, x: np.ndarray) -> np.ndarray:
        fixed = self.contract.fixed_batch
        step = fixed or self.config.max_batch or x.shape[0]
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

    def _infer(self, x: np.ndarray) -> np.ndarray:
        c = self.contract
        if self._binding:
            binding = self._session.io_binding()
            binding.bind_cpu_input(c.input_name, x)
            binding.bind_output(c.output_name, self._device)
            self._session.run_with_iobinding(binding)
            y = binding.copy_outputs_to_cpu()[0]
        else:
            (y,) = self._session.run([c.output_name], {c.input_name: x})
        if y.shape != x.shape:
            raise ContractError(
                f"{self.model_path}: model returned shape {y.shape} for input {x.shape}; "
                "the contract promises the input's shape; re-export the model"
            )
        return y
