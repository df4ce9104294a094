"""Fixtures shared by the service's tests."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    """An empty DATA_DIR (CLI tests override it to also set the environment)."""
    path = tmp_path / "data"
    path.mkdir()
    return path
