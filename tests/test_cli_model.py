"""``edgederain model-info``."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from edgederain.cli import app


def test_model_info_json_reports_parameters_macs_and_blocks():
    r = CliRunner().invoke(app, ["model-info", "--variant", "thesis", "--json"])
    assert r.exit_code == 0, r.output
    info = json.loads(r.stdout)
    assert info["parameters"] == 2_877_840
    assert info["input"] == [1, 3, 320, 480]
    assert 45 < info["gmacs"] < 55
    names = [b["name"] for b in info["blocks"]]
    assert names[0] == "encoder.stem" and names[-1] == "head"
    assert sum(b["parameters"] for b in info["blocks"]) == info["parameters"]
    assert sum(b["macs"] for b in info["blocks"]) == info["macs"]


def test_model_info_table_and_unknown_variant():
    runner = CliRunner()
    r = runner.invoke(app, ["model-info", "--variant", "tiny"])
    assert r.exit_code == 0 and "total" in r.stdout and "178,998" in r.stdout
    r = runner.invoke(app, ["model-info", "--variant", "nope"])
    assert r.exit_code == 2 and "unknown model preset" in r.output
