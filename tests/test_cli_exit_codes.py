"""The entry point's exit-code convention: 0 ok, 1 gate failed, 2 usage/input error, 3 internal error."""

from __future__ import annotations

import pytest

import edgederain.model
from edgederain.cli import run
from edgederain.errors import ConfigError, GateError


def invoke(argv: list[str], capsys) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exited:
        run(argv)
    captured = capsys.readouterr()
    return exited.value.code, captured.out, captured.err


def _raise(exc: BaseException):
    def fail(*args, **kwargs):
        raise exc

    return fail


@pytest.fixture(autouse=True)
def crash_home(tmp_path, monkeypatch):
    """Crash reports go under this test's own folder."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    return tmp_path / "cache" / "edgederain"


def test_success_is_0(capsys):
    code, out, _ = invoke(["--version"], capsys)
    assert code == 0 and out.startswith("edgederain ")


def test_usage_error_is_2(capsys):
    code, _, err = invoke(["model-info", "--no-such-option"], capsys)
    assert code == 2 and "--no-such-option" in err


def test_input_error_is_2_in_one_line(capsys):
    code, _, err = invoke(["model-info", "--variant", "thesys"], capsys)
    assert code == 2
    assert err.strip().startswith("error: ") and "thesis" in err and len(err.strip().splitlines()) == 1
    assert "Traceback" not in err


def test_our_error_raised_outside_a_command_guard_is_still_2(capsys, monkeypatch):
    from edgederain.commands import model as model_cmd

    monkeypatch.setattr(model_cmd, "user_errors", _raise_nothing)
    monkeypatch.setattr(edgederain.model, "get_preset", _raise(ConfigError("no such preset; use thesis")))
    code, _, err = invoke(["model-info"], capsys)
    assert code == 2 and err.strip() == "error: no such preset; use thesis"


def test_gate_error_is_1(capsys, monkeypatch):
    monkeypatch.setattr(edgederain.model, "get_preset", _raise(GateError("gate x failed: 3 dB < 60 dB")))
    code, _, err = invoke(["model-info"], capsys)
    assert code == 1 and err.strip() == "FAIL: gate x failed: 3 dB < 60 dB"


def test_missing_dependency_is_2_with_the_extra(capsys, monkeypatch):
    monkeypatch.setattr(edgederain.model, "get_preset", _raise(ModuleNotFoundError("no torch", name="torch")))
    code, _, err = invoke(["model-info"], capsys)
    assert code == 2 and "edgederain[train]" in err


def test_internal_error_is_3_with_a_saved_traceback(capsys, monkeypatch, crash_home):
    monkeypatch.setattr(edgederain.model, "get_preset", _raise(RuntimeError("boom at step 7")))
    code, out, err = invoke(["model-info", "--variant", "tiny"], capsys)
    assert code == 3
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in err
    assert "RuntimeError: boom at step 7" in lines[0]
    reports = list(crash_home.glob("edgederain-crash-*.txt"))
    assert len(reports) == 1 and str(reports[0]) in lines[0]
    text = reports[0].read_text()
    assert "Traceback (most recent call last)" in text and "RuntimeError: boom at step 7" in text
    assert "command: edgederain model-info --variant tiny" in text


def test_internal_error_falls_back_to_the_temp_folder(capsys, monkeypatch, tmp_path):
    blocked = tmp_path / "not-a-folder"
    blocked.write_text("a file where the cache folder would go")
    monkeypatch.setenv("XDG_CACHE_HOME", str(blocked))
    monkeypatch.setattr("tempfile.tempdir", str(tmp_path / "tmp"))
    (tmp_path / "tmp").mkdir()
    monkeypatch.setattr(edgederain.model, "get_preset", _raise(RuntimeError("boom")))
    code, _, err = invoke(["model-info"], capsys)
    reports = list((tmp_path / "tmp").glob("edgederain-crash-*.txt"))
    assert code == 3 and len(reports) == 1 and str(reports[0]) in err


def test_ctrl_c_is_130(capsys, monkeypatch):
    monkeypatch.setattr(edgederain.model, "get_preset", _raise(KeyboardInterrupt()))
    code, _, _ = invoke(["model-info"], capsys)
    assert code == 130


class _raise_nothing:
    """Stands in for ``user_errors``: lets every exception through to the entry point."""

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False
