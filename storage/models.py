"""SQLAlchemy 2 typed models: artworks, their posts, runs of the chain, and trained styles."""

from __future__ import annotations

import enum
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Date,
    DateTime,
    Enum,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    false,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


def utcnow() -> datetime:
    return datetime.now(UTC)


class Base(DeclarativeBase):
    pass


class PostState(enum.StrEnum):
    PENDING = "pending"
    POSTING = "posting"
    POSTED = "posted"
    FAILED = "failed"
    UNKNOWN = "unknown"


class RunStatus(enum.StrEnum):
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    ABANDONED = "abandoned"


class ArtworkRow(Base):
    __tablename__ = "artworks"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    seed: Mapped[int] = mapped_column(Integer)
    poem: Mapped[str] = mapped_column(Text)
    season: Mapped[str | None] = mapped_column(String(16))
    poem_engine: Mapped[str] = mapped_column(String(32))
    poem_model: Mapped[str | None] = mapped_column(String(255))
    prompt: Mapped[str] = mapped_column(Text)
    description: Mapped[str] = mapped_column(Text, default="")
    image_engine: Mapped[str] = mapped_column(String(32))
    image_model: Mapped[str | None] = mapped_column(String(255))
    mood: Mapped[str] = mapped_column(String(32))
    style_engine: Mapped[str] = mapped_column(String(32))
    style_model: Mapped[str | None] = mapped_column(String(255))
    style_reference: Mapped[str | None] = mapped_column(Text)
    caption: Mapped[str] = mapped_column(Text)
    alt_text: Mapped[str] = mapped_column(Text)
    image_path: Mapped[str] = mapped_column(Text)
    painting_path: Mapped[str | None] = mapped_column(Text)
    image_sha256: Mapped[str] = mapped_column(String(64))
    width: Mapped[int] = mapped_column(Integer)
    height: Mapped[int] = mapped_column(Integer)
    timings: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    engine_notes: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # The painter's record: framing, each drawn subject's box, words it could not draw.
    scene: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict, server_default="{}")
    # The curator's record: the poem's emotions, the mood weights, scores and distances.
    curation: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict, server_default="{}")
    # Where the neural engines ran ("cuda", "float16"); NULL when only offline engines ran.
    device: Mapped[str | None] = mapped_column(String(32))
    precision: Mapped[str | None] = mapped_column(String(16))
    # The language model wrote no valid haiku and the grammar writer stepped in.
    poem_fallback: Mapped[bool] = mapped_column(default=False, server_default=false())
    # The final image's 64-bit perceptual hash (signed), for the near-duplicate check.
    image_phash: Mapped[int | None] = mapped_column(BigInteger, index=True)

    posts: Mapped[list[PostRow]] = relationship(
        back_populates="artwork", cascade="all, delete-orphan"
    )


