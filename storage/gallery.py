"""Read queries for the gallery: keyset pages of artworks, filters, neighbours and spans.

Every page is found by walking the primary key from a known id (`before` / `after`), so a
page costs the same at the newest artwork and at the 100,000th. A month filter becomes a
range of ids first: ids follow creation (rows are committed one at a time, in order, under
the chain lock; the orphan sweep in repository.py relies on the same), so the first id made
at or after a time is found by bisection over the primary key in a few point lookups,
without an index on `created_at`. The time condition is kept in the query as well, so a row
out of order can be missed at a month's edge but never shown in the wrong month.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import Session

from core.artwork import Artwork
from storage.db import Database
from storage.models import ArtworkRow, PostRow
from storage.repository import PostInfo, as_utc, row_to_artwork, row_to_post

MAX_PAGE_SIZE = 100


@dataclass(frozen=True)
class GalleryFilter:
    """Which artworks a page lists: one mood, and/or those made in [since, until)."""

    mood: str | None = None
    since: datetime | None = None
    until: datetime | None = None


@dataclass(frozen=True)
class GalleryPage:
    """One page of artworks, newest first, and the ids that open the pages beside it."""

    artworks: list[Artwork]
    # Pass as `before` for the next (older) page; None on the last page.
    older_before: int | None = None
    # Pass as `after` for the previous (newer) page; None on the first page.
    newer_after: int | None = None
    posts: dict[int, list[PostInfo]] = field(default_factory=dict)


def _first_id_from(session: Session, when: datetime, low: int, high: int) -> int | None:
    """The smallest id in [low, high] made at or after `when` (None if none), by bisection."""
    found: int | None = None
    while low <= high:
        middle = (low + high) // 2
        # The first row at or after `middle` (ids may have gaps); it exists since middle <= max.
        row_id, created_at = session.execute(
            select(ArtworkRow.id, ArtworkRow.created_at)
            .where(ArtworkRow.id >= middle)
            .order_by(ArtworkRow.id)
            .limit(1)
        ).one()
        if (as_utc(created_at) or when) >= when:
            found, high = row_id, middle - 1
        else:
            low = row_id + 1
    return found


def _conditions(session: Session, where: GalleryFilter) -> list[ColumnElement[bool]] | None:
    """The filter as conditions on the rows; None when it can match nothing."""
    conditions: list[ColumnElement[bool]] = []
    if where.mood is not None:
        conditions.append(ArtworkRow.mood == where.mood)
    if where.since is None and where.until is None:
        return conditions
    # Two queries: SQLite answers min() or max() alone from the key, but scans for both at once.
    low = session.scalar(select(func.min(ArtworkRow.id)))
    high = session.scalar(select(func.max(ArtworkRow.id)))
    if low is None or high is None:
        return None
    if where.since is not None:
        first = _first_id_from(session, where.since, low, high)
        if first is None:
            return None
        conditions += [ArtworkRow.id >= first, ArtworkRow.created_at >= where.since]
        low = first
    if where.until is not None:
        past = _first_id_from(session, where.until, low, high)
        if past is not None:
            conditions.append(ArtworkRow.id < past)
        conditions.append(ArtworkRow.created_at < where.until)
    return conditions


def gallery_page(
    db: Database,
    *,
    size: int,
    before: int | None = None,
    after: int | None = None,
    where: GalleryFilter | None = None,
    with_posts: bool = False,
) -> GalleryPage:
    """Up to `size` artworks, newest first: older than `before`, or just newer than `after`."""
    if not 1 <= size <= MAX_PAGE_SIZE:
        raise ValueError(f"`size` must be between 1 and {MAX_PAGE_SIZE}, got {size}")
    if before is not None and after is not None:
        raise ValueError("give `before` or `after`, not both")
    with db.session() as session:
        conditions = _conditions(session, where or GalleryFilter())
        if conditions is None:
            return GalleryPage([])
        query = select(ArtworkRow).where(*conditions)
        if after is not None:
            # The page just newer than `after`: walk up from it, then show it newest first.
            rows = list(
                session.scalars(
                    query.where(ArtworkRow.id > after).order_by(ArtworkRow.id).limit(size + 1)
                )
            )
            newer = len(rows) > size
            rows = rows[:size][::-1]
            older = bool(rows) and _exists(session, conditions, ArtworkRow.id < rows[-1].id)
        else:
            if before is not None:
                query = query.where(ArtworkRow.id < before)
            rows = list(session.scalars(query.order_by(ArtworkRow.id.desc()).limit(size + 1)))
            older = len(rows) > size
            rows = rows[:size]
            # The first page (no `before`) starts at the newest match: nothing is newer.
            newer = (
                before is not None
                and bool(rows)
                and _exists(session, conditions, ArtworkRow.id > rows[0].id)
            )
        artworks = [row_to_artwork(row) for row in rows]
        posts = _posts_of(session, [a.id for a in artworks if a.id]) if with_posts else {}
    return GalleryPage(
        artworks,
        older_before=artworks[-1].id if older and artworks else None,
        newer_after=artworks[0].id if newer and artworks else None,
        posts=posts,
    )


def _exists(
    session: Session, conditions: list[ColumnElement[bool]], beyond: ColumnElement[bool]
) -> bool:
    return session.scalar(select(ArtworkRow.id).where(*conditions, beyond).limit(1)) is not None


def _posts_of(session: Session, artwork_ids: list[int]) -> dict[int, list[PostInfo]]:
    found: dict[int, list[PostInfo]] = {i: [] for i in artwork_ids}
    if artwork_ids:
        rows = session.scalars(
            select(PostRow)
            .where(PostRow.artwork_id.in_(artwork_ids))
            .order_by(PostRow.artwork_id, PostRow.platform)
        )
        for row in rows:
            found[row.artwork_id].append(row_to_post(row))
    return found


def neighbours(db: Database, artwork_id: int) -> tuple[int | None, int | None]:
    """The ids just newer and just older than `artwork_id` (None at either end)."""
    with db.session() as session:
        newer = session.scalar(
            select(ArtworkRow.id).where(ArtworkRow.id > artwork_id).order_by(ArtworkRow.id).limit(1)
        )
        older = session.scalar(
            select(ArtworkRow.id)
            .where(ArtworkRow.id < artwork_id)
            .order_by(ArtworkRow.id.desc())
            .limit(1)
        )
    return newer, older


def archive_span(db: Database) -> tuple[datetime, datetime] | None:
    """When the oldest and the newest artworks were made (two primary-key lookups)."""
    with db.session() as session:
        oldest = session.scalar(select(ArtworkRow.created_at).order_by(ArtworkRow.id).limit(1))
        newest = session.scalar(
            select(ArtworkRow.created_at).order_by(ArtworkRow.id.desc()).limit(1)
        )
    first, last = as_utc(oldest), as_utc(newest)
    if first is None or last is None:
        return None
    return first, last


def newest_artwork_id(db: Database) -> int | None:
    """The newest artwork's id (changes whenever the archive gains one: the feed's version)."""
    with db.session() as session:
        return session.scalar(select(ArtworkRow.id).order_by(ArtworkRow.id.desc()).limit(1))
