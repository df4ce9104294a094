"""Repository functions the service calls: artworks in and out, runs, and post rows."""

from __future__ import annotations

import contextlib
import os
import secrets
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import ColumnElement, func, select, update
from sqlalchemy.exc import IntegrityError

from core.artwork import Artwork
from storage.db import Database
from storage.errors import NotFoundError, StorageError
from storage.files import TEMP_SUFFIX, ImageStore, png_bytes, sha256_hex
from storage.models import (
    ArtworkRow,
    PoemKeyRow,
    PostRow,
    PostState,
    RunRow,
    RunStatus,
    utcnow,
)

if TYPE_CHECKING:
    from PIL.Image import Image

ARTWORK_DIR = "artworks"


def as_utc(value: datetime | None) -> datetime | None:
    """SQLite hands back naive datetimes; everything Kavi stores is UTC."""
    if value is None:
        return None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def row_to_artwork(row: ArtworkRow) -> Artwork:
    """The value every layer above reads, from its row."""
    return Artwork(
        id=row.id,
        created_at=as_utc(row.created_at),
        seed=row.seed,
        poem=row.poem,
        season=row.season,
        poem_engine=row.poem_engine,
        poem_model=row.poem_model,
        prompt=row.prompt,
        description=row.description,
        image_engine=row.image_engine,
        image_model=row.image_model,
        mood=row.mood,
        style_engine=row.style_engine,
        style_model=row.style_model,
        style_reference=row.style_reference,
        caption=row.caption,
        alt_text=row.alt_text,
        image_path=Path(row.image_path),
        painting_path=Path(row.painting_path) if row.painting_path else None,
        image_sha256=row.image_sha256,
        width=row.width,
        height=row.height,
        timings=dict(row.timings or {}),
        engine_notes=dict(row.engine_notes or {}),
        scene=dict(row.scene or {}),
        curation=dict(row.curation or {}),
        device=row.device,
        precision=row.precision,
        poem_fallback=bool(row.poem_fallback),
    )


def store_artwork(
    db: Database, store: ImageStore, artwork: Artwork, image: Image, painting: Image | None = None
) -> Artwork:
    """Write the image files atomically, then commit the row that names them.

    If anything fails before the commit, the files just written are removed again, so no
    row ever points at a missing file and no half-written file is left behind.
    """
    now = datetime.now(UTC)
    stem = f"{now:%Y%m%dT%H%M%S}-seed{artwork.seed}-{secrets.token_hex(3)}"
    folder = Path(ARTWORK_DIR) / f"{now:%Y}" / f"{now:%m}"
    final_bytes = png_bytes(image)
    written: list[Path] = []
    try:
        written.append(store.save(folder / f"{stem}.png", final_bytes))
        painting_path = None
        if painting is not None:
            painting_path = store.save(folder / f"{stem}-painting.png", png_bytes(painting))
            written.append(painting_path)
        row = ArtworkRow(
            created_at=now,
            seed=artwork.seed,
            poem=artwork.poem,
            season=artwork.season,
            poem_engine=artwork.poem_engine,
            poem_model=artwork.poem_model,
            prompt=artwork.prompt,
            description=artwork.description,
            image_engine=artwork.image_engine,
            image_model=artwork.image_model,
            mood=artwork.mood,
            style_engine=artwork.style_engine,
            style_model=artwork.style_model,
            style_reference=artwork.style_reference,
            caption=artwork.caption,
            alt_text=artwork.alt_text,
            image_path=str(written[0]),
            painting_path=str(painting_path) if painting_path else None,
            image_sha256=sha256_hex(final_bytes),
            width=image.width,
            height=image.height,
            timings=artwork.timings,
            engine_notes=artwork.engine_notes,
            scene=artwork.scene,
            curation=artwork.curation,
            device=artwork.device,
            precision=artwork.precision,
            poem_fallback=artwork.poem_fallback,
            image_phash=artwork.image_phash,
        )
        with db.session() as session, session.begin():
            session.add(row)
            session.flush()
            row_id = row.id
            session.add_all(PoemKeyRow(key=key, artwork_id=row_id) for key in artwork.poem_keys)
    except BaseException as exc:
        for path in written:
            store.remove(path)
        if isinstance(exc, Exception) and not isinstance(exc, StorageError):
            raise StorageError(f"could not archive the artwork: {exc}") from exc
        raise
    artwork.id = row_id
    artwork.created_at = now
    artwork.image_path = written[0]
    artwork.painting_path = painting_path
    artwork.image_sha256 = row.image_sha256
    artwork.width, artwork.height = image.width, image.height
    return artwork


