"""Execution providers: typed options, a missing provider raises unless fallback is allowed, and a
provider that ORT silently drops after creation is caught."""

from __future__ import annotations

import importlib.util
import json
import threading
import time
import warnings

import numpy as np
import onnxruntime as ort
import pytest
from runtime_fixtures import blur_model  # noqa: F401

from edgederain.contract import IOContract
from edgederain.errors import ConfigError, ProviderError, ProviderFallbackWarning
from edgederain.runtime import (
    CUDAOptions,
    DerainSession,
    OpenVINOOptions,
    Provider,
    ProviderConfig,
    SessionConfig,
    TensorRTOptions,
)
from edgederain.runtime.placement import Placement, check_active

needs_no_cuda = pytest.mark.skipif(
    "CUDAExecutionProvider" in ort.get_available_providers(), reason="this onnxruntime has CUDA"
)


@needs_no_cuda
@pytest.mark.parametrize("name", ["cuda", "tensorrt"])
def test_missing_gpu_provider_raises(blur_model, name):
    with pytest.raises(ProviderError, match="not available.*allow_fallback"):
        DerainSession(blur_model, SessionConfig.for_provider(name))


@needs_no_cuda
def test_fallback_when_allowed_is_recorded_and_warned(blur_model):
    with pytest.warns(ProviderFallbackWarning, match=r"requested providers \['cuda', 'cpu'\].*CUDAExecutionProvider"):
        s = DerainSession(blur_model, SessionConfig.for_provider("cuda", allow_fallback=True))
    assert s.active_providers == ("CPUExecutionProvider",)
    assert s.requested_providers == ("cuda", "cpu")
    assert s.fell_back and s.info.fell_back
    assert any("CUDAExecutionProvider" in r for r in s.fallback_reasons)
    assert s.run(np.zeros((16, 16, 3), np.uint8)).shape == (16, 16, 3)


def test_no_fallback_no_warning(blur_model):
    with warnings.catch_warnings():
        warnings.simplefilter("error", ProviderFallbackWarning)
        s = DerainSession(blur_model, SessionConfig.for_provider("cpu", allow_fallback=True))
    assert not s.fell_back and not s.info.fell_back and s.requested_providers == ("cpu",)


@pytest.mark.filterwarnings("ignore:Specified provider")
def test_provider_silently_dropped_by_ort_is_caught(blur_model, monkeypatch):
    """onnxruntime-gpu lists CUDA as available and then runs on CPU: decide from get_providers()."""
    real = ort.get_available_providers()
    monkeypatch.setattr(ort, "get_available_providers", lambda: ["CUDAExecutionProvider", *real])
    with pytest.raises(ProviderError, match="did not become active"):
        DerainSession(blur_model, SessionConfig.for_provider("cuda"))
    with pytest.warns(ProviderFallbackWarning, match="not active after session creation"):
        s = DerainSession(blur_model, SessionConfig.for_provider("cuda", allow_fallback=True))
    assert s.fell_back and s.active_providers == ("CPUExecutionProvider",)


@pytest.mark.skipif(
    importlib.util.find_spec("onnxruntime_ep_openvino") is not None
    or "OpenVINOExecutionProvider" in ort.get_available_providers(),
    reason="an OpenVINO provider is installed here",
)
def test_missing_openvino_raises_with_the_install_hint(blur_model):
    with pytest.raises(ProviderError, match=r"edgederain\[openvino\]"):
        DerainSession(blur_model, SessionConfig.for_provider("openvino"))


def test_check_active_raises_or_reports():
    placement = Placement((("CUDAExecutionProvider", {}),), (Provider.CUDA, Provider.CPU))
    with pytest.raises(ProviderError, match="'cuda' did not become active"):
        check_active(["CPUExecutionProvider"], placement, ProviderConfig.for_provider("cuda"))
    allowed = ProviderConfig.for_provider("cuda", allow_fallback=True)
    assert check_active(["CPUExecutionProvider"], placement, allowed)[0].startswith("cuda")
    assert check_active(["CUDAExecutionProvider", "CPUExecutionProvider"], placement, allowed) == ()


def test_provider_config_order_and_names():
    assert ProviderConfig.for_provider("tensorrt").providers == (
        Provider.TENSORRT, Provider.CUDA, Provider.CPU)
    assert ProviderConfig(providers=("CUDAExecutionProvider", "cpu")).primary is Provider.CUDA
    with pytest.raises(ConfigError, match="priority order"):
        ProviderConfig(providers=("cpu", "cuda"))
    with pytest.raises(ConfigError, match="twice"):
        ProviderConfig(providers=("cpu", "cpu"))
    with pytest.raises(ConfigError, match="unknown execution provider"):
        ProviderConfig(providers=("rocm",))
    assert ProviderConfig.for_provider("cuda").uses_io_binding
    assert not ProviderConfig.for_provider("cpu").uses_io_binding


