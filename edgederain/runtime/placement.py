"""Placing a model on execution providers: availability before the session exists, OpenVINO plugin
registration, and the check after creation that what was requested is really active.

The OpenVINO plugin (``onnxruntime-ep-openvino``) is registered with ONNX Runtime once per
process (:func:`openvino_plugin_devices`, thread-safe); every session then adds the devices of
that one registration to its options (``SessionOptions.add_provider_for_devices``). ONNX Runtime
refuses a second registration under the same name, and after the first one it lists the plugin's
EP as *available*; asking for it by name in ``providers=`` then silently gives a CPU-only
session. So the plugin path is chosen whenever the plugin's devices are present.

Every decision here is recorded in a :class:`Placement` so a caller (and ``edgederain bench``) can
report which providers ran, with which options, and which were dropped and why.
"""

from __future__ import annotations

import platform
import threading
import weakref
from dataclasses import dataclass
from typing import Any

from edgederain.contract import IOContract
from edgederain.errors import ConfigError, MissingDependencyError, ProviderError
from edgederain.runtime.providers import Provider, ProviderConfig

PLUGIN_REGISTRATION = "edgederain_openvino"
# ONNX Runtime objects (the module, or a stand-in in tests) the plugin was registered with.
_registered: "weakref.WeakKeyDictionary[Any, str]" = weakref.WeakKeyDictionary()
_registration_lock = threading.Lock()


@dataclass(frozen=True)
class Placement:
    """What will be (``entries``) and what could not be (``dropped``) requested from ORT."""

    entries: tuple[tuple[str, dict[str, str]], ...]
    requested: tuple[Provider, ...]
    dropped: tuple[tuple[Provider, str], ...] = ()
    openvino_plugin: bool = False

    def options_for_report(self) -> dict[str, dict[str, str]]:
        return {name: dict(opts) for name, opts in self.entries}