def get_artwork(db: Database, artwork_id: int) -> Artwork:
    with db.session() as session:
        row = session.get(ArtworkRow, artwork_id)
        if row is None:
            raise NotFoundError(f"no artwork with id {artwork_id}")
        return row_to_artwork(row)


def list_artworks(db: Database, *, limit: int = 20) -> list[Artwork]:
    with db.session() as session:
        rows = session.scalars(select(ArtworkRow).order_by(ArtworkRow.id.desc()).limit(limit))
        return [row_to_artwork(r) for r in rows]


def count_artworks(db: Database) -> int:
    """How many artworks the archive holds (for "N more" beyond a page of `list_artworks`)."""
    with db.session() as session:
        return int(session.scalar(select(func.count(ArtworkRow.id))) or 0)


# A run that dies between writing its files and committing their row leaves files no row
# names. Rows are committed one at a time, under the chain lock, in the order their files are
# written, and each file sits in the month folder of its row's `created_at`. So a file left by
# a crash is in the month folder of the newest row or a later one: the sweep walks only those,
# from a day before the newest row (slack for a long run or a clock that drifted), and its
# cost follows the recent files, not the archive.
SWEEP_SLACK = timedelta(days=1)

FolderLister = Callable[[Path], list[tuple[Path, bool]]]


def _list_folder(folder: Path) -> list[tuple[Path, bool]]:
    """(path, is a folder) for each entry, without a stat per entry where the OS says the type."""
    with os.scandir(folder) as entries:
        return [(Path(e.path), e.is_dir(follow_symlinks=False)) for e in entries]


def _sweep_start(db: Database, slack: timedelta) -> datetime | None:
    """From when files may lack their row: `slack` before the newest row; None to sweep all."""
    with db.session() as session:
        newest = session.scalar(
            select(ArtworkRow.created_at).order_by(ArtworkRow.id.desc()).limit(1)
        )
    return None if newest is None else (as_utc(newest) or utcnow()) - slack


def _month_key(name: str) -> int | None:
    return int(name) if name.isdigit() else None


def _files_to_sweep(root: Path, since: datetime | None, list_folder: FolderLister) -> list[Path]:
    """Files under artworks/ outside the year and month folders older than `since`'s month."""
    found: list[Path] = []
    pending: list[tuple[Path, int]] = [(root, 0)]
    while pending:
        folder, depth = pending.pop()
        for path, is_folder in list_folder(folder):
            if not is_folder:
                found.append(path)
                continue
            number = _month_key(path.name)
            if since is not None and number is not None:
                year = number if depth == 0 else _month_key(folder.name)
                if depth == 0 and number < since.year:
                    continue  # a whole year before the sweep's start
                if depth == 1 and year is not None and (year, number) < (since.year, since.month):
                    continue  # a month before the sweep's start
            pending.append((path, depth + 1))
    return sorted(found)


def _paths_named_since(db: Database, since: datetime | None) -> set[str]:
    """Paths named by rows created since `since` (all rows when None), newest rows first."""
    known: set[str] = set()
    query = select(ArtworkRow.created_at, ArtworkRow.image_path, ArtworkRow.painting_path)
    with db.session() as session:
        for created_at, image_path, painting_path in session.execute(
            # Fetched in small batches, so stopping early reads only the recent rows.
            query.order_by(ArtworkRow.id.desc()).execution_options(yield_per=256)
        ):
            # Ids follow creation, so the walk down the primary key stops at the first old row.
            if since is not None and (as_utc(created_at) or since) < since:
                break
            known.add(image_path)
            if painting_path:
                known.add(painting_path)
    return known