def test_cuda_defaults_use_heuristic_search():
    opts = CUDAOptions().to_ort()
    assert opts["cudnn_conv_algo_search"] == "HEURISTIC"
    with pytest.raises(ConfigError):
        CUDAOptions(cudnn_conv_algo_search="FAST")


def test_tensorrt_flags_and_profiles_follow_the_contract(tmp_path):
    trt = TensorRTOptions(cache_dir=str(tmp_path))
    fp32 = trt.to_ort(IOContract(precision="fp32"))
    assert fp32["trt_fp16_enable"] == "0" and fp32["trt_int8_enable"] == "0"
    assert fp32["trt_engine_cache_enable"] == "1" and fp32["trt_timing_cache_enable"] == "1"
    assert fp32["trt_engine_cache_path"] == str(tmp_path)
    assert fp32["trt_profile_min_shapes"] == "image:1x3x8x8"
    assert fp32["trt_profile_opt_shapes"] == "image:1x3x720x1280"
    assert trt.to_ort(IOContract(precision="fp16"))["trt_fp16_enable"] == "1"
    assert trt.to_ort(IOContract(precision="int8"))["trt_int8_enable"] == "1"
    fixed = IOContract(input_shape=(1, 3, 320, 480))
    lo, opt, hi = trt.profile_shapes(fixed)
    assert lo == opt == hi == "image:1x3x320x480"
    assert TensorRTOptions(fp16=True).to_ort(IOContract())["trt_fp16_enable"] == "1"
    with pytest.raises(ConfigError):
        TensorRTOptions(opt_size=(2000, 2000))


def test_openvino_precision_goes_through_load_config():
    opts = OpenVINOOptions(precision="bf16", num_threads=2).to_ort()
    assert "precision" not in opts and opts["device_type"] == "CPU"
    assert json.loads(opts["load_config"]) == {
        "CPU": {"INFERENCE_PRECISION_HINT": "bf16", "INFERENCE_NUM_THREADS": "2"}}
    with pytest.raises(ConfigError):
        OpenVINOOptions(precision="int4")


class _FakeDevice:
    def __init__(self, ep_name, ov_device=None):
        self.ep_name = ep_name
        self.ep_metadata = {"ov_device": ov_device} if ov_device else {"version": "1.32.0"}


class _Fail(Exception):
    """Stands in for onnxruntime.capi.onnxruntime_pybind11_state.Fail."""


class _FakeOrt:
    """Enough of onnxruntime's plugin API for the OpenVINO path, behaving as ORT 1.32 does with
    onnxruntime-ep-openvino 1.8.1 (observed on a real install): a second registration under one
    name raises Fail; once registered, the plugin's devices appear in get_ep_devices() *and* its
    EP name in get_available_providers() (only when it found a device)."""

    __version__ = "1.32.0"

    def __init__(self, plugin_devices, *, delay=0.0):
        self.plugin_devices, self.delay = plugin_devices, delay
        self.registered, self.names = [], set()

    def get_available_providers(self):
        extra = ["OpenVINOExecutionProvider"] if self.names and self.plugin_devices else []
        return ["AzureExecutionProvider", "CPUExecutionProvider", *extra]

    def register_execution_provider_library(self, name, path):
        if name in self.names:
            raise _Fail(f"[ONNXRuntimeError] : 1 : FAIL : EP library is already registered under {name}")
        time.sleep(self.delay)  # loading the library takes a while: widens any race
        self.names.add(name)
        self.registered.append((name, path))

    def get_ep_devices(self):
        cpu = [_FakeDevice("CPUExecutionProvider")]
        return cpu + (list(self.plugin_devices) if self.names else [])


class _FakeOptions:
    def __init__(self):
        self.added = []

    def add_provider_for_devices(self, devices, options):
        self.added.append((devices, options))


@pytest.fixture()
def fake_plugin(monkeypatch):
    import sys
    import types

    from edgederain.runtime import placement

    mod = types.ModuleType("onnxruntime_ep_openvino")
    mod.get_library_path = lambda: "/fake/libplugin.so"
    mod.get_ep_name = lambda: "OpenVINOExecutionProvider"
    monkeypatch.setitem(sys.modules, "onnxruntime_ep_openvino", mod)
    return placement


def _ov_devices():
    return [_FakeDevice("OpenVINOExecutionProvider", "CPU"), _FakeDevice("OpenVINOExecutionProvider.AUTO", "CPU")]


