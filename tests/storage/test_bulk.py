"""Bulk inserts (for benchmarks and imports) write rows the repository reads back."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest

from core.artwork import Artwork
from storage.bulk import ArchivedPost, ArchivedRun, insert_artworks, insert_posts, insert_runs
from storage.db import Database
from storage.models import PostState, RunStatus
from storage.repository import get_artwork, last_run, list_artworks, posts_for_artwork
from tests.storage.samples import make_artwork


def artwork(seed: int, **values: Any) -> Artwork:
    """An archived artwork: its image under artworks/2024/05/, created then."""
    archived: dict[str, Any] = {
        "image_path": Path(f"artworks/2024/05/{seed}.png"),
        "image_sha256": "0" * 64,
        "created_at": datetime(2024, 5, 1, tzinfo=UTC),
    }
    return make_artwork(seed, **{**archived, **values})


def test_bulk_rows_read_back_through_the_repository(tmp_path: Path) -> None:
    db = Database.open(f"sqlite:///{tmp_path / 'kavi.db'}")
    first = insert_artworks(db, [artwork(1)])
    ids = insert_artworks(db, (artwork(seed) for seed in range(2, 7002)))
    assert first == [1] and ids == list(range(2, 7002))
    assert get_artwork(db, 5).image_path == Path("artworks/2024/05/5.png")
    assert [a.id for a in list_artworks(db, limit=2)] == [7001, 7000]
    when = datetime(2024, 5, 1, tzinfo=UTC)
    insert_posts(db, [ArchivedPost(5, "twitter", PostState.POSTED, 1, when, "42", posted_at=when)])
    insert_runs(
        db,
        [ArchivedRun("scheduled", False, date(2024, 5, 1), RunStatus.SUCCEEDED, when, when, 5)],
    )
    (post,) = posts_for_artwork(db, 5)
    assert post.state == PostState.POSTED and post.remote_id == "42"
    run = last_run(db)
    assert run is not None and run.artwork_id == 5 and run.status == RunStatus.SUCCEEDED
    db.close()


def test_an_artwork_without_its_files_is_refused(tmp_path: Path) -> None:
    db = Database.open(f"sqlite:///{tmp_path / 'kavi.db'}")
    with pytest.raises(ValueError, match="write its files before inserting its row"):
        insert_artworks(db, [artwork(1, image_path=None)])
    assert list_artworks(db) == []
    db.close()