def _paths_named(db: Database, paths: Sequence[str]) -> set[str]:
    """Which of `paths` some row names (exact, whatever the rows' dates)."""
    named: set[str] = set()
    with db.session() as session:
        # In chunks: SQLite caps the number of bound parameters in one statement.
        for start in range(0, len(paths), 400):
            chunk = paths[start : start + 400]
            rows = session.execute(
                select(ArtworkRow.image_path, ArtworkRow.painting_path).where(
                    ArtworkRow.image_path.in_(chunk) | ArtworkRow.painting_path.in_(chunk)
                )
            )
            named.update(p for row in rows for p in row if p in chunk)
    return named


def orphan_files(
    db: Database,
    store: ImageStore,
    *,
    slack: timedelta = SWEEP_SLACK,
    list_folder: FolderLister = _list_folder,
) -> list[Path]:
    """Image files under DATA_DIR/artworks that no row names (left by a crash before commit).

    Only the month folders a crash could have written to since `slack` before the newest row
    are listed; `slack` must exceed the longest run plus the age a file must reach to be removed.
    """
    root = store.absolute(ARTWORK_DIR)
    if not root.is_dir():
        return []
    since = _sweep_start(db, slack)
    files = _files_to_sweep(root, since, list_folder)
    if since is None:
        # No row at all: finished images may be an archive this database does not know (a new
        # DATABASE_URL, a deleted kavi.db), so only half-written temp files are orphans.
        return [path for path in files if path.name.endswith(TEMP_SUFFIX)]
    if not files:
        return []
    # Every row naming a file in those folders was created in their months or later.
    rows_since = None
    if since is not None:
        month_start = since.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
        rows_since = month_start - slack
    known = _paths_named_since(db, rows_since)
    unknown = {str(p.relative_to(store.root)): p for p in files}
    for relative in known:
        unknown.pop(relative, None)
    if unknown:
        # Before calling a file an orphan, ask every row, not only the recent ones (rare: this
        # runs only when a crash left something, so its full scan costs nothing day to day).
        for relative in _paths_named(db, sorted(unknown)):
            unknown.pop(relative, None)
    return sorted(unknown.values())


def remove_orphan_files(
    db: Database, store: ImageStore, *, older_than: timedelta = timedelta(minutes=10)
) -> list[Path]:
    """Delete orphan image files older than `older_than` (younger ones may await their commit)."""
    cutoff = time.time() - older_than.total_seconds()
    removed = []
    # A file too young to remove now must still be in the sweep's window when it is old enough.
    for path in orphan_files(db, store, slack=SWEEP_SLACK + older_than):
        with contextlib.suppress(FileNotFoundError):
            if path.stat().st_mtime < cutoff:
                path.unlink()
                removed.append(path)
    return removed


# --- runs ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class RunInfo:
    id: int
    trigger: str
    dry_run: bool
    local_date: date
    status: RunStatus
    started_at: datetime
    finished_at: datetime | None
    error: str | None
    artwork_id: int | None


def _to_run(row: RunRow) -> RunInfo:
    return RunInfo(
        id=row.id,
        trigger=row.trigger,
        dry_run=row.dry_run,
        local_date=row.local_date,
        status=RunStatus(row.status),
        started_at=as_utc(row.started_at) or utcnow(),
        finished_at=as_utc(row.finished_at),
        error=row.error,
        artwork_id=row.artwork_id,
    )


def start_run(
    db: Database, *, trigger: str, dry_run: bool, local_date: date, pid: int | None
) -> int:
    with db.session() as session, session.begin():
        row = RunRow(trigger=trigger, dry_run=dry_run, local_date=local_date, pid=pid)
        session.add(row)
        session.flush()
        return row.id


