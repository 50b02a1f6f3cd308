"""Compute settings of a training run: a warning where bf16 autocast would be emulated."""

from __future__ import annotations

import warnings

import pytest

from edgederain.runtime import machine
from edgederain.train.config import TrainConfig
from edgederain.train.setup import Compute

ICE_LAKE = "vendor_id\t: GenuineIntel\nmodel name\t: Xeon\nflags\t\t: avx2 avx512f avx512_vnni\n"
SAPPHIRE = "vendor_id\t: GenuineIntel\nmodel name\t: Xeon\nflags\t\t: avx512f avx512_bf16 amx_tile amx_bf16\n"


@pytest.fixture
def cpu(monkeypatch: pytest.MonkeyPatch):
    def use(cpuinfo: str) -> None:
        features = machine.CPUFeatures.from_cpuinfo(cpuinfo)
        monkeypatch.setattr(machine.CPUFeatures, "detect", classmethod(lambda cls, *a, **k: features))

    return use


def test_bf16_on_a_cpu_without_bf16_units_warns(cpu) -> None:
    cpu(ICE_LAKE)
    with pytest.warns(RuntimeWarning, match="without bf16 units.*amp = 'off'"):
        compute = Compute.from_config(TrainConfig(amp="bf16", device="cpu"))
    assert compute.bf16  # still what was asked for: a warning, not a refusal


@pytest.mark.parametrize("cpuinfo, amp", [(SAPPHIRE, "bf16"), (ICE_LAKE, "off")])
def test_no_warning_where_bf16_is_native_or_off(cpu, cpuinfo: str, amp: str) -> None:
    cpu(cpuinfo)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        Compute.from_config(TrainConfig(amp=amp, device="cpu"))
