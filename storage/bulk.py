"""Bulk inserts for building large archives (benchmarks, imports): one transaction per call.

`store_artwork` writes files and commits one row at a time, with an fsync per file; building
an archive of 100,000 artworks that way takes hours. These functions insert rows whose files
the caller has already written, in a few batched statements.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime
from itertools import islice
from typing import Any, TypeVar

from sqlalchemy import insert, select

from core.artwork import Artwork
from storage.db import Database
from storage.models import ArtworkRow, Base, PoemKeyRow, PostRow, PostState, RunRow, RunStatus

BATCH = 5000
T = TypeVar("T")


@dataclass(frozen=True)
class ArchivedPost:
    """A post row as a finished run leaves it."""

    artwork_id: int
    platform: str
    state: PostState
    attempts: int
    created_at: datetime
    remote_id: str | None = None
    remote_url: str | None = None
    last_error: str | None = None
    posted_at: datetime | None = None


@dataclass(frozen=True)
class ArchivedRun:
    """A finished run row."""

    trigger: str
    dry_run: bool
    local_date: date
    status: RunStatus
    started_at: datetime
    finished_at: datetime
    artwork_id: int | None


def _batches(items: Iterable[T], size: int = BATCH) -> Iterator[list[T]]:
    iterator = iter(items)
    while batch := list(islice(iterator, size)):
        yield batch


def _artwork_values(artwork: Artwork) -> dict[str, Any]:
    if artwork.image_path is None or artwork.created_at is None or artwork.image_sha256 is None:
        raise ValueError(
            f"artwork seed {artwork.seed} needs `image_path`, `image_sha256` and `created_at` "
            "set: write its files before inserting its row"
        )
    return {
        "created_at": artwork.created_at,
        "seed": artwork.seed,
        "poem": artwork.poem,
        "season": artwork.season,
        "poem_engine": artwork.poem_engine,
        "poem_model": artwork.poem_model,
        "prompt": artwork.prompt,
        "description": artwork.description,
        "image_engine": artwork.image_engine,
        "image_model": artwork.image_model,
        "mood": artwork.mood,
        "style_engine": artwork.style_engine,
        "style_model": artwork.style_model,
        "style_reference": artwork.style_reference,
        "caption": artwork.caption,
        "alt_text": artwork.alt_text,
        "image_path": str(artwork.image_path),
        "painting_path": str(artwork.painting_path) if artwork.painting_path else None,
        "image_sha256": artwork.image_sha256,
        "width": artwork.width,
        "height": artwork.height,
        "timings": artwork.timings,
        "engine_notes": artwork.engine_notes,
        "scene": artwork.scene,
        "curation": artwork.curation,
        "device": artwork.device,
        "precision": artwork.precision,
        "poem_fallback": artwork.poem_fallback,
        "image_phash": artwork.image_phash,
    }


def insert_artworks(db: Database, artworks: Iterable[Artwork]) -> list[int]:
    """Insert rows for artworks whose files are already under DATA_DIR; return their new ids."""
    with db.session() as session, session.begin():
        before = session.scalar(select(ArtworkRow.id).order_by(ArtworkRow.id.desc()).limit(1))
        keys: list[tuple[int, ...]] = []
        for batch in _batches(artworks):
            session.execute(insert(ArtworkRow), [_artwork_values(a) for a in batch])
            keys += [a.poem_keys for a in batch]
        # The transaction holds the write lock, so every id above the old newest is one of ours.
        ids = list(
            session.scalars(
                select(ArtworkRow.id).where(ArtworkRow.id > (before or 0)).order_by(ArtworkRow.id)
            )
        )
        rows = ({"key": k, "artwork_id": i} for i, ks in zip(ids, keys, strict=True) for k in ks)
        for key_batch in _batches(rows):
            session.execute(insert(PoemKeyRow), key_batch)
        return ids


def insert_posts(db: Database, posts: Iterable[ArchivedPost]) -> None:
    """Insert finished post rows in one transaction."""
    _insert_rows(
        db,
        PostRow,
        (
            {
                "artwork_id": p.artwork_id,
                "platform": p.platform,
                "state": p.state,
                "attempts": p.attempts,
                "remote_id": p.remote_id,
                "remote_url": p.remote_url,
                "last_error": p.last_error,
                "retryable": False,
                "created_at": p.created_at,
                "updated_at": p.posted_at or p.created_at,
                "posted_at": p.posted_at,
            }
            for p in posts
        ),
    )


def insert_runs(db: Database, runs: Iterable[ArchivedRun]) -> None:
    """Insert finished run rows in one transaction."""
    _insert_rows(
        db,
        RunRow,
        (
            {
                "trigger": r.trigger,
                "dry_run": r.dry_run,
                "local_date": r.local_date,
                "status": r.status,
                "started_at": r.started_at,
                "finished_at": r.finished_at,
                "artwork_id": r.artwork_id,
                "error": None,
                "pid": None,
            }
            for r in runs
        ),
    )


def _insert_rows(db: Database, model: type[Base], rows: Iterable[dict[str, Any]]) -> None:
    """Insert `rows` of `model` in batches, all in one transaction."""
    with db.session() as session, session.begin():
        for batch in _batches(rows):
            session.execute(insert(model), batch)
