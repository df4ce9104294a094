"""The archive's record of `kavi style`: prepared styles, training runs and their checkpoints.

The files under DATA_DIR/styles stay the truth a painter loads; these rows are the history
(which run saved which checkpoint, how each run ended) and what `style list`, `models list`
and `status` read. A checkpoint's row outlives its folder (training keeps only the newest
few), so the sha256 an artwork names can still be traced to the run and step that made it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from storage.db import Database
from storage.errors import NotFoundError
from storage.models import (
    StyleCheckpointRow,
    StyleRow,
    TrainingRunRow,
    TrainingStatus,
    utcnow,
)
from storage.repository import as_utc

# The training backends a run or checkpoint may name; the column is free text so a new
# backend needs no migration, only a word here.
BACKENDS = ("gan", "lora")
# What a run left `running` by a process that died says once the next train settles it.
STALE_RUN_ERROR = "left running by a process that ended without closing it (kill -9, power loss)"


def check_backend(backend: str) -> str:
    """Return `backend` if Kavi knows it, else ValueError naming the known ones."""
    if backend not in BACKENDS:
        raise ValueError(f"unknown training backend {backend!r}; known: {', '.join(BACKENDS)}")
    return backend


@dataclass(frozen=True)
class StyleInfo:
    name: str
    resolution: int
    images: int
    manifest_sha256: str
    source: str
    prepared_at: datetime
    recorded_at: datetime


@dataclass(frozen=True)
class TrainingRunInfo:
    id: int
    style: str
    backend: str
    status: TrainingStatus
    started_at: datetime
    finished_at: datetime | None
    first_step: int
    last_step: int | None
    steps_planned: int
    error: str | None
    processes: int | None
    device: str | None
    precision: str | None
    pid: int | None


@dataclass(frozen=True)
class CheckpointRecord:
    """A checkpoint found on disk, to record: its step, folder (relative to DATA_DIR), sha256."""

    step: int
    path: str
    sha256: str
    created_at: datetime


@dataclass(frozen=True)
class CheckpointInfo:
    style: str
    backend: str
    step: int
    path: str
    sha256: str
    created_at: datetime
    run_id: int | None


@dataclass(frozen=True)
class StyleSummary:
    """A style, the newest checkpoint of each backend it was trained with, and its last run."""

    style: StyleInfo
    latest: dict[str, CheckpointInfo]
    last_run: TrainingRunInfo | None

    @property
    def backends(self) -> list[str]:
        return sorted(self.latest)


def _style_info(row: StyleRow) -> StyleInfo:
    return StyleInfo(
        name=row.name,
        resolution=row.resolution,
        images=row.images,
        manifest_sha256=row.manifest_sha256,
        source=row.source,
        prepared_at=as_utc(row.prepared_at) or utcnow(),
        recorded_at=as_utc(row.recorded_at) or utcnow(),
    )


def _run_info(row: TrainingRunRow, style: str) -> TrainingRunInfo:
    return TrainingRunInfo(
        id=row.id,
        style=style,
        backend=row.backend,
        status=TrainingStatus(row.status),
        started_at=as_utc(row.started_at) or utcnow(),
        finished_at=as_utc(row.finished_at),
        first_step=row.first_step,
        last_step=row.last_step,
        steps_planned=row.steps_planned,
        error=row.error,
        processes=row.processes,
        device=row.device,
        precision=row.precision,
        pid=row.pid,
    )


def _checkpoint_info(row: StyleCheckpointRow, style: str) -> CheckpointInfo:
    return CheckpointInfo(
        style=style,
        backend=row.backend,
        step=row.step,
        path=row.path,
        sha256=row.sha256,
        created_at=as_utc(row.created_at) or utcnow(),
        run_id=row.run_id,
    )


def _style_row(session: Session, name: str) -> StyleRow:
    row = session.scalar(select(StyleRow).where(StyleRow.name == name))
    if row is None:
        raise NotFoundError(f"no style {name!r} in the archive")
    return row


# --- styles --------------------------------------------------------------------------------


def save_style(
    db: Database,
    *,
    name: str,
    resolution: int,
    images: int,
    manifest_sha256: str,
    source: str,
    prepared_at: datetime,
) -> StyleInfo:
    """Record a prepared style (insert, or update the row of that name).

    A new manifest means the dataset was prepared again (`--replace` deletes the style's
    training folders), so the old checkpoints' rows go too; its runs stay, as history.
    """
    with db.session() as session, session.begin():
        row = session.scalar(select(StyleRow).where(StyleRow.name == name))
        if row is None:
            row = StyleRow(name=name)
            session.add(row)
        elif row.manifest_sha256 != manifest_sha256:
            session.execute(delete(StyleCheckpointRow).where(StyleCheckpointRow.style_id == row.id))
        row.resolution, row.images = resolution, images
        row.manifest_sha256, row.source = manifest_sha256, source
        row.prepared_at, row.recorded_at = prepared_at, utcnow()
        session.flush()
        return _style_info(row)


def get_style(db: Database, name: str) -> StyleInfo | None:
    with db.session() as session:
        row = session.scalar(select(StyleRow).where(StyleRow.name == name))
        return _style_info(row) if row else None


# --- training runs -------------------------------------------------------------------------


def start_training_run(
    db: Database,
    style: str,
    backend: str,
    *,
    first_step: int,
    steps_planned: int,
    processes: int | None = None,
    pid: int | None = None,
) -> int:
    """Open a `running` row for a training run of a recorded style; returns its id."""
    check_backend(backend)
    with db.session() as session, session.begin():
        row = TrainingRunRow(
            style_id=_style_row(session, style).id,
            backend=backend,
            status=TrainingStatus.RUNNING,
            started_at=utcnow(),
            first_step=first_step,
            steps_planned=steps_planned,
            processes=processes,
            pid=pid,
        )
        session.add(row)
        session.flush()
        return row.id


def finish_training_run(
    db: Database,
    run_id: int,
    *,
    status: TrainingStatus,
    last_step: int | None,
    error: str | None = None,
    processes: int | None = None,
    device: str | None = None,
    precision: str | None = None,
) -> None:
    """Close a run: how it ended, the step it reached, and where it ran (when known)."""
    with db.session() as session, session.begin():
        row = session.get(TrainingRunRow, run_id)
        if row is None:
            raise NotFoundError(f"no training run with id {run_id}")
        row.status, row.finished_at, row.error = status, utcnow(), error
        if last_step is not None:
            row.last_step = last_step
        row.processes = processes if processes is not None else row.processes
        row.device = device or row.device
        row.precision = precision or row.precision


def close_stale_runs(db: Database, style: str) -> list[TrainingRunInfo]:
    """Mark the style's `running` runs interrupted; call only while holding the style's lock.

    Every train holds that lock while it runs, so a row still `running` when the lock is
    free was left by a process that died. Its last step is the newest checkpoint it saved.
    """
    with db.session() as session, session.begin():
        style_row = session.scalar(select(StyleRow).where(StyleRow.name == style))
        if style_row is None:
            return []
        rows = session.scalars(
            select(TrainingRunRow).where(
                TrainingRunRow.style_id == style_row.id,
                TrainingRunRow.status == TrainingStatus.RUNNING,
            )
        ).all()
        for row in rows:
            saved = session.scalar(
                select(func.max(StyleCheckpointRow.step)).where(StyleCheckpointRow.run_id == row.id)
            )
            row.status, row.finished_at, row.error = (
                TrainingStatus.INTERRUPTED,
                utcnow(),
                STALE_RUN_ERROR,
            )
            row.last_step = saved if saved is not None else row.first_step
        session.flush()
        return [_run_info(row, style) for row in rows]


def training_runs(db: Database, style: str) -> list[TrainingRunInfo]:
    """The style's training runs, oldest first."""
    with db.session() as session:
        rows = session.scalars(
            select(TrainingRunRow)
            .join(StyleRow, StyleRow.id == TrainingRunRow.style_id)
            .where(StyleRow.name == style)
            .order_by(TrainingRunRow.id)
        ).all()
        return [_run_info(row, style) for row in rows]