class PostRow(Base):
    __tablename__ = "posts"
    __table_args__ = (
        UniqueConstraint("artwork_id", "platform", name="uq_posts_artwork_platform"),
        # `status` counts posts per state and platform and lists those that need attention.
        Index("ix_posts_state_platform", "state", "platform"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    artwork_id: Mapped[int] = mapped_column(
        ForeignKey("artworks.id", ondelete="CASCADE"), index=True
    )
    platform: Mapped[str] = mapped_column(String(32))
    state: Mapped[PostState] = mapped_column(
        Enum(
            PostState, native_enum=False, length=16, values_callable=lambda e: [m.value for m in e]
        ),
        default=PostState.PENDING,
    )
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    remote_id: Mapped[str | None] = mapped_column(String(128))
    remote_url: Mapped[str | None] = mapped_column(Text)
    last_error: Mapped[str | None] = mapped_column(Text)
    # A failed post that certainly never went out (outage, long rate limit): safe to send again.
    retryable: Mapped[bool] = mapped_column(default=False, server_default=false())
    # What the publisher saved mid-send, e.g. Instagram's media container id: a retry resumes
    # that container instead of making a second post. Cleared once posted.
    checkpoint: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=utcnow, onupdate=utcnow
    )
    posted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    artwork: Mapped[ArtworkRow] = relationship(back_populates="posts")


class PostMetricsRow(Base):
    """What a platform last said about one post: likes, reposts, replies and views."""

    __tablename__ = "post_metrics"

    post_id: Mapped[int] = mapped_column(
        ForeignKey("posts.id", ondelete="CASCADE"), primary_key=True
    )
    read_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    likes: Mapped[int] = mapped_column(Integer, default=0)
    reposts: Mapped[int] = mapped_column(Integer, default=0)
    replies: Mapped[int] = mapped_column(Integer, default=0)
    # Only where the platform gives them (free): None means not known, not zero.
    views: Mapped[int | None] = mapped_column(Integer)


class RunRow(Base):
    __tablename__ = "runs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    trigger: Mapped[str] = mapped_column(String(16))  # "scheduled" or "manual"
    dry_run: Mapped[bool] = mapped_column(default=False)
    # The calendar day (in TZ) the run posts for, so a restart knows if today's post went out.
    local_date: Mapped[date] = mapped_column(Date, index=True)
    status: Mapped[RunStatus] = mapped_column(
        Enum(
            RunStatus, native_enum=False, length=16, values_callable=lambda e: [m.value for m in e]
        ),
        default=RunStatus.RUNNING,
    )
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    error: Mapped[str | None] = mapped_column(Text)
    artwork_id: Mapped[int | None] = mapped_column(ForeignKey("artworks.id", ondelete="SET NULL"))
    pid: Mapped[int | None] = mapped_column(Integer)


class PoemKeyRow(Base):
    """One shingle of an artwork's poem (a whole line or a run of three words), hashed.

    Keyed (key, artwork_id), so the past poems sharing a new poem's shingles are found by
    index, however large the archive.
    """

    __tablename__ = "poem_keys"

    key: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    artwork_id: Mapped[int] = mapped_column(
        ForeignKey("artworks.id", ondelete="CASCADE"), primary_key=True
    )


class TrainingStatus(enum.StrEnum):
    RUNNING = "running"
    FINISHED = "finished"
    INTERRUPTED = "interrupted"
    FAILED = "failed"


class StyleRow(Base):
    """A prepared style: what its manifest says, as last recorded."""

    __tablename__ = "styles"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    resolution: Mapped[int] = mapped_column(Integer)
    images: Mapped[int] = mapped_column(Integer)
    # The sha256 of manifest.json: tells a re-prepared dataset from the one a run trained on.
    manifest_sha256: Mapped[str] = mapped_column(String(64))
    source: Mapped[str] = mapped_column(Text)  # the folder `prepare --from` was given
    prepared_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    recorded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class TrainingRunRow(Base):
    """One `kavi style train`: from which step, to which, how it ended, and where it ran."""

    __tablename__ = "training_runs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    style_id: Mapped[int] = mapped_column(ForeignKey("styles.id", ondelete="CASCADE"), index=True)
    backend: Mapped[str] = mapped_column(String(16))
    status: Mapped[TrainingStatus] = mapped_column(
        Enum(
            TrainingStatus,
            native_enum=False,
            length=16,
            values_callable=lambda e: [m.value for m in e],
        ),
        default=TrainingStatus.RUNNING,
    )
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    first_step: Mapped[int] = mapped_column(Integer)
    last_step: Mapped[int | None] = mapped_column(Integer)
    steps_planned: Mapped[int] = mapped_column(Integer)
    error: Mapped[str | None] = mapped_column(Text)
    processes: Mapped[int | None] = mapped_column(Integer)
    device: Mapped[str | None] = mapped_column(String(32))
    precision: Mapped[str | None] = mapped_column(String(16))
    pid: Mapped[int | None] = mapped_column(Integer)


class StyleCheckpointRow(Base):
    """A checkpoint a training run saved; kept after its folder is pruned, as a record."""

    __tablename__ = "style_checkpoints"
    __table_args__ = (
        UniqueConstraint("style_id", "backend", "step", name="uq_style_checkpoints_step"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    style_id: Mapped[int] = mapped_column(ForeignKey("styles.id", ondelete="CASCADE"))
    backend: Mapped[str] = mapped_column(String(16))
    step: Mapped[int] = mapped_column(Integer)
    path: Mapped[str] = mapped_column(Text)  # relative to DATA_DIR
    sha256: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    run_id: Mapped[int | None] = mapped_column(ForeignKey("training_runs.id", ondelete="SET NULL"))