def _cpu_vendor() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("vendor_id"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _ep_devices(ort: Any) -> list:
    """``ort.get_ep_devices()``; empty on onnxruntime < 1.23, which has no plugin API."""
    get = getattr(ort, "get_ep_devices", None)
    return list(get()) if get is not None else []


def _devices_of(ort: Any, ep_name: str, device: str) -> list:
    return [
        d for d in _ep_devices(ort)
        if d.ep_name == ep_name and d.ep_metadata.get("ov_device") == device
    ]


def _register_plugin(ort: Any) -> str:
    """Register the ``onnxruntime-ep-openvino`` library once per process; returns its EP name.

    Called with :data:`_registration_lock` held. ONNX Runtime refuses a second registration
    under the same name ("EP library is already registered"), so a registration made earlier
    in this process, by us or under our name by someone else, counts as done.
    """
    try:
        import onnxruntime_ep_openvino as plugin
    except ModuleNotFoundError:
        raise MissingDependencyError(
            "the OpenVINO provider needs the onnxruntime-ep-openvino plugin: "
            "pip install 'edgederain[openvino]' (or use the onnxruntime-openvino build)"
        ) from None
    if ort in _registered:
        return plugin.get_ep_name()
    if not hasattr(ort, "register_execution_provider_library"):
        raise ProviderError(
            f"onnxruntime {ort.__version__} cannot load provider plugins; upgrade to >= 1.23"
        )
    try:
        ort.register_execution_provider_library(PLUGIN_REGISTRATION, plugin.get_library_path())
    except Exception as exc:  # noqa: BLE001 - ORT raises its own Fail type
        if "already registered" not in str(exc).lower():
            raise ProviderError(
                f"could not load the OpenVINO plugin library ({exc}); reinstall it with "
                "pip install --force-reinstall onnxruntime-ep-openvino"
            ) from None
    _registered[ort] = PLUGIN_REGISTRATION
    return plugin.get_ep_name()


def openvino_plugin_devices(ort: Any, device: str = "CPU") -> list:
    """The OpenVINO plugin's devices of one kind (``"CPU"``...), registering the plugin first if
    this process has not. Thread-safe; sessions reuse the devices of the one registration."""
    ep_name = Provider.OPENVINO.ort_name
    with _registration_lock:
        devices = _devices_of(ort, ep_name, device)
        if devices or ort in _registered:
            return devices
        ep_name = _register_plugin(ort)
        return _devices_of(ort, ep_name, device)


def _builtin_openvino(ort: Any) -> bool:
    """The provider compiled into an ``onnxruntime-openvino`` build (not the plugin).

    Once the plugin is registered, ONNX Runtime lists its EP among the *available* providers
    too; asking for it by name then silently gives a CPU-only session, so a registered plugin
    (its devices present) always takes the plugin path.
    """
    name = Provider.OPENVINO.ort_name
    if ort in _registered or any(d.ep_name == name for d in _ep_devices(ort)):
        return False
    return name in ort.get_available_providers()


def _openvino_entry(ort: Any, config: ProviderConfig, session_options: Any) -> tuple[str, bool]:
    """Set up OpenVINO; returns (""  or the reason it is unavailable, whether the plugin is used)."""
    ov = config.openvino
    if _builtin_openvino(ort):
        return "", False
    try:
        devices = openvino_plugin_devices(ort, ov.device)
    except MissingDependencyError as exc:
        return str(exc), False
    if not devices:
        return (
            f"the OpenVINO plugin found no {ov.device} device it supports (it serves Intel "
            f"devices; this CPU reports vendor {_cpu_vendor()!r}); use the onnxruntime-openvino "
            "build instead of the plugin, or another provider",
            False,
        )
    session_options.add_provider_for_devices(devices, ov.to_ort())
    return "", True


PROVIDER_HINTS: dict[Provider, str] = {
    Provider.TENSORRT: (
        "check that the TensorRT libraries are installed and on the library path, and the "
        "NVIDIA driver (nvidia-smi) and CUDA libraries that onnxruntime-gpu needs"
    ),
    Provider.CUDA: (
        "check the NVIDIA driver (nvidia-smi) and that the CUDA and cuDNN libraries "
        "onnxruntime-gpu needs are installed and found"
    ),
    Provider.OPENVINO: (
        "check the OpenVINO install: the onnxruntime-ep-openvino plugin serves Intel devices "
        "only (elsewhere use the onnxruntime-openvino build, in its own environment) and its "
        "device must be present (OpenVINOOptions.device)"
    ),
    Provider.CPU: "the CPU provider is always built in; reinstall onnxruntime",
}


def _options_for(p: Provider, config: ProviderConfig, contract: IOContract) -> dict[str, str]:
    if p is Provider.TENSORRT:
        return config.tensorrt.to_ort(contract)
    if p is Provider.CUDA:
        return config.cuda.to_ort()
    if p is Provider.OPENVINO:
        return config.openvino.to_ort()
    return config.cpu.to_ort()


def plan_placement(
    ort: Any, config: ProviderConfig, contract: IOContract, session_options: Any
) -> Placement:
    """Decide the ORT provider list; raise :class:`ProviderError` for a missing provider unless
    ``config.allow_fallback`` (then it is dropped and recorded)."""
    if config.auto is not None:
        raise ConfigError(
            "provider 'auto' is chosen per model and machine: open the session with "
            "edgederain.runtime.auto.auto_session(model, config) (CLI: --provider auto), "
            "or name a provider"
        )
    available = set(ort.get_available_providers())
    entries: list[tuple[str, dict[str, str]]] = []
    dropped: list[tuple[Provider, str]] = []
    plugin = False
    for p in config.providers:
        if p is Provider.OPENVINO:
            reason, plugin = _openvino_entry(ort, config, session_options)
        elif p.ort_name not in available:
            reason = (
                f"{p.ort_name} is not available in this onnxruntime build "
                f"(available: {sorted(available)}); install onnxruntime-gpu for cuda/tensorrt"
            )
        else:
            reason = ""
        if reason:
            dropped.append((p, reason))
        elif not (p is Provider.OPENVINO and plugin):
            entries.append((p.ort_name, _options_for(p, config, contract)))
    _refuse_dropped(dropped, config)
    if plugin and entries and any(name != Provider.CPU.ort_name for name, _ in entries):
        raise ProviderError("the OpenVINO plugin cannot be combined with cuda/tensorrt; pick one")
    if plugin:
        entries = []  # the plugin lives in the session options; CPU is appended by ORT itself
        entries_report = ((Provider.OPENVINO.ort_name, config.openvino.to_ort()),)
    else:
        if not any(name == Provider.CPU.ort_name for name, _ in entries):
            entries.append((Provider.CPU.ort_name, config.cpu.to_ort()))
        entries_report = ()
    kept = tuple(p for p in config.providers if p not in {d for d, _ in dropped})
    return Placement(tuple(entries) + entries_report, kept, tuple(dropped), plugin)


def _refuse_dropped(dropped: list[tuple[Provider, str]], config: ProviderConfig) -> None:
    if dropped and not config.allow_fallback:
        p, reason = dropped[0]
        raise ProviderError(
            f"requested execution provider {p.value!r} is not available: {reason}. "
            "Pass allow_fallback=True (--allow-fallback) to run on the remaining providers"
        )


def session_providers(placement: Placement) -> list[tuple[str, dict[str, str]]]:
    """The ``providers=`` argument for ``InferenceSession`` (empty when the plugin is used)."""
    return [] if placement.openvino_plugin else list(placement.entries)


def check_active(active: list[str], placement: Placement, config: ProviderConfig) -> tuple[str, ...]:
    """Compare ``session.get_providers()`` with what was requested; raise unless fallback is allowed.

    Returns the reasons for each requested provider that did not activate (empty when all did).
    """
    missing = [p for p in placement.requested if p.ort_name not in active]
    reasons = tuple(
        f"{p.value}: requested but not active after session creation (active: {active})"
        for p in missing
    )
    if missing and not config.allow_fallback:
        raise ProviderError(
            f"execution provider {missing[0].value!r} did not become active (session runs on "
            f"{active}); {PROVIDER_HINTS[missing[0]]}, or pass allow_fallback=True "
            "(--allow-fallback) to accept this"
        )
    return reasons
