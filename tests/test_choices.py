"""Each list of choices is defined once (edgederain.choices); the command line offers exactly it."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from edgederain import choices
from edgederain.errors import ConfigError

PACKAGE = Path(__file__).resolve().parents[1] / "edgederain"
LISTS = {k: frozenset(v) for k, v in vars(choices).items() if k.isupper() and isinstance(v, tuple)}


def _strings(nodes) -> frozenset[str] | None:
    if len(nodes) >= 2 and all(isinstance(n, ast.Constant) and isinstance(n.value, str) for n in nodes):
        return frozenset(n.value for n in nodes)
    return None


def _spelled_lists(source: str) -> set[str]:
    """Names of the choice lists that ``source`` spells out: as a ``Literal[...]``, a tuple, list
    or set of strings, or a string Enum's member values."""
    found = set()
    for node in ast.walk(ast.parse(source)):
        values = None
        if isinstance(node, (ast.Tuple, ast.List, ast.Set)):
            values = _strings(node.elts)
        elif isinstance(node, ast.ClassDef):  # an Enum's members (methods and docstring aside)
            values = _strings([s.value for s in node.body if isinstance(s, ast.Assign)])
        found |= {name for name, members in LISTS.items() if values == members}
    return found


def test_the_scanner_sees_every_way_of_spelling_a_list():
    assert _spelled_lists('P = Literal["fp32", "fp16", "int8"]') == {"PRECISIONS"}
    assert _spelled_lists('if x not in ("dynamo", "torchscript"): pass') == {"EXPORTERS"}
    assert _spelled_lists('class D(str, Enum):\n    """Doc."""\n    a = "abs"\n    s = "signed"\n') == {"DIFF_MODES"}
    assert _spelled_lists('X = ("fp32", "int8")\nY = ("abs",)') == set()


def test_no_module_spells_a_choice_list_of_its_own():
    spelled = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(PACKAGE).as_posix()
        if rel != "choices.py":
            lists = _spelled_lists(path.read_text(encoding="utf-8"))
            if lists:
                spelled[rel] = sorted(lists)
    assert spelled == {}, f"import these from edgederain.choices instead: {spelled}"


def test_each_choice_type_and_tuple_agree():
    from typing import get_args

    for name in ("Precision", "Exporter", "UpsampleChoice", "CalibMethod", "ProviderName", "Layout"):
        values = get_args(getattr(choices, name))
        assert values in {getattr(choices, k) for k in LISTS}, name
    assert choices.UPSAMPLE_CHOICES == ("auto", *choices.UPSAMPLES)


def test_typer_choices_are_built_from_the_lists():
    from edgederain.commands import compare, export, runtime

    offered = {
        export.Fp16Converter: choices.FP16_BACKENDS, export.CalibMethod: choices.CALIB_METHODS,
        export.Int8Scheme: choices.INT8_SCHEMES, export.Upsample: choices.UPSAMPLE_CHOICES,
        export.Exporter: choices.EXPORTERS,
        runtime.PrecisionChoice: choices.CLI_OPENVINO_PRECISIONS, runtime.PolicyChoice: choices.POLICIES,
        compare.DiffChoice: choices.DIFF_MODES,
    }
    for enum_type, values in offered.items():
        assert tuple(m.value for m in enum_type) == values
        assert all(isinstance(m, str) and m == m.value for m in enum_type)  # typer needs str members
    assert export.Upsample.auto.value == "auto" and runtime.PrecisionChoice.f32.value == "f32"
    providers = tuple(m.value for m in runtime.ProviderChoice)  # the providers, then CLI-only modes
    assert providers[: len(choices.PROVIDERS)] == choices.PROVIDERS and set(providers[len(choices.PROVIDERS):]) <= {"auto"}


