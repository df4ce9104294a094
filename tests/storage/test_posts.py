"""Post rows: one per (artwork, platform), moved only along the publish state machine."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import text

from storage.db import Database
from storage.errors import NotFoundError
from storage.files import ImageStore
from storage.models import PostState
from storage.repository import (
    PostStateConflict,
    count_posts,
    ensure_post,
    get_post,
    interrupted_posts_to_unknown,
    mark_failed,
    mark_not_sent,
    mark_posted,
    mark_posting,
    mark_unknown,
    posts_in_states,
    recent_posts_in_states,
)
from tests.fakes import store_sample_artwork


@pytest.fixture
def artwork_id(db: Database, tmp_path: Path) -> int:
    artwork = store_sample_artwork(db, ImageStore(tmp_path))
    assert artwork.id is not None
    return artwork.id


def test_ensure_post_creates_one_pending_row(db: Database, artwork_id: int) -> None:
    first = ensure_post(db, artwork_id, "twitter")
    again = ensure_post(db, artwork_id, "twitter")
    assert first == again and first.state == PostState.PENDING and first.attempts == 0
    assert get_post(db, artwork_id, "instagram") is None
    with pytest.raises(NotFoundError):
        ensure_post(db, 999, "twitter")


def test_the_happy_path_counts_attempts_and_records_where_it_landed(
    db: Database, artwork_id: int
) -> None:
    post = ensure_post(db, artwork_id, "twitter")
    assert mark_posting(db, post.id).state == PostState.POSTING
    assert mark_not_sent(db, post.id, error="503").state == PostState.PENDING
    mark_posting(db, post.id)
    done = mark_posted(db, post.id, remote_id="186", url="https://x.com/i/web/status/186")
    assert done.state == PostState.POSTED and done.attempts == 2
    assert done.remote_id == "186" and done.last_error is None and done.posted_at is not None


def test_posting_is_refused_from_any_state_not_allowed(db: Database, artwork_id: int) -> None:
    post = ensure_post(db, artwork_id, "twitter")
    mark_posting(db, post.id)
    # A second process cannot take a row that is already being posted.
    with pytest.raises(PostStateConflict, match="is posting"):
        mark_posting(db, post.id)
    mark_posted(db, post.id, remote_id="1", url=None)
    with pytest.raises(PostStateConflict):
        mark_posting(db, post.id, allowed_from=(PostState.PENDING, PostState.FAILED))
    assert mark_posting(db, post.id, allowed_from=(PostState.POSTED,)).attempts == 2


def test_failed_and_unknown(db: Database, artwork_id: int) -> None:
    post = ensure_post(db, artwork_id, "twitter")
    mark_posting(db, post.id)
    assert mark_unknown(db, post.id, error="timeout").state == PostState.UNKNOWN
    assert mark_failed(db, post.id, error="gave up").last_error == "gave up"
    listed = posts_in_states(db, [PostState.FAILED, PostState.UNKNOWN])
    assert [p.id for p in listed] == [post.id]


def test_interrupted_posts_become_unknown(db: Database, artwork_id: int) -> None:
    twitter = ensure_post(db, artwork_id, "twitter")
    instagram = ensure_post(db, artwork_id, "instagram")
    mark_posting(db, twitter.id)
    moved = interrupted_posts_to_unknown(db, error="the process stopped")
    assert [p.id for p in moved] == [twitter.id]
    assert get_post(db, artwork_id, "twitter").state == PostState.UNKNOWN  # type: ignore[union-attr]
    assert get_post(db, artwork_id, "instagram") == instagram


def test_counts_and_the_attention_list_read_the_state_index(db: Database, tmp_path: Path) -> None:
    store = ImageStore(tmp_path)
    ids = []
    for seed in range(1, 5):
        artwork = store_sample_artwork(db, store, seed=seed)
        assert artwork.id is not None
        ids.append(ensure_post(db, artwork.id, "twitter").id)
    for post_id in ids[:3]:
        mark_failed(db, mark_posting(db, post_id).id, error="refused")
    assert count_posts(db) == {("twitter", PostState.FAILED): 3, ("twitter", PostState.PENDING): 1}
    newest = recent_posts_in_states(db, [PostState.FAILED], limit=2)
    assert [p.id for p in newest] == [ids[2], ids[1]]
    assert len(recent_posts_in_states(db, [PostState.FAILED], limit=None)) == 3
    # Without the index each of these reads every row of `posts` (100k+ in a large archive).
    with db.engine.connect() as connection:
        for query in (
            "SELECT platform, state, count(*) FROM posts GROUP BY state, platform",
            "SELECT id FROM posts WHERE state IN ('failed', 'unknown') ORDER BY updated_at DESC",
        ):
            plan = " ".join(
                str(row[-1]) for row in connection.execute(text(f"EXPLAIN QUERY PLAN {query}"))
            )
            assert "ix_posts_state_platform" in plan, plan