def test_openvino_plugin_is_registered_and_added_to_the_session_options(fake_plugin):
    ort_fake = _FakeOrt(_ov_devices())
    opts = _FakeOptions()
    config = ProviderConfig.for_provider("openvino", openvino=OpenVINOOptions(precision="bf16"))
    plan = fake_plugin.plan_placement(ort_fake, config, IOContract(), opts)
    assert ort_fake.registered == [("edgederain_openvino", "/fake/libplugin.so")]
    (devices, options), = opts.added
    assert len(devices) == 1 and json.loads(options["load_config"])["CPU"]["INFERENCE_PRECISION_HINT"] == "bf16"
    assert plan.openvino_plugin and fake_plugin.session_providers(plan) == []
    assert plan.requested == (Provider.OPENVINO, Provider.CPU)


def test_every_openvino_session_reuses_the_one_registration(fake_plugin):
    """The second session used to see the plugin's EP among the available providers, take it for
    the built-in one, ask for it by name, and get a CPU-only session."""
    ort_fake = _FakeOrt(_ov_devices())
    config = ProviderConfig.for_provider("openvino")
    for _ in range(3):
        opts = _FakeOptions()
        plan = fake_plugin.plan_placement(ort_fake, config, IOContract(), opts)
        assert plan.openvino_plugin and fake_plugin.session_providers(plan) == []
        assert [d.ep_name for d in opts.added[0][0]] == ["OpenVINOExecutionProvider"]
    assert len(ort_fake.registered) == 1


def test_openvino_registration_is_thread_safe(fake_plugin):
    ort_fake = _FakeOrt(_ov_devices(), delay=0.05)
    config = ProviderConfig.for_provider("openvino")
    plans, errors = [], []

    def place():
        try:
            plans.append(fake_plugin.plan_placement(ort_fake, config, IOContract(), _FakeOptions()))
        except Exception as exc:  # noqa: BLE001 - collected for the assertion
            errors.append(exc)

    threads = [threading.Thread(target=place) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == [] and len(plans) == 6 and all(p.openvino_plugin for p in plans)
    assert len(ort_fake.registered) == 1


def test_a_plugin_registered_by_the_application_is_used_as_is(fake_plugin):
    ort_fake = _FakeOrt(_ov_devices())
    ort_fake.register_execution_provider_library("app_openvino", "/fake/libplugin.so")
    opts = _FakeOptions()
    plan = fake_plugin.plan_placement(ort_fake, ProviderConfig.for_provider("openvino"), IOContract(), opts)
    assert plan.openvino_plugin and len(opts.added) == 1
    assert [name for name, _ in ort_fake.registered] == ["app_openvino"]


def test_a_registration_already_made_under_our_name_counts(fake_plugin):
    ort_fake = _FakeOrt([])
    ort_fake.register_execution_provider_library("edgederain_openvino", "/fake/libplugin.so")
    allowed = ProviderConfig.for_provider("openvino", allow_fallback=True)
    for _ in range(2):
        plan = fake_plugin.plan_placement(ort_fake, allowed, IOContract(), _FakeOptions())
        assert plan.requested == (Provider.CPU,) and "found no CPU device" in plan.dropped[0][1]


def test_openvino_plugin_without_a_supported_device(fake_plugin):
    ort_fake = _FakeOrt([])
    config = ProviderConfig.for_provider("openvino")
    with pytest.raises(ProviderError, match="found no CPU device"):
        fake_plugin.plan_placement(ort_fake, config, IOContract(), _FakeOptions())
    allowed = ProviderConfig.for_provider("openvino", allow_fallback=True)
    plan = fake_plugin.plan_placement(ort_fake, allowed, IOContract(), _FakeOptions())
    assert plan.requested == (Provider.CPU,) and plan.dropped[0][0] is Provider.OPENVINO
    assert fake_plugin.session_providers(plan) == [("CPUExecutionProvider", {})]
    assert len(ort_fake.registered) == 1


@pytest.mark.parametrize(
    "provider, want, unwanted",
    [
        (Provider.OPENVINO, "OpenVINO", ("CUDA", "TensorRT", "GPU")),
        (Provider.CUDA, "cuDNN", ("TensorRT", "OpenVINO")),
        (Provider.TENSORRT, "TensorRT libraries", ("OpenVINO",)),
    ],
)
def test_inactive_provider_message_fits_the_provider(provider, want, unwanted):
    placement = Placement(((provider.ort_name, {}),), (provider, Provider.CPU))
    with pytest.raises(ProviderError) as info:
        check_active(["CPUExecutionProvider"], placement, ProviderConfig.for_provider(provider))
    text = str(info.value)
    assert f"{provider.value!r} did not become active" in text and want in text
    assert not any(word in text for word in unwanted), text