def finish_run(
    db: Database,
    run_id: int,
    *,
    status: RunStatus,
    error: str | None = None,
    artwork_id: int | None = None,
) -> None:
    with db.session() as session, session.begin():
        row = session.get(RunRow, run_id)
        if row is None:
            raise NotFoundError(f"no run with id {run_id}")
        row.status = status
        row.error = error
        row.finished_at = utcnow()
        if artwork_id is not None:
            row.artwork_id = artwork_id


def attach_artwork(db: Database, run_id: int, artwork_id: int) -> None:
    """Record a run's artwork as soon as it is stored, so a crash later still says what it made."""
    with db.session() as session, session.begin():
        row = session.get(RunRow, run_id)
        if row is None:
            raise NotFoundError(f"no run with id {run_id}")
        row.artwork_id = artwork_id


def _run_on(local_date: date, *, dry_run: bool) -> tuple[ColumnElement[bool], ...]:
    """The conditions for a run of that kind (posting, or preview when `dry_run`) on that day."""
    return (RunRow.local_date == local_date, RunRow.dry_run.is_(dry_run))


def count_runs_on(
    db: Database, local_date: date, *, dry_run: bool, trigger: str, status: RunStatus
) -> int:
    """How many runs of that kind ended in `status` on that day (bounds same-day retries)."""
    with db.session() as session:
        return int(
            session.scalar(
                select(func.count(RunRow.id)).where(
                    *_run_on(local_date, dry_run=dry_run),
                    RunRow.trigger == trigger,
                    RunRow.status == status,
                )
            )
            or 0
        )


def last_run(db: Database, *, include_dry_runs: bool = True) -> RunInfo | None:
    with db.session() as session:
        query = select(RunRow).order_by(RunRow.id.desc()).limit(1)
        if not include_dry_runs:
            query = query.where(RunRow.dry_run.is_(False))
        row = session.scalars(query).first()
        return _to_run(row) if row else None


def succeeded_run_on(db: Database, local_date: date, *, dry_run: bool) -> RunInfo | None:
    """The succeeded run for that day (posting, or preview when `dry_run`), if any."""
    with db.session() as session:
        row = session.scalars(
            select(RunRow)
            .where(*_run_on(local_date, dry_run=dry_run), RunRow.status == RunStatus.SUCCEEDED)
            .order_by(RunRow.id.desc())
            .limit(1)
        ).first()
        return _to_run(row) if row else None


def running_runs(db: Database, *, include_dry_runs: bool = True) -> list[RunInfo]:
    """Runs still marked `running`, oldest first (read-only; a hung one stays so for ever)."""
    with db.session() as session:
        query = select(RunRow).where(RunRow.status == RunStatus.RUNNING).order_by(RunRow.id)
        if not include_dry_runs:
            query = query.where(RunRow.dry_run.is_(False))
        return [_to_run(row) for row in session.scalars(query)]


def posting_runs_with_artwork_on(db: Database, local_date: date) -> list[RunInfo]:
    """That day's posting runs (not previews) that stored an artwork, whatever their status."""
    with db.session() as session:
        rows = session.scalars(
            select(RunRow)
            .where(*_run_on(local_date, dry_run=False), RunRow.artwork_id.is_not(None))
            .order_by(RunRow.id)
        )
        return [_to_run(row) for row in rows]


def abandon_running_runs(db: Database) -> int:
    """Mark runs left `running` by a process that died as abandoned; return how many."""
    with db.session() as session, session.begin():
        rows = session.scalars(select(RunRow).where(RunRow.status == RunStatus.RUNNING)).all()
        for row in rows:
            row.status = RunStatus.ABANDONED
            row.finished_at = utcnow()
            row.error = row.error or "the process stopped before the run finished"
        return len(rows)


# --- posts --------------------------------------------------------------------------------


