"""An archive for the gallery's tests: real small PNGs, rows over several months, posts."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest
from fastapi.testclient import TestClient
from PIL import Image

from bot.settings import Settings
from bot.web.app import create_app
from core.artwork import Artwork
from storage.bulk import ArchivedPost, insert_artworks, insert_posts
from storage.db import Database
from storage.files import ImageStore, png_bytes, sha256_hex
from storage.models import PostState
from tests.fakes import fake_settings

ADMIN_TOKEN = "admin-Sekr1t-token-for-tests"
BASE_URL = "https://kavi.example.org"
MOODS = ("love", "sadness", "fear")
START = datetime(2026, 1, 1, 12, tzinfo=UTC)
STEP = timedelta(days=3)
# What a language model might write: markup that must be shown, never run.
SCRIPT = "<script>document.title='pwned';window.__pwned=1</script>"
FAILED_ERROR = "X rejected the credentials (401) for kavi_poet"


@dataclass(frozen=True)
class Archive:
    data_dir: Path
    ids: list[int]

    def created(self, index: int) -> datetime:
        return START + STEP * index


def make_png(seed: int, size: int = 48) -> bytes:
    rng = np.random.default_rng(seed)
    return png_bytes(Image.fromarray(rng.integers(0, 255, (size, size, 3), dtype=np.uint8)))


def build_archive(data_dir: Path, count: int, *, script_at: int | None = None) -> Archive:
    """`count` artworks, one every 3 days from 2026-01-01, moods in turn; posts on some."""
    db = Database.open(f"sqlite:///{data_dir / 'kavi.db'}")  # migrated, as the service does
    store = ImageStore(data_dir)
    artworks = []
    for index in range(count):
        made = START + STEP * index
        data = make_png(index)
        path = store.save(Path("artworks") / f"{made:%Y}" / f"{made:%m}" / f"a{index}.png", data)
        poem = f"moon on the water {index}\na heron lifts the silence\nripples keep the sky"
        alt = f"A heron over moonlit water, number {index}."
        if index == script_at:
            poem = f'moon {SCRIPT} rising\nover <b>the</b> "reeds" & stones\nripples keep the sky'
            alt = f'heron"><img src=x onerror="window.__pwned=2">{SCRIPT}'
        artworks.append(
            Artwork(
                seed=1000 + index,
                poem=poem,
                poem_engine="grammar",
                prompt="moon over water",
                image_engine="procedural",
                mood=MOODS[index % len(MOODS)],
                style_engine="classic",
                caption=poem,
                alt_text=alt,
                image_path=path,
                image_sha256=sha256_hex(data),
                width=48,
                height=48,
                created_at=made,
            )
        )
    ids = insert_artworks(db, artworks)
    posts = []
    for index, artwork_id in enumerate(ids):
        if index % 5 == 0:
            posts.append(
                ArchivedPost(
                    artwork_id,
                    "twitter",
                    PostState.POSTED,
                    1,
                    START + STEP * index,
                    remote_id=f"tw{index}",
                    remote_url=f"https://x.com/kavi_poet/status/{index}",
                    posted_at=START + STEP * index,
                )
            )
        elif index % 5 == 1:
            posts.append(
                ArchivedPost(
                    artwork_id,
                    "twitter",
                    PostState.FAILED,
                    6,
                    START + STEP * index,
                    last_error=FAILED_ERROR,
                )
            )
    insert_posts(db, posts)
    db.close()
    return Archive(data_dir, ids)


def gallery_settings(data_dir: Path, **overrides: object) -> Settings:
    values: dict[str, object] = {"public_base_url": BASE_URL, "web_admin_token": ADMIN_TOKEN}
    values.update(overrides)
    return fake_settings(data_dir, "twitter", **values)


@pytest.fixture
def archive(data_dir: Path) -> Archive:
    return build_archive(data_dir, 60, script_at=59)


@pytest.fixture
def client(archive: Archive) -> Iterator[TestClient]:
    with TestClient(create_app(gallery_settings(archive.data_dir))) as test_client:
        yield test_client
