"""scripts/interpolate_weights.py: the line between two checkpoints of one network."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from edgederain.model import build_model
from edgederain.model.config import get_preset
from edgederain.train.checkpoint import read_checkpoint, save_checkpoint
from benchmark_module import load_script

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def tool():
    return load_script("interpolate_weights")


def _checkpoint(path: Path, seed: int, preset: str = "tiny") -> Path:
    torch.manual_seed(seed)
    model = build_model(get_preset(preset))
    for m in model.modules():  # BatchNorm statistics differ too
        if isinstance(m, torch.nn.BatchNorm2d):
            m.running_mean.uniform_(-1, 1)
            m.num_batches_tracked.fill_(seed)
    return save_checkpoint(path, model, stage="derain", step=seed)


@pytest.mark.parametrize("alpha", [0.0, 0.5, 1.0])
def test_interpolates_every_float_tensor(tool, tmp_path, alpha):
    a, b = _checkpoint(tmp_path / "a.pt", 1), _checkpoint(tmp_path / "b.pt", 2)
    out = tmp_path / "mix.pt"
    assert tool.main([str(a), str(b), str(alpha), str(out)]) == 0
    sa, sb, mix = (read_checkpoint(p)["model"] for p in (a, b, out))
    for key, t in mix.items():
        if t.is_floating_point():
            torch.testing.assert_close(t, (1 - alpha) * sa[key] + alpha * sb[key])
        else:
            assert torch.equal(t, sb[key])
    assert read_checkpoint(out)["interpolated"]["alpha"] == alpha
    assert any(not torch.equal(sa[k], sb[k]) for k in sa)  # the two ends differ


def test_refuses_two_different_networks(tool, tmp_path):
    a, b = _checkpoint(tmp_path / "a.pt", 1), _checkpoint(tmp_path / "b.pt", 2, preset="lite")
    with pytest.raises(SystemExit, match="different networks|shapes"):
        tool.main([str(a), str(b), "0.5", str(tmp_path / "mix.pt")])


@pytest.mark.parametrize("order", ["plain-first", "veil-first"])
def test_grows_the_smaller_network_onto_the_larger(tool, tmp_path, order):
    from edgederain.model.grow import grow_network
    from edgederain.train.checkpoint import load_derain_model

    plain = _checkpoint(tmp_path / "plain.pt", 1)
    grown = grow_network(load_derain_model(plain)[0], get_preset("tiny-veil"), seed=7)
    for p in grown.veil.parameters():  # the veil run trained its head away from the identity
        p.data.add_(0.05)
    veil = save_checkpoint(tmp_path / "veil.pt", grown, stage="derain", step=2)
    a, b = (plain, veil) if order == "plain-first" else (veil, plain)
    out = tmp_path / "mix.pt"
    assert tool.main([str(a), str(b), "0.5", str(out), "--grow-seed", "7"]) == 0
    mix, _ = load_derain_model(out)
    assert mix.config.veil
    # the plain end was grown with the same seed, so its new head is the veil run's start; the mix
    # of the head lies halfway between that start and the trained head
    start = grow_network(load_derain_model(plain)[0], get_preset("tiny-veil"), seed=7).state_dict()
    trained = grown.state_dict()
    for key in ("veil.fc1.weight", "veil.fc2.weight"):
        torch.testing.assert_close(mix.state_dict()[key], 0.5 * start[key] + 0.5 * trained[key])


def test_refuses_networks_that_only_growing_could_not_join(tool, tmp_path):
    a = _checkpoint(tmp_path / "a.pt", 1, preset="tiny-veil")
    b = _checkpoint(tmp_path / "b.pt", 2, preset="lite")
    with pytest.raises(SystemExit, match="neither is the other"):
        tool.main([str(a), str(b), "0.5", str(tmp_path / "mix.pt")])
