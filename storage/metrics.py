"""What the platforms say back: the post_metrics rows, the posts to read, and the sums."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from storage.db import Database
from storage.models import ArtworkRow, PostMetricsRow, PostRow, PostState, utcnow
from storage.repository import PostInfo, row_to_post


@dataclass(frozen=True)
class Figures:
    """Likes, reposts (boosts), replies and, where known, views."""

    likes: int = 0
    reposts: int = 0
    replies: int = 0
    views: int | None = None

    @property
    def score(self) -> int:
        """How well a post was received: a repost spreads it further than a like."""
        return self.likes + 2 * self.reposts + self.replies


@dataclass(frozen=True)
class ArtworkFigures:
    artwork_id: int
    mood: str
    first_line: str
    figures: Figures


@dataclass(frozen=True)
class MetricsSummary:
    best: list[ArtworkFigures]
    per_platform: dict[str, Figures]
    per_mood: dict[str, Figures]
    posts_measured: int


def posts_to_measure(db: Database, *, since: datetime) -> list[PostInfo]:
    """Posted posts whose post went out at or after `since` (the 30 days a read covers)."""
    with db.session() as session:
        rows = session.scalars(
            select(PostRow)
            .where(PostRow.state == PostState.POSTED, PostRow.posted_at >= since)
            .order_by(PostRow.posted_at)
        ).all()
        return [row_to_post(r) for r in rows if r.remote_id]


def save_metrics(
    db: Database, post_id: int, figures: Figures, *, read_at: datetime | None = None
) -> None:
    """Keep the latest figures for a post (one row per post, replaced at each read)."""
    with db.session() as session, session.begin():
        row = session.get(PostMetricsRow, post_id) or PostMetricsRow(post_id=post_id)
        row.read_at = read_at or utcnow()
        row.likes, row.reposts, row.replies = figures.likes, figures.reposts, figures.replies
        row.views = figures.views
        session.add(row)


def _sum(rows: list[tuple[int, int, int, int | None]]) -> Figures:
    views = [v for *_, v in rows if v is not None]
    return Figures(
        likes=sum(r[0] for r in rows),
        reposts=sum(r[1] for r in rows),
        replies=sum(r[2] for r in rows),
        views=sum(views) if views else None,
    )


def metrics_summary(db: Database, *, best: int = 5) -> MetricsSummary:
    """The best-received artworks, and the totals per platform and per mood."""
    query = (
        select(
            ArtworkRow.id,
            ArtworkRow.mood,
            ArtworkRow.poem,
            PostRow.platform,
            PostMetricsRow.likes,
            PostMetricsRow.reposts,
            PostMetricsRow.replies,
            PostMetricsRow.views,
        )
        .join(PostRow, PostRow.id == PostMetricsRow.post_id)
        .join(ArtworkRow, ArtworkRow.id == PostRow.artwork_id)
    )
    with db.session() as session:
        rows = session.execute(query).all()
    by_artwork: dict[int, list[tuple[int, int, int, int | None]]] = {}
    by_platform: dict[str, list[tuple[int, int, int, int | None]]] = {}
    by_mood: dict[str, list[tuple[int, int, int, int | None]]] = {}
    about: dict[int, tuple[str, str]] = {}
    for artwork_id, mood, poem, platform, likes, reposts, replies, views in rows:
        figures = (likes, reposts, replies, views)
        by_artwork.setdefault(artwork_id, []).append(figures)
        by_platform.setdefault(platform, []).append(figures)
        by_mood.setdefault(mood, []).append(figures)
        about[artwork_id] = (mood, (poem.splitlines() or [""])[0])
    ranked = sorted(
        (
            ArtworkFigures(a, about[a][0], about[a][1], _sum(figures))
            for a, figures in by_artwork.items()
        ),
        key=lambda item: (-item.figures.score, -item.artwork_id),
    )
    return MetricsSummary(
        best=ranked[:best],
        per_platform={p: _sum(f) for p, f in sorted(by_platform.items())},
        per_mood={m: _sum(f) for m, f in sorted(by_mood.items())},
        posts_measured=len(rows),
    )


def scores_by_mood(db: Database) -> dict[str, list[int]]:
    """Each measured artwork's reception score (its posts' figures summed), by its mood."""
    query = (
        select(
            ArtworkRow.id,
            ArtworkRow.mood,
            PostMetricsRow.likes,
            PostMetricsRow.reposts,
            PostMetricsRow.replies,
            PostMetricsRow.views,
        )
        .join(PostRow, PostRow.id == PostMetricsRow.post_id)
        .join(ArtworkRow, ArtworkRow.id == PostRow.artwork_id)
    )
    with db.session() as session:
        rows = session.execute(query).all()
    per_artwork: dict[int, tuple[str, list[tuple[int, int, int, int | None]]]] = {}
    for artwork_id, mood, likes, reposts, replies, views in rows:
        per_artwork.setdefault(artwork_id, (mood, []))[1].append((likes, reposts, replies, views))
    by_mood: dict[str, list[int]] = {}
    for mood, figures in per_artwork.values():
        by_mood.setdefault(mood, []).append(_sum(figures).score)
    return by_mood