# --- checkpoints ---------------------------------------------------------------------------


def record_checkpoints(
    db: Database,
    style: str,
    backend: str,
    found: Sequence[CheckpointRecord],
    *,
    run_id: int | None = None,
) -> int:
    """Record checkpoints seen on disk; returns how many rows were added or changed.

    Idempotent: a checkpoint already recorded with the same sha256 is left as it is (its
    run kept), so the training process and a `style list` beside it may both record it.
    """
    check_backend(backend)
    try:
        return _record_checkpoints(db, style, backend, found, run_id)
    except IntegrityError:
        # Another process recorded one of these between our read and our insert.
        return _record_checkpoints(db, style, backend, found, run_id)


def _record_checkpoints(
    db: Database,
    style: str,
    backend: str,
    found: Sequence[CheckpointRecord],
    run_id: int | None,
) -> int:
    changed = 0
    with db.session() as session, session.begin():
        style_id = _style_row(session, style).id
        known = {
            row.step: row
            for row in session.scalars(
                select(StyleCheckpointRow).where(
                    StyleCheckpointRow.style_id == style_id, StyleCheckpointRow.backend == backend
                )
            )
        }
        for record in found:
            row = known.get(record.step)
            if row is not None and row.sha256 == record.sha256:
                if row.run_id is None and run_id is not None:
                    row.run_id = run_id
                    changed += 1
                continue
            if row is None:
                row = StyleCheckpointRow(style_id=style_id, backend=backend, step=record.step)
                session.add(row)
            # A different sha256 at a known step: `train --fresh` made that step again.
            row.path, row.sha256, row.created_at = record.path, record.sha256, record.created_at
            row.run_id = run_id
            changed += 1
    return changed


