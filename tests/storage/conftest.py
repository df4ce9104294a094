"""A fresh migrated database and image store per storage test."""

from __future__ import annotations

from pathlib import Path

import pytest

from storage.db import Database
from storage.files import ImageStore


@pytest.fixture
def db(tmp_path: Path) -> Database:
    return Database.open(f"sqlite:///{tmp_path / 'kavi.db'}")


@pytest.fixture
def store(tmp_path: Path) -> ImageStore:
    return ImageStore(tmp_path)