@dataclass(frozen=True)
class PostInfo:
    id: int
    artwork_id: int
    platform: str
    state: PostState
    attempts: int
    remote_id: str | None
    remote_url: str | None
    last_error: str | None
    updated_at: datetime | None
    posted_at: datetime | None
    retryable: bool = False
    created_at: datetime | None = None
    checkpoint: str | None = None


def row_to_post(row: PostRow) -> PostInfo:
    return PostInfo(
        id=row.id,
        artwork_id=row.artwork_id,
        platform=row.platform,
        state=PostState(row.state),
        attempts=row.attempts,
        remote_id=row.remote_id,
        remote_url=row.remote_url,
        last_error=row.last_error,
        updated_at=as_utc(row.updated_at),
        posted_at=as_utc(row.posted_at),
        retryable=bool(row.retryable),
        created_at=as_utc(row.created_at),
        checkpoint=row.checkpoint,
    )


def posts_for_artwork(db: Database, artwork_id: int) -> list[PostInfo]:
    with db.session() as session:
        rows = session.scalars(
            select(PostRow).where(PostRow.artwork_id == artwork_id).order_by(PostRow.platform)
        )
        return [row_to_post(r) for r in rows]


def posts_in_states(db: Database, states: Sequence[PostState]) -> list[PostInfo]:
    with db.session() as session:
        rows = session.scalars(
            select(PostRow).where(PostRow.state.in_(list(states))).order_by(PostRow.id)
        )
        return [row_to_post(r) for r in rows]


def count_posts(db: Database) -> dict[tuple[str, PostState], int]:
    """How many posts each (platform, state) holds; read from the state index, not the rows."""
    with db.session() as session:
        rows = session.execute(
            select(PostRow.platform, PostRow.state, func.count()).group_by(
                PostRow.state, PostRow.platform
            )
        )
        return {(platform, PostState(state)): int(n) for platform, state, n in rows}


def recent_posts_in_states(
    db: Database, states: Sequence[PostState], *, limit: int | None
) -> list[PostInfo]:
    """Posts in these states, most recently changed first; all of them when `limit` is None."""
    with db.session() as session:
        query = (
            select(PostRow)
            .where(PostRow.state.in_(list(states)))
            .order_by(PostRow.updated_at.desc(), PostRow.id.desc())
        )
        if limit is not None:
            query = query.limit(limit)
        return [row_to_post(r) for r in session.scalars(query)]


def get_post(db: Database, artwork_id: int, platform: str) -> PostInfo | None:
    with db.session() as session:
        row = session.scalars(
            select(PostRow).where(PostRow.artwork_id == artwork_id, PostRow.platform == platform)
        ).first()
        return row_to_post(row) if row else None


def ensure_post(db: Database, artwork_id: int, platform: str) -> PostInfo:
    """The post row for (artwork, platform), created `pending` if there is none yet."""
    existing = get_post(db, artwork_id, platform)
    if existing is not None:
        return existing
    try:
        with db.session() as session, session.begin():
            if session.get(ArtworkRow, artwork_id) is None:
                raise NotFoundError(f"no artwork with id {artwork_id}")
            session.add(PostRow(artwork_id=artwork_id, platform=platform))
    except IntegrityError:
        pass  # another process created it first; the unique constraint keeps it one row
    post = get_post(db, artwork_id, platform)
    if post is None:  # pragma: no cover - the row was just written
        raise StorageError(f"could not create the {platform} post for artwork {artwork_id}")
    return post


class PostStateConflict(StorageError):
    """A post row was not in the state a transition expects: another process moved it."""


