"""Each list of choices is defined once (edgederain.choices); the command line offers exactly it."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from edgederain import choices

PACKAGE = Path(__file__).resolve().parents[1] / "edgederain"
LISTS = {k: frozenset(v) for k, v in vars(choices).items() if k.isupper() and isinstance(v, tuple)}

# Modules that still spell a list of edgederain.choices themselves (file -> the lists). They are
# owned by other work in progress and switch to importing edgederain.choices next; nothing may
# be added here.
PENDING = {
    "calibration/nodes.py": {"KEEP_GROUPS"},
    "calibration/quantize.py": {"CALIB_METHODS", "INT8_SCHEMES"},
    "calibration/ranges.py": {"CALIB_METHODS"},
    "compare.py": {"DIFF_MODES"},
    "export/fp16.py": {"FP16_BACKENDS"},
    "export/onnx_export.py": {"EXPORTERS"},
    "io.py": {"POLICIES"},
    "runtime/auto.py": {"PRECISIONS", "CLI_OPENVINO_PRECISIONS"},
    "runtime/config.py": {"OPENVINO_PRECISIONS"},
    "runtime/providers.py": {"OPENVINO_PRECISIONS", "PROVIDERS"},
    "train/config.py": {"STAGES", "AMPS", "DEVICES", "SIDES"},
}


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
            if lists - PENDING.get(rel, set()):
                spelled[rel] = sorted(lists - PENDING.get(rel, set()))
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


def test_pending_modules_still_agree_with_the_lists():
    from typing import get_args

    from edgederain import io
    from edgederain.calibration import nodes, quantize
    from edgederain.runtime import providers

    assert quantize.METHODS == choices.CALIB_METHODS and quantize.SCHEMES == choices.INT8_SCHEMES
    assert nodes.KEEP_GROUPS == choices.KEEP_GROUPS
    assert get_args(io.Policy) == choices.POLICIES
    assert get_args(providers.OVPrecision) == choices.OPENVINO_PRECISIONS
    assert {p.value for p in providers.Provider} == set(choices.PROVIDERS)


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
