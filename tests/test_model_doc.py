"""docs/model.md's parameter tables are the code's counts, and the anchors the code cites exist."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from edgederain.model import RainAutoencoder, build_model, get_preset
from edgederain.model.summary import count_parameters

REPO = Path(__file__).resolve().parents[1]
DOC = (REPO / "docs" / "model.md").read_text(encoding="utf-8")


def _section(title: str) -> str:
    return DOC.split(f"\n## {title}\n", 1)[1].split("\n## ", 1)[0]


def _table(section: str) -> list[list[str]]:
    rows = [line.strip("|").split("|") for line in section.splitlines() if line.startswith("|")]
    return [[cell.strip() for cell in row] for row in rows[2:]]


def _count(cell: str) -> int:
    return int(cell.strip("*").replace(",", ""))


@pytest.mark.parametrize("title, network", [
    ("The derain network", lambda: build_model("thesis")),
    ("The rain autoencoder", lambda: RainAutoencoder(get_preset("thesis"))),
])
def test_layer_tables_match_the_code(title, network):
    net = network()
    rows = _table(_section(title))
    modules = [(row[0].strip("`"), _count(row[-1])) for row in rows if row[0]]
    assert len(modules) >= 6
    for name, documented in modules:
        assert count_parameters(net.get_submodule(name)) == documented, name
    (total,) = [_count(row[-1]) for row in rows if not row[0]]
    assert total == count_parameters(net) == sum(n for _, n in modules)


def test_preset_table_matches_the_code():
    from dataclasses import replace

    counts = {"`thesis` with `decoder_ca = False`": replace(get_preset("thesis"), decoder_ca=False)}
    for row in _table(_section("Parameter count")):
        config = counts.get(row[0]) or get_preset(row[0].strip("`"))
        assert count_parameters(build_model(config)) == _count(row[2]), row[0]


def test_lstm_cell_counts_in_the_text_match_the_code():
    net = build_model("thesis-lstm")
    cells = [count_parameters(b.lstm) for b in net.encoder.blocks]
    text = " ".join(_section("Layered-LSTM variant").split())
    assert ", ".join(f"{c:,}" for c in cells[:3]) + f" and {cells[3]:,}" in text
    assert f"{sum(cells):,}" in text and f"{count_parameters(net):,}" in text
    assert f"{count_parameters(net.encoder.stem):,}" in text


def _anchor(title: str) -> str:
    return re.sub(r"[^a-z0-9 -]", "", title.lower()).replace(" ", "-")


def test_every_pointer_into_model_md_names_a_section():
    anchors = {_anchor(t) for t in re.findall(r"^#{2,3} (.+)$", DOC, flags=re.M)}
    cited = set()
    for path in [*(REPO / "edgederain").rglob("*.py"), *(REPO / "tests").glob("*.py"), REPO / "docs" / "model.md"]:
        cited |= set(re.findall(r"model\.md#([a-z0-9-]+)", path.read_text(encoding="utf-8")))
    assert len(cited) >= 5
    assert cited <= anchors, sorted(cited - anchors)