def _move_post(
    db: Database,
    post_id: int,
    to: PostState,
    *,
    allowed_from: Sequence[PostState],
    count_attempt: bool = False,
    **values: object,
) -> PostInfo:
    # One conditional UPDATE, so two processes can never both move a row into `posting`.
    changes: dict[str, object] = {"state": to, "updated_at": utcnow(), **values}
    if count_attempt:
        changes["attempts"] = PostRow.attempts + 1
    with db.session() as session, session.begin():
        result = session.execute(
            update(PostRow)
            .where(PostRow.id == post_id, PostRow.state.in_(list(allowed_from)))
            .values(**changes)
        )
        if getattr(result, "rowcount", 0) != 1:
            row = session.get(PostRow, post_id)
            if row is None:
                raise NotFoundError(f"no post with id {post_id}")
            raise PostStateConflict(
                f"post {post_id} ({row.platform}) is {PostState(row.state).value}, "
                f"not {' or '.join(s.value for s in allowed_from)}: it cannot become {to.value}"
            )
    with db.session() as session:
        row = session.get(PostRow, post_id)
        assert row is not None
        return row_to_post(row)


def mark_posting(
    db: Database, post_id: int, *, allowed_from: Sequence[PostState] = (PostState.PENDING,)
) -> PostInfo:
    """Commit `posting` (and count the attempt) before the platform is called."""
    return _move_post(
        db,
        post_id,
        PostState.POSTING,
        allowed_from=allowed_from,
        count_attempt=True,
        retryable=False,
    )


def mark_posted(db: Database, post_id: int, *, remote_id: str, url: str | None) -> PostInfo:
    return _move_post(
        db,
        post_id,
        PostState.POSTED,
        allowed_from=(PostState.POSTING, PostState.UNKNOWN),
        remote_id=remote_id,
        remote_url=url,
        last_error=None,
        posted_at=utcnow(),
        checkpoint=None,
    )


def save_post_checkpoint(db: Database, post_id: int, checkpoint: str) -> PostInfo:
    """Commit what a publisher made mid-send (a media container) while the post is `posting`."""
    return _move_post(
        db,
        post_id,
        PostState.POSTING,
        allowed_from=(PostState.POSTING,),
        checkpoint=checkpoint,
    )


def mark_not_sent(db: Database, post_id: int, *, error: str) -> PostInfo:
    """Back to `pending`: the platform certainly did not take the post, so it may be sent again."""
    return _move_post(
        db, post_id, PostState.PENDING, allowed_from=(PostState.POSTING,), last_error=error
    )


def mark_failed(db: Database, post_id: int, *, error: str, retryable: bool = False) -> PostInfo:
    """`failed`; `retryable` when the platform certainly never took it (it may be sent later)."""
    return _move_post(
        db,
        post_id,
        PostState.FAILED,
        allowed_from=(PostState.PENDING, PostState.POSTING, PostState.UNKNOWN),
        last_error=error,
        retryable=retryable,
    )


def mark_unknown(db: Database, post_id: int, *, error: str) -> PostInfo:
    return _move_post(
        db,
        post_id,
        PostState.UNKNOWN,
        allowed_from=(PostState.POSTING, PostState.UNKNOWN),
        last_error=error,
    )


def interrupted_posts_to_unknown(db: Database, *, error: str) -> list[PostInfo]:
    """Rows left `posting` by a process that died mid-call become `unknown`; return them."""
    with db.session() as session, session.begin():
        rows = session.scalars(select(PostRow).where(PostRow.state == PostState.POSTING)).all()
        for row in rows:
            row.state = PostState.UNKNOWN
            row.last_error = error
            row.updated_at = utcnow()
        session.flush()
        return [row_to_post(r) for r in rows]


@dataclass(frozen=True)
class PoemSources:
    """Where recent poems came from: how many in all, by the LLM, and by its grammar fallback."""

    total: int
    llm: int
    fallback: int


def poem_sources(db: Database, *, since: datetime) -> PoemSources:
    """Count the artworks made since `since` by poem source, for `status`."""
    query = select(
        func.count(),
        func.count().filter(ArtworkRow.poem_engine == "llm"),
        func.count().filter(ArtworkRow.poem_fallback.is_(True)),
    ).where(ArtworkRow.created_at >= since.astimezone(UTC))
    with db.session() as session:
        total, llm, fallback = session.execute(query).one()
    return PoemSources(total=int(total), llm=int(llm), fallback=int(fallback))
