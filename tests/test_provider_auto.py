"""``--provider auto``: ranking per machine, gates, exclusions, and what it says it picked.

The machine (CPU features, GPU), the installed providers (a stand-in session factory that refuses
the ones "not installed") and the model contracts are stand-ins, so every case runs on any CI
machine; one test at the end resolves auto for real on this machine.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pytest
from typer.testing import CliRunner

from edgederain.errors import ConfigError, ProviderError
from edgederain.runtime import DerainSession, SessionConfig
from edgederain.runtime.auto import auto_session, gate_problem, rank_candidates
from edgederain.runtime.machine import CPUFeatures
from edgederain.runtime.providers import Provider

SPR = CPUFeatures("GenuineIntel", "Intel Xeon Platinum 8480+",
                  frozenset("avx2 avx512f avx512_vnni avx512_bf16 amx_tile amx_bf16 amx_int8".split()))
EPYC = CPUFeatures("AuthenticAMD", "AMD EPYC", frozenset("avx2 avx512f avx512_vnni avx512_bf16".split()))
OLD = CPUFeatures("GenuineIntel", "Intel Core i5", frozenset({"avx2"}))
GATED = {"fp32": "fp32_vs_pytorch", "fp16": "fp16_vs_fp32", "int8": "int8_vs_fp32"}


@dataclass
class FakeContract:
    precision: str
    parity: dict | None = None


def contract(precision: str, *, passed: bool = True, gated: bool = True) -> FakeContract:
    parity = {GATED[precision]: {"passed": passed}} if gated else None
    if gated and precision != "fp32":
        parity["fp32_vs_pytorch"] = {"passed": True}
    return FakeContract(precision, parity)


@dataclass
class Machine:
    """Installed providers (short names) and the contracts of the model files."""

    installed: set = field(default_factory=lambda: {"cpu"})
    contracts: dict = field(default_factory=dict)
    opened: list = field(default_factory=list)

    def open(self, path: Path, config) -> tuple:
        primary = config.providers.primary
        assert config.providers.auto is None and not config.providers.allow_fallback
        if primary.value not in self.installed:
            raise ProviderError(f"requested execution provider {primary.value!r} is not available: stand-in")
        self.opened.append((primary, path.name, config.providers.openvino.precision))
        return ("session", primary, path.name)

    def open_ov(self, path: Path, config) -> tuple:
        from edgederain.errors import MissingDependencyError

        if "openvino-runtime" not in self.installed:
            raise MissingDependencyError("OpenVINO's own runtime needs the openvino package: stand-in")
        if "broken-ov" in self.installed:
            raise RuntimeError("Exception from src/inference: stand-in compile failure")
        self.opened.append(("openvino-runtime", path.name, config.providers.openvino.precision))
        return ("ov-session", path.name, config.providers.openvino.precision)

    def contract_of(self, path: Path) -> FakeContract:
        precision = path.stem.split("_")[-1]
        return self.contracts.get(precision, contract(precision))


def resolve(machine: Machine, cpu: CPUFeatures, *, gpu: bool = False, model=None, **config):
    cfg = SessionConfig.for_provider("auto", threads=1, **config)
    return auto_session(model, cfg, cpu=cpu, gpu=gpu, open_session=machine.open,
                        contract_of=machine.contract_of, open_openvino=machine.open_ov,
                        openvino_runtime="openvino-runtime" in machine.installed)


def test_openvino_runtime_comes_first_where_installed():
    m = Machine(installed={"cpu", "openvino-runtime"})
    session, choice = resolve(m, EPYC)
    assert session == ("ov-session", "derain_int8.onnx", "f32") and choice.candidate.runtime == "openvino"
    assert "OpenVINO runtime INT8 (INT8 file)" in choice.explain() and choice.to_dict()["runtime"] == "openvino"
    session, choice = resolve(m, SPR)  # AMX: the INT8 file first too (85 against 96 ms at bf16)
    assert session == ("ov-session", "derain_int8.onnx", "f32")
    session, _ = resolve(m, SPR, exclude_precisions=("int8",))
    assert session == ("ov-session", "derain_fp32.onnx", "bf16")
    session, _ = resolve(m, EPYC, exclude_precisions=("int8",))
    assert session == ("ov-session", "derain_fp32.onnx", "bf16")
    session, _ = resolve(m, OLD, exclude_precisions=("int8",))  # no bf16 units: not the bf16 runtime
    assert session == ("session", Provider.CPU, "derain_fp32.onnx")


def test_openvino_runtime_that_cannot_compile_is_skipped_with_the_reason():
    m = Machine(installed={"cpu", "openvino-runtime", "broken-ov"})
    session, choice = resolve(m, EPYC)
    assert session == ("session", Provider.CPU, "derain_int8.onnx")
    assert "could not compile" in dict(choice.skipped)["OpenVINO runtime INT8 (INT8 file)"]


def test_ranking_follows_the_machine():
    first = lambda cpu, gpu=False: rank_candidates(cpu, gpu=gpu)[0]  # noqa: E731
    assert (first(SPR).provider, first(SPR).precision) == (Provider.OPENVINO, "int8")
    assert [(c.provider, c.precision) for c in rank_candidates(SPR, gpu=False)][:2] == [
        (Provider.OPENVINO, "int8"), (Provider.OPENVINO, "bf16")]
    assert (first(EPYC).provider, first(EPYC).precision) == (Provider.CPU, "int8")
    assert (first(EPYC, True).provider, first(EPYC, True).precision) == (Provider.CUDA, "fp16")
    assert all(c.precision != "bf16" for c in rank_candidates(OLD, gpu=False))  # no bf16 units
    assert all(c.provider is not Provider.TENSORRT for c in rank_candidates(SPR, gpu=True))


def test_amx_cpu_with_openvino_picks_its_int8_file_then_bf16_on_the_fp32_file():
    m = Machine(installed={"cpu", "openvino"})
    session, choice = resolve(m, SPR)
    assert session == ("session", Provider.OPENVINO, "derain_int8.onnx")
    assert (choice.candidate.provider, choice.candidate.precision) == (Provider.OPENVINO, "int8")
    assert "OpenVINO INT8 (INT8 file)" in choice.explain() and "amx" in choice.explain().lower()
    session, choice = resolve(m, SPR, exclude_precisions=("int8",))
    assert session == ("session", Provider.OPENVINO, "derain_fp32.onnx")
    assert (choice.candidate.provider, choice.candidate.precision) == (Provider.OPENVINO, "bf16")
    assert choice.config.providers.openvino.precision == "bf16"
    assert choice.config.providers.cpu.intra_op_threads == 1  # the caller's settings carry over
    text = choice.explain()
    assert "OpenVINO BF16 (FP32 file)" in text and "amx" in text and "derain_fp32.onnx" in text


def test_amx_cpu_without_openvino_says_why_and_runs_ort_int8():
    m = Machine(installed={"cpu"})
    _, choice = resolve(m, SPR)
    assert (choice.candidate.provider, choice.candidate.precision) == (Provider.CPU, "int8")
    skipped = dict(choice.skipped)
    assert "not available" in skipped["OpenVINO BF16 (FP32 file)"]
    assert "not available" in skipped["OpenVINO INT8 (INT8 file)"]


def test_excluded_precisions_are_never_picked():
    m = Machine(installed={"cpu", "openvino"})
    _, choice = resolve(m, EPYC, exclude_precisions=("int8",))
    assert choice.candidate.precision == "bf16" and choice.excluded == ("int8",)
    assert dict(choice.skipped)["ORT CPU INT8 (INT8 file)"] == "precision excluded"
    _, choice = resolve(m, EPYC, exclude_precisions=("int8", "bf16"))
    assert (choice.candidate.provider, choice.candidate.precision) == (Provider.CPU, "fp32")
    assert all(p != "int8" for _, _, p in m.opened)
    assert "excluded precisions: int8, bf16" in choice.explain()


def test_gpu_picks_cuda_fp16_and_falls_through_when_cuda_does_not_start():
    _, choice = resolve(Machine(installed={"cpu", "cuda"}), EPYC, gpu=True)
    assert (choice.candidate.provider, choice.model_path.name) == (Provider.CUDA, "derain_fp16.onnx")
    _, choice = resolve(Machine(installed={"cpu", "cuda"}), EPYC, gpu=True, exclude_precisions=("fp16",))
    assert (choice.candidate.provider, choice.candidate.precision) == (Provider.CUDA, "fp32")
    _, choice = resolve(Machine(installed={"cpu"}), EPYC, gpu=True)
    assert choice.candidate.provider is Provider.CPU
    assert "not available" in dict(choice.skipped)["ORT CUDA FP16 (FP16 file)"]


def test_a_file_whose_gate_failed_is_skipped():
    m = Machine(contracts={"int8": contract("int8", passed=False)})
    _, choice = resolve(m, EPYC)
    assert choice.candidate.precision == "fp32"
    assert "int8_vs_fp32 failed" in dict(choice.skipped)["ORT CPU INT8 (INT8 file)"]
    m = Machine(contracts={"int8": contract("int8", gated=False)})
    _, choice = resolve(m, EPYC)
    assert "no gate record" in dict(choice.skipped)["ORT CPU INT8 (INT8 file)"]


def test_gate_problem_reads_the_contract_parity():
    assert gate_problem(contract("int8"), "int8") == ""
    assert "lacks the int8_vs_fp32 gate" in gate_problem(FakeContract("int8", {"fp32_vs_pytorch": {"passed": True}}), "int8")
    assert "no gate record" in gate_problem(FakeContract("fp32", None), "fp32")


def test_an_explicit_file_keeps_its_precision(tmp_path):
    path = tmp_path / "mine_fp32.onnx"
    path.write_bytes(b"stand-in")
    m = Machine(installed={"cpu", "openvino"}, contracts={"fp32": contract("fp32", gated=False)})
    _, choice = resolve(m, EPYC, model=path)
    # INT8 needs another file: not picked; bf16 (a reduced precision of this file) needs its gates
    assert (choice.candidate.provider, choice.candidate.precision) == (Provider.CPU, "fp32")
    assert choice.model_path == path
    assert "is FP32" in dict(choice.skipped)["ORT CPU INT8 (INT8 file)"]
    assert "no gate record" in dict(choice.skipped)["OpenVINO BF16 (FP32 file)"]


def test_nothing_runnable_lists_every_reason():
    with pytest.raises(ProviderError, match="found nothing to run.*precision excluded"):
        resolve(Machine(installed=set()), EPYC, exclude_precisions=("int8",))


@pytest.mark.parametrize("kwargs, message", [
    (dict(provider="auto", exclude_precisions=("int4",)), "unknown precision"),
    (dict(provider="auto", exclude_precisions=("fp32", "fp16", "bf16", "int8")), "every precision"),
    (dict(provider="cpu", exclude_precisions=("int8",)), "only applies to provider 'auto'"),
    (dict(provider="auto", allow_fallback=True), "does not apply to provider 'auto'"),
])
def test_config_errors(kwargs, message):
    with pytest.raises(ConfigError, match=message):
        SessionConfig.for_provider(**kwargs)


def test_an_unresolved_auto_config_is_refused_by_the_session():
    from edgederain.runtime.default_model import default_model_path

    with pytest.raises(ConfigError, match="auto_session"):
        DerainSession(default_model_path(), SessionConfig.for_provider("auto"))
    with pytest.raises(ConfigError, match="for_provider\\('auto'\\)"):
        auto_session(None, SessionConfig.for_provider("cpu"))


def test_auto_resolves_on_this_machine():
    cfg = SessionConfig.for_provider("auto", threads=1, exclude_precisions=("bf16",))
    session, choice = auto_session(None, cfg)
    if choice.candidate.runtime == "openvino":  # the openvino package is installed here
        assert session.active_providers[0].startswith("OpenVINORuntime")
    else:
        assert choice.candidate.provider.ort_name == session.active_providers[0]
    assert session.contract.precision == choice.candidate.file_precision != "bf16"
    assert choice.to_dict()["precision"] == choice.candidate.precision


def test_cli_derain_auto_says_what_it_picked(tmp_path):
    import numpy as np
    from PIL import Image

    from edgederain.cli import app

    Image.fromarray(np.full((24, 32, 3), 128, np.uint8)).save(tmp_path / "a.png")
    result = CliRunner().invoke(app, ["derain", str(tmp_path / "a.png"), "-o", str(tmp_path / "out"),
                                      "--provider", "auto", "--exclude-precision", "int8",
                                      "--threads", "1", "-q"])
    assert result.exit_code == 0, result.output
    assert "--provider auto picked" in result.output and "excluded precisions: int8" in result.output
    assert (tmp_path / "out" / "a.png").is_file()
    bad = CliRunner().invoke(app, ["derain", str(tmp_path / "a.png"), "-o", str(tmp_path / "o2"),
                                   "--exclude-precision", "int8"])
    assert bad.exit_code == 2 and "only applies to provider 'auto'" in bad.output


def test_openvino_session_runs_like_derain_session(tmp_path):
    pytest.importorskip("openvino")
    import numpy as np

    from edgederain.errors import FrameMemoryError, InputError
    from edgederain.runtime.default_model import default_model_path
    from edgederain.runtime.openvino_session import OpenVINOSession

    path = default_model_path(precision="int8")
    ov = OpenVINOSession(path, SessionConfig.for_provider("openvino", threads=1))
    ort = DerainSession(path, SessionConfig.for_provider("cpu", threads=1))
    frames = np.random.default_rng(0).integers(0, 256, (2, 40, 56, 3), dtype=np.uint8)
    out = ov.run(frames)
    assert out.shape == frames.shape and out.dtype == np.uint8 and ov.tile_plan(40, 56) is None
    assert np.abs(out.astype(int) - ort.run(frames).astype(int)).mean() < 2.0
    single = ov.run(frames[0].astype(np.float32) / 255.0)
    assert single.shape == (40, 56, 3) and single.dtype == np.float32
    assert ov.contract.precision == "int8" and ov.info["active"] == ["OpenVINORuntime:CPU"]
    with pytest.raises(InputError):
        ov.run(frames[0, :, :, :2])
    assert OpenVINOSession(path, SessionConfig.for_provider("openvino", tile=64)).tile_plan(200, 300).count > 1
    small = OpenVINOSession(path, SessionConfig(memory_budget=1024))
    with pytest.raises(FrameMemoryError, match="raise memory_budget"):
        small.run(frames)


def test_missing_openvino_package_says_how_to_install(monkeypatch):
    import sys

    from edgederain.errors import MissingDependencyError
    from edgederain.runtime.openvino_session import import_openvino

    monkeypatch.setitem(sys.modules, "openvino", None)
    with pytest.raises(MissingDependencyError, match="pip install openvino"):
        import_openvino()
