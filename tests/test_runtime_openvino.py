"""The real OpenVINO plugin (onnxruntime-ep-openvino): several sessions in one process.

Skipped where the plugin is not installed, and where it finds no CPU device: it serves Intel
CPUs only (on an AMD CPU it registers and offers no device).
"""

from __future__ import annotations

import threading

import numpy as np
import pytest

from edgederain.runtime import DerainSession, SessionConfig
from edgederain.runtime.default_model import default_model_path

pytest.importorskip(
    "onnxruntime_ep_openvino", reason="the onnxruntime-ep-openvino plugin is not installed (edgederain[openvino])"
)


@pytest.fixture(scope="module")
def model():
    import onnxruntime as ort

    from edgederain.runtime import placement

    if not placement.openvino_plugin_devices(ort, "CPU"):
        pytest.skip(
            "the OpenVINO plugin found no CPU device: it serves Intel CPUs, this one reports "
            f"vendor {placement._cpu_vendor()!r}"
        )
    return default_model_path(precision="fp32")


def _config():
    return SessionConfig.for_provider("openvino", threads=1)


def test_several_openvino_sessions_in_one_process(model):
    frame = np.random.default_rng(0).random((64, 96, 3), dtype=np.float32)
    reference = DerainSession(model, SessionConfig.for_provider("cpu", threads=1)).run(frame)
    for _ in range(3):
        s = DerainSession(model, _config())
        assert s.active_providers[0] == "OpenVINOExecutionProvider" and not s.fell_back
        assert np.abs(s.run(frame) - reference).max() < 1e-2


def test_openvino_sessions_created_in_threads(model):
    sessions, errors = [], []

    def create():
        try:
            sessions.append(DerainSession(model, _config()))
        except Exception as exc:  # noqa: BLE001 - collected for the assertion
            errors.append(exc)

    threads = [threading.Thread(target=create) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert [s.active_providers[0] for s in sessions] == ["OpenVINOExecutionProvider"] * 3
