"""``--provider auto``: the fastest installed provider and precision on this machine, among those
whose model file passed its contract gates, and never a precision the caller excluded.

Candidates are ranked by what was measured (480x320, 2 threads; ``docs/speed.md``), fastest first:

=====================  ===============================================================
machine                order
=====================  ===============================================================
NVIDIA GPU present     CUDA FP16 file, CUDA FP32 file, then the CPU order below
``openvino`` installed OpenVINO's own runtime first (:mod:`~edgederain.runtime.openvino_session`):
                       INT8 file, then bf16 on the FP32 file (CPUs with bf16 units);
                       then the orders below
Intel CPU with AMX     OpenVINO INT8 file, OpenVINO bf16 (FP32 file), ORT INT8, ORT FP32
other CPUs             ORT INT8, OpenVINO bf16 (FP32 file, CPUs with bf16 units),
                       ORT FP32, OpenVINO f32
=====================  ===============================================================

On AMX the INT8 file is first as on the other CPUs: OpenVINO's runtime ran it in 85 ms against
96 ms for the FP32 file at bf16 (Xeon with AMX, 480x320, 2 threads), and closer to FP32 (52.9
against 44.2 dB at the worst frame); ONNX Runtime's OpenVINO plugin likewise, 83 against 92 ms.

("OpenVINO" without "runtime" is ONNX Runtime's OpenVINO provider, plugin or build.)

TensorRT is never picked automatically: its engines take minutes to build at the first run of
each shape; ask for it with ``--provider tensorrt``.

Each candidate is tried in order: it is skipped (with the reason recorded) when its precision
is excluded, its file is missing or did not pass its gates (the ``parity`` record in the
contract: every gate's ``passed`` flag, and the gate of the file's own precision must be there),
or its provider is not installed or does not become active (``ProviderError`` from the session;
an onnxruntime-gpu without a GPU, the OpenVINO plugin on an AMD CPU). The first that runs wins;
:class:`AutoChoice` says what was picked, why, and what was skipped. ``bf16`` is a runtime
precision of the FP32 file (OpenVINO's inference precision hint), so it needs the FP32 file's
gates and is excluded by name like the file precisions.

With an explicit model file the file's precision is the caller's choice: only providers (and
bf16 for an FP32 file) are chosen, and the file's own gates are not required.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Callable

from edgederain.choices import Precision as FilePrecision
from edgederain.errors import ConfigError, ModelNotFoundError, ProviderError
from edgederain.runtime.machine import CPUFeatures, nvidia_gpu_present
from edgederain.runtime.providers import AUTO_PRECISIONS, AutoPolicy, OVPrecision, Provider, ProviderConfig

OWN_GATE: dict[str, str] = {"fp32": "fp32_vs_pytorch", "fp16": "fp16_vs_fp32", "int8": "int8_vs_fp32"}


@dataclass(frozen=True)
class Candidate:
    """One way to run: a provider, the model file of ``file_precision``, the precision it computes in."""

    provider: Provider
    file_precision: FilePrecision
    precision: str  # one of AUTO_PRECISIONS: what the caller may exclude
    openvino_precision: OVPrecision = "f32"
    why: str = ""
    runtime: str = "onnxruntime"  # or "openvino": OpenVINO's own runtime (OpenVINOSession)

    @property
    def label(self) -> str:
        name = {"cpu": "ORT CPU", "cuda": "ORT CUDA", "openvino": "OpenVINO"}.get(
            self.provider.value, self.provider.value)
        if self.runtime == "openvino":
            name = "OpenVINO runtime"
        return f"{name} {self.precision.upper()} ({self.file_precision.upper()} file)"


def openvino_runtime_installed() -> bool:
    """Whether the ``openvino`` package (OpenVINO's own runtime) can be imported."""
    import importlib.util

    return importlib.util.find_spec("openvino") is not None


def rank_candidates(cpu: CPUFeatures, *, gpu: bool, openvino_runtime: bool = False) -> tuple[Candidate, ...]:
    """All candidates for this machine, fastest first (see the module docstring)."""
    c = Candidate
    out: list[Candidate] = []
    if gpu:
        out += [c(Provider.CUDA, "fp16", "fp16", why="NVIDIA GPU: FP16 is the fast GPU format"),
                c(Provider.CUDA, "fp32", "fp32", why="NVIDIA GPU, FP32")]
    if openvino_runtime:
        rt_int8 = c(Provider.OPENVINO, "int8", "int8", why="OpenVINO runtime int8 kernels"
                    + (" on AMX" if cpu.amx else " with VNNI" if cpu.vnni else ""), runtime="openvino")
        rt_bf16 = c(Provider.OPENVINO, "fp32", "bf16", "bf16", runtime="openvino",
                    why="OpenVINO runtime bf16 kernels" + (" on AMX" if cpu.amx else ""))
        out += [rt_int8] + ([rt_bf16] if cpu.bf16 else [])
    ov_bf16 = c(Provider.OPENVINO, "fp32", "bf16", "bf16",
                why="OpenVINO bf16 kernels" + (" on AMX" if cpu.amx else " on AVX-512 BF16"))
    ort_int8 = c(Provider.CPU, "int8", "int8", why="ORT U8S8 convs" + (" with VNNI" if cpu.vnni else ""))
    ort_fp32 = c(Provider.CPU, "fp32", "fp32", why="ORT CPU FP32")
    if cpu.amx:
        out += [c(Provider.OPENVINO, "int8", "int8", why="OpenVINO int8 kernels on AMX"), ov_bf16,
                ort_int8, ort_fp32]
    else:
        out.append(ort_int8)
        if cpu.bf16:
            out.append(ov_bf16)
        out += [ort_fp32, c(Provider.OPENVINO, "fp32", "fp32", why="OpenVINO f32")]
    return tuple(out)


def gate_problem(contract: Any, file_precision: str) -> str:
    """Why a model file's contract does not show passed gates ("" when it does)."""
    parity = getattr(contract, "parity", None)
    if not parity:
        return "its contract has no gate record (exported with --no-verify?)"
    failed = [k for k, v in parity.items() if isinstance(v, dict) and v.get("passed") is False]
    if failed:
        return f"its gate {failed[0]} failed at export"
    own = OWN_GATE[file_precision]
    if not isinstance(parity.get(own), dict):
        return f"its contract lacks the {own} gate"
    return ""


@dataclass(frozen=True)
class AutoChoice:
    """What ``--provider auto`` picked (``candidate``, ``model_path``, the concrete ``config``)."""

    candidate: Candidate
    model_path: Path
    config: Any  # SessionConfig
    cpu: CPUFeatures
    gpu: bool
    skipped: tuple[tuple[str, str], ...] = ()
    excluded: tuple[str, ...] = ()

    def explain(self) -> str:
        """One paragraph: what runs, why, and what was passed over."""
        line = (f"--provider auto picked {self.candidate.label}: {self.candidate.why}; "
                f"model {self.model_path}; CPU {self.cpu.summary}; NVIDIA GPU: {'yes' if self.gpu else 'no'}")
        if self.excluded:
            line += f"; excluded precisions: {', '.join(self.excluded)}"
        if self.skipped:
            line += "; skipped " + "; ".join(f"{label}: {why}" for label, why in self.skipped)
        return line

    def to_dict(self) -> dict[str, Any]:
        return {"provider": self.candidate.provider.value, "runtime": self.candidate.runtime,
                "precision": self.candidate.precision,
                "file_precision": self.candidate.file_precision, "model": str(self.model_path),
                "why": self.candidate.why, "cpu": self.cpu.summary, "gpu": self.gpu,
                "excluded": list(self.excluded), "skipped": [list(s) for s in self.skipped]}


ModelFiles = Callable[[FilePrecision], Path]


def _packaged_files(name: str) -> ModelFiles:
    from edgederain.weights import model_file

    return lambda precision: model_file(precision, name)


def _concrete_config(config: Any, cand: Candidate) -> Any:
    pc = config.providers
    providers = ProviderConfig.for_provider(
        cand.provider, allow_fallback=False, cpu=pc.cpu, cuda=pc.cuda, tensorrt=pc.tensorrt,
        openvino=replace(pc.openvino, precision=cand.openvino_precision), io_binding=pc.io_binding)
    return replace(config, providers=providers)


def _read_contract(path: Path) -> Any:
    from edgederain.runtime.ortloader import import_onnxruntime
    from edgederain.runtime.session import _peek_contract

    return _peek_contract(import_onnxruntime(), path)


@dataclass
class _Search:
    """State of one resolution: candidates tried, reasons they were skipped."""

    policy: AutoPolicy
    files: ModelFiles
    explicit: Path | None
    contract_of: Callable[[Path], Any]
    skipped: list[tuple[str, str]] = field(default_factory=list)

    def file_for(self, cand: Candidate) -> Path | None:
        """The model file for ``cand``, or None (reason recorded) if it cannot be used."""
        if cand.precision in self.policy.exclude:
            self.skipped.append((cand.label, "precision excluded"))
            return None
        try:
            path = self.files(cand.file_precision)
        except (ModelNotFoundError, ValueError) as exc:
            self.skipped.append((cand.label, f"no {cand.file_precision.upper()} file ({exc})"))
            return None
        needs_gate = self.explicit is None or cand.precision != cand.file_precision
        if needs_gate:
            problem = gate_problem(self.contract_of(path), cand.file_precision)
            if problem:
                self.skipped.append((cand.label, f"{path.name}: {problem}"))
                return None
        return path


def _explicit_files(path: Path, contract_of: Callable[[Path], Any]) -> ModelFiles:
    own = contract_of(path).precision

    def files(precision: FilePrecision) -> Path:
        if precision != own:
            raise ValueError(f"the given model {path.name} is {own.upper()}")
        return path

    return files


def auto_session(
    model: str | os.PathLike | None,
    config: Any,
    *,
    cpu: CPUFeatures | None = None,
    gpu: bool | None = None,
    open_session: Callable[[Path, Any], Any] | None = None,
    contract_of: Callable[[Path], Any] | None = None,
    openvino_runtime: bool | None = None,
    open_openvino: Callable[[Path, Any], Any] | None = None,
) -> tuple[Any, AutoChoice]:
    """Resolve ``--provider auto`` for ``model`` (None or a packaged model's name: choose among
    its packaged files; a path: that file) and open the session; returns (session, choice).

    ``config`` is a :class:`~edgederain.runtime.SessionConfig` made with
    ``SessionConfig.for_provider("auto", ...)``; its other settings (threads, tiling, memory)
    carry over. ``cpu``, ``gpu``, ``openvino_runtime``, ``open_session``, ``open_openvino`` and
    ``contract_of`` replace the machine, :class:`~edgederain.runtime.DerainSession`,
    :class:`~edgederain.runtime.openvino_session.OpenVINOSession` and the contract reader (tests
    pass stand-ins).
    Raises :class:`ProviderError` listing every skipped candidate when none runs.
    """
    policy = config.providers.auto
    if policy is None:
        raise ConfigError("auto_session needs a config made with SessionConfig.for_provider('auto')")
    cpu = cpu or CPUFeatures.detect()
    gpu = nvidia_gpu_present() if gpu is None else gpu
    contract_of = contract_of or _read_contract
    if open_session is None:
        from edgederain.runtime.session import DerainSession as open_session  # noqa: N813
    if open_openvino is None:
        from edgederain.runtime.openvino_session import OpenVINOSession as open_openvino  # noqa: N813
    openvino_runtime = openvino_runtime_installed() if openvino_runtime is None else openvino_runtime
    explicit = None
    from edgederain.weights import is_packaged_name

    if model is None or is_packaged_name(model):
        files = _packaged_files("default" if model is None else str(model))
    else:
        explicit = Path(model)
        files = _explicit_files(explicit, contract_of)
    search = _Search(policy, files, explicit, contract_of)
    for cand in rank_candidates(cpu, gpu=gpu, openvino_runtime=openvino_runtime):
        path = search.file_for(cand)
        if path is None:
            continue
        concrete = _concrete_config(config, cand)
        try:
            if cand.runtime == "openvino":
                session = _open_openvino(open_openvino, path, concrete)
            else:
                session = open_session(path, concrete)
        except ProviderError as exc:
            search.skipped.append((cand.label, str(exc).split("; ")[0][:200]))
            continue
        return session, AutoChoice(cand, path, concrete, cpu, gpu, tuple(search.skipped), policy.exclude)
    reasons = "; ".join(f"{label}: {why}" for label, why in search.skipped)
    raise ProviderError(f"--provider auto found nothing to run on this machine ({cpu.summary}): {reasons}")


def _open_openvino(open_openvino: Callable[[Path, Any], Any], path: Path, config: Any) -> Any:
    """OpenVINO's runtime session; a missing package or a compile failure becomes ProviderError."""
    from edgederain.errors import MissingDependencyError

    try:
        return open_openvino(path, config)
    except MissingDependencyError as exc:
        raise ProviderError(str(exc)) from None
    except RuntimeError as exc:  # OpenVINO raises RuntimeError when it cannot compile the model
        raise ProviderError(f"OpenVINO could not compile {path.name}: {exc}") from None



__all__ = ["AUTO_PRECISIONS", "AutoChoice", "AutoPolicy", "Candidate", "auto_session", "gate_problem",
           "rank_candidates"]