def test_modules_reexport_the_shared_lists_under_their_old_names():
    from edgederain import compare, io
    from edgederain.calibration import quantize
    from edgederain.onnxgraph import nodes
    from edgederain.export import fp16
    from edgederain.runtime import providers
    from edgederain.train import config

    assert quantize.METHODS is choices.CALIB_METHODS and quantize.SCHEMES is choices.INT8_SCHEMES
    assert quantize.Method is choices.CalibMethod and quantize.Scheme is choices.Int8Scheme
    assert nodes.KEEP_GROUPS is quantize.KEEP_GROUPS is choices.KEEP_GROUPS
    assert nodes.KeepGroup is choices.KeepGroup and io.Policy is choices.Policy
    assert compare.DIFF_MODES is choices.DIFF_MODES and compare.DiffMode is choices.DiffMode
    assert fp16.FP16_BACKENDS is choices.FP16_BACKENDS and fp16.Fp16Backend is choices.Fp16Backend
    assert providers.OVPrecision is choices.OpenVINOPrecision
    assert (config.STAGES, config.Stage, config.Amp, config.Device) == (
        choices.STAGES, choices.Stage, choices.Amp, choices.Device)


def test_provider_members_follow_the_priority_order():
    from edgederain.runtime.providers import ORDER, Provider, parse_provider

    assert sorted(choices.PROVIDER_PRIORITY) == sorted(choices.PROVIDERS)
    assert tuple(Provider) == ORDER and tuple(p.value for p in Provider) == choices.PROVIDER_PRIORITY
    assert all(p.name == p.value.upper() and isinstance(p, str) for p in Provider)
    assert Provider("cuda") is Provider.CUDA and Provider.CUDA.ort_name == "CUDAExecutionProvider"
    assert Provider.TENSORRT.is_gpu and not Provider.OPENVINO.is_gpu
    assert Provider.__module__ == "edgederain.runtime.providers" and "execution provider" in Provider.__doc__
    with pytest.raises(ConfigError) as info:
        parse_provider("rocm")
    assert "choose one of ['tensorrt', 'cuda', 'openvino', 'cpu', 'auto']" in str(info.value)


@pytest.mark.parametrize("module, cls, field, value, message", [
    ("runtime.providers", "OpenVINOOptions", "precision", "f64", "must be f32, bf16 or f16, got 'f64'"),
    ("train.config", "TrainConfig", "amp", "fp16", "amp must be one of ('off', 'bf16'), got 'fp16'"),
    ("train.config", "TrainConfig", "device", "mps", "device must be one of ('auto', 'cpu', 'cuda'), got 'mps'"),
    ("train.config", "TrainConfig", "clean_side", "top", "clean_side must be one of ('left', 'right'), got 'top'"),
    ("train.config", "TrainConfig", "stage", "all", "stage must be one of ('both', 'ae', 'derain'), got 'all'"),
])
def test_messages_built_from_the_shared_lists_read_as_before(module, cls, field, value, message):
    import importlib

    config_type = getattr(importlib.import_module(f"edgederain.{module}"), cls)
    with pytest.raises(ConfigError) as info:
        config_type(**{field: value})
    assert message in str(info.value)


@pytest.mark.parametrize("field, value, message", [
    ("precision", "bf16", "precision must be one of ('fp32', 'fp16', 'int8'), got 'bf16'"),
    ("exporter", "jit", "exporter must be 'dynamo' or 'torchscript', got 'jit'"),
    ("fp16_backend", "x", "fp16_backend must be 'ort' or 'onnxconverter', got 'x'"),
    ("upsample", "bilinear", "upsample must be one of ('auto', 'resize', 'subpixel'), got 'bilinear'"),
])
def test_export_config_refuses_values_off_the_list(field, value, message):
    from edgederain.errors import ExportError
    from edgederain.export.config import ExportConfig

    with pytest.raises(ExportError) as info:
        ExportConfig(**{field: value})
    assert str(info.value) == message


def test_contract_and_packaged_models_use_the_same_precisions():
    from edgederain.contract import IOContract
    from edgederain.errors import ContractError
    from edgederain.weights import model_file

    with pytest.raises(ContractError, match=r"precision must be one of \('fp32', 'fp16', 'int8'\)"):
        IOContract(precision="bf16")
    with pytest.raises(ValueError, match=r"precision must be one of \('fp32', 'fp16', 'int8'\)"):
        model_file("bf16")