def forget_checkpoints(db: Database, style: str, backend: str) -> int:
    """Drop the rows of a backend's checkpoints (`train --fresh` deletes their folders)."""
    with db.session() as session, session.begin():
        style_row = session.scalar(select(StyleRow).where(StyleRow.name == style))
        if style_row is None:
            return 0
        result = session.execute(
            delete(StyleCheckpointRow).where(
                StyleCheckpointRow.style_id == style_row.id, StyleCheckpointRow.backend == backend
            )
        )
        return int(getattr(result, "rowcount", 0) or 0)


def style_checkpoints(db: Database, style: str) -> list[CheckpointInfo]:
    """Every recorded checkpoint of the style, by backend and step."""
    with db.session() as session:
        rows = session.scalars(
            select(StyleCheckpointRow)
            .join(StyleRow, StyleRow.id == StyleCheckpointRow.style_id)
            .where(StyleRow.name == style)
            .order_by(StyleCheckpointRow.backend, StyleCheckpointRow.step)
        ).all()
        return [_checkpoint_info(row, style) for row in rows]


# --- the overview --------------------------------------------------------------------------


def style_summaries(db: Database) -> list[StyleSummary]:
    """Every recorded style by name, with its newest checkpoint per backend and its last run."""
    newest_step = (
        select(
            StyleCheckpointRow.style_id,
            StyleCheckpointRow.backend,
            func.max(StyleCheckpointRow.step).label("step"),
        )
        .group_by(StyleCheckpointRow.style_id, StyleCheckpointRow.backend)
        .subquery()
    )
    last_run_id = (
        select(func.max(TrainingRunRow.id).label("id")).group_by(TrainingRunRow.style_id).subquery()
    )
    with db.session() as session:
        styles = session.scalars(select(StyleRow).order_by(StyleRow.name)).all()
        names = {row.id: row.name for row in styles}
        latest: dict[int, dict[str, CheckpointInfo]] = {}
        for row in session.scalars(
            select(StyleCheckpointRow).join(
                newest_step,
                (StyleCheckpointRow.style_id == newest_step.c.style_id)
                & (StyleCheckpointRow.backend == newest_step.c.backend)
                & (StyleCheckpointRow.step == newest_step.c.step),
            )
        ):
            info = _checkpoint_info(row, names[row.style_id])
            latest.setdefault(row.style_id, {})[row.backend] = info
        runs = {
            row.style_id: _run_info(row, names[row.style_id])
            for row in session.scalars(
                select(TrainingRunRow).where(TrainingRunRow.id.in_(select(last_run_id.c.id)))
            )
        }
        return [
            StyleSummary(_style_info(row), latest.get(row.id, {}), runs.get(row.id))
            for row in styles
        ]
