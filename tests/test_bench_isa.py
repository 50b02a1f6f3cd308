"""Benchmarks record the CPU's ISA features and the runtime versions, so figures from different
machines are never mixed up."""

from __future__ import annotations

from importlib import metadata

from runtime_fixtures import blur_model  # noqa: F401

from edgederain import bench
from edgederain.runtime.machine import CPUFeatures, nvidia_gpu_present

SPR = """processor\t: 0
vendor_id\t: GenuineIntel
model name\t: Intel(R) Xeon(R) Platinum 8480+
flags\t\t: fpu sse2 avx2 fma avx512f avx512bw avx512vl avx512_vnni avx512_bf16 avx512_fp16 amx_bf16 amx_tile amx_int8

processor\t: 1
vendor_id\t: GenuineIntel
flags\t\t: fpu
"""
EPYC = """processor\t: 0
vendor_id\t: AuthenticAMD
model name\t: AMD EPYC
flags\t\t: fpu avx2 fma avx512f avx512_vnni avx_vnni avx512_bf16
"""
ARM = "processor\t: 0\nBogoMIPS\t: 50.00\nFeatures\t: fp asimd sve\nCPU implementer\t: 0x41\n"


def test_cpuinfo_is_parsed_per_machine():
    spr, epyc, arm = (CPUFeatures.from_cpuinfo(t) for t in (SPR, EPYC, ARM))
    assert spr.intel and spr.amx and spr.avx512 and spr.vnni and spr.bf16
    assert spr.to_dict()["flags"][-3:] == ["amx_tile", "amx_bf16", "amx_int8"]  # first processor block only
    assert not epyc.intel and not epyc.amx and epyc.vnni and epyc.bf16
    assert epyc.summary == "AMD EPYC (AuthenticAMD): avx512 vnni bf16, no amx"
    assert "no amx" not in spr.summary and spr.summary.endswith("avx512 vnni bf16 amx")
    assert not (arm.avx512 or arm.amx or arm.vnni) and arm.vendor == "0x41" and "sve" in arm.flags


def test_amx_needs_tiles_and_a_data_type():
    assert not CPUFeatures("GenuineIntel", "x", frozenset({"amx_tile"})).amx
    assert not CPUFeatures("GenuineIntel", "x", frozenset({"amx_bf16"})).amx


def test_unreadable_cpuinfo_gives_empty_flags(tmp_path):
    cpu = CPUFeatures.detect(tmp_path / "missing")
    assert cpu.flags == frozenset() and not cpu.amx and "no amx" in cpu.summary


def test_gpu_presence_from_driver_paths(tmp_path):
    gpus = tmp_path / "gpus"
    gpus.mkdir()
    assert not nvidia_gpu_present((str(gpus), str(tmp_path / "nvidia0")))
    (gpus / "0000:01:00.0").mkdir()
    assert nvidia_gpu_present((str(gpus),))
    (tmp_path / "nvidia0").write_text("")
    assert nvidia_gpu_present((str(tmp_path / "nvidia0"),))


def test_machine_info_records_isa_and_versions_record_runtimes(monkeypatch):
    monkeypatch.setattr(CPUFeatures, "detect", classmethod(lambda cls: CPUFeatures.from_cpuinfo(SPR)))
    info = bench.machine_info()
    assert info["isa"]["amx"] is True and info["cpu_vendor"] == "GenuineIntel"
    assert "amx_int8" in info["cpu_flags"] and "avx512_vnni" in info["cpu_flags"]
    assert isinstance(info["nvidia_gpu"], bool)
    real = metadata.version

    def fake(name):
        return {"openvino": "2026.4.0", "onnxruntime-ep-openvino": "1.8.1"}.get(name) or real(name)

    monkeypatch.setattr(metadata, "version", fake)
    v = bench.versions()
    assert v["openvino"] == "2026.4.0" and v["onnxruntime-ep-openvino"] == "1.8.1" and "onnxruntime" in v


def test_bench_record_carries_the_machine(blur_model):
    from edgederain.runtime import SessionConfig

    result = bench.run_benchmark(blur_model, SessionConfig.for_provider("cpu", threads=1),
                                 bench.BenchConfig(shape=(16, 24), warmup=0, iterations=2))
    d = result.to_dict()
    assert d["machine"]["isa"]["summary"] == CPUFeatures.detect().summary
    assert d["onnxruntime"]["details"]["auto"] is None


def test_bench_auto_records_the_choice(blur_model):
    from edgederain.runtime import SessionConfig

    result = bench.run_benchmark(blur_model, SessionConfig.for_provider("auto", threads=1),
                                 bench.BenchConfig(shape=(16, 24), warmup=0, iterations=2))
    auto = result.to_dict()["onnxruntime"]["details"]["auto"]
    assert auto["model"] == str(blur_model) and auto["file_precision"] == "fp32"
    assert auto["provider"] in ("cpu", "openvino", "cuda")
