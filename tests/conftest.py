"""Shared fixtures: paths to the read-only data beside the checkout (skip when absent)."""

from __future__ import annotations

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"


@pytest.fixture(scope="session")
def rain100l_dir() -> Path:
    """``../shared/data/rain100l`` (rainy/ + clean/), or skip."""
    d = SHARED_DATA / "rain100l"
    if not (d / "rainy").is_dir() or not (d / "clean").is_dir():
        pytest.skip("Rain100L not available at ../shared/data/rain100l")
    return d


@pytest.fixture(scope="session")
def backgrounds_dir() -> Path:
    """``../shared/data/backgrounds`` (clean photos for synthetic rain), or skip."""
    d = SHARED_DATA / "backgrounds"
    if not d.is_dir():
        pytest.skip("backgrounds not available at ../shared/data/backgrounds")
    return d
