"""What `kavi style` records in the archive: the style, each training run, each checkpoint.

The files under DATA_DIR/styles are what painters load; the archive keeps the history and
is what `style list`, `models list` and `status` read. Checkpoints are recorded from the
files (after each message training reports, and once more when it ends), so generators/
knows nothing of the archive, and a style prepared before the archive kept styles is
synced in the first time it is listed or trained.

One lock per style (`DATA_DIR/styles/.NAME.lock`) is held by `prepare` and `train` while
they run: a second train of the same style is refused at once, and a `running` row found
while the lock is free was left by a process that died (kill -9), so it is closed as
interrupted.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, tzinfo
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from bot.lock import DataDirBusy, DataDirLock
from storage.db import ArchiveReadError, Database
from storage.errors import StorageError
from storage.styles import (
    BACKENDS,
    CheckpointRecord,
    StyleInfo,
    StyleSummary,
    TrainingStatus,
    close_stale_runs,
    finish_training_run,
    forget_checkpoints,
    get_style,
    record_checkpoints,
    save_style,
    start_training_run,
    style_summaries,
)

if TYPE_CHECKING:
    from bot.settings import Settings
    from generators.style.layout import StyleLayout
    from generators.style.train import TrainReporter

log = logging.getLogger(__name__)

_STEP_DIR = re.compile(r"^step-(\d{8})$")
# The variables a launcher (torchrun, MPI) sets to tell a process its global rank; the same
# ones Accelerate reads. Unset: a plain one-process run, which is the main one.
_RANK_VARIABLES = ("RANK", "PMI_RANK", "OMPI_COMM_WORLD_RANK", "MV2_COMM_WORLD_RANK")
_WORLD_VARIABLES = ("WORLD_SIZE", "PMI_SIZE", "OMPI_COMM_WORLD_SIZE", "MV2_COMM_WORLD_SIZE")


def _launch_number(names: tuple[str, ...], default: int) -> int:
    for name in names:
        value = os.environ.get(name, "").strip()
        if value.isdigit():
            return int(value)
    return default


def launch_rank() -> int:
    """This process's rank under `accelerate launch` (0, the main process, when not launched)."""
    return _launch_number(_RANK_VARIABLES, 0)


def style_lock(styles_dir: Path, name: str) -> DataDirLock:
    return DataDirLock(Path(styles_dir) / f".{name}.lock", f"style {name!r}")


@contextmanager
def hold_style(styles_dir: Path, name: str, doing: str) -> Iterator[DataDirLock]:
    """Hold the style's lock while `doing`, or raise DataDirBusy naming who holds it."""
    lock = style_lock(styles_dir, name)
    if not lock.try_acquire():
        holder = lock.holder()
        who = f"process {holder}" if holder else "another process"
        raise DataDirBusy(
            f"style {name!r} is busy: {who} is preparing or training it, so it cannot be "
            f"{doing} now; wait for that to finish (or stop it) and run this again",
            holder=holder,
        )
    try:
        yield lock
    finally:
        lock.release()


# --- from the files ------------------------------------------------------------------------


def _mtime(path: Path) -> datetime:
    return datetime.fromtimestamp(path.stat().st_mtime, UTC)


def record_style(db: Database, layout: StyleLayout, *, source: str | None = None) -> StyleInfo:
    """Record (or update) the style from its manifest; `source` as `prepare --from` gave it."""
    raw = layout.manifest.read_bytes()
    manifest = layout.read_manifest()
    try:
        prepared_at = datetime.fromisoformat(manifest["created"])
    except (KeyError, TypeError, ValueError):
        prepared_at = _mtime(layout.manifest)
    return save_style(
        db,
        name=layout.name,
        resolution=int(manifest["resolution"]),
        images=len(manifest["images"]),
        manifest_sha256=hashlib.sha256(raw).hexdigest(),
        source=source if source is not None else str(manifest.get("source", "")),
        prepared_at=prepared_at if prepared_at.tzinfo else prepared_at.replace(tzinfo=UTC),
    )


def backend_checkpoints(layout: StyleLayout, backend: str) -> list[tuple[int, Path, str]]:
    """(step, folder, weights sha256) of each complete checkpoint a backend left, oldest first."""
    from generators.style.checkpoint import EMA_FILE, list_checkpoints
    from generators.style.lora import LORA_WEIGHTS

    weights = LORA_WEIGHTS if backend == "lora" else EMA_FILE
    found = list_checkpoints(layout.run(backend).checkpoints, weights)
    return [(c.step, c.path, c.sha256) for c in found]


def checkpoint_records(layout: StyleLayout, backend: str, data_dir: Path) -> list[CheckpointRecord]:
    """The backend's checkpoints on disk as rows to record (paths relative to DATA_DIR)."""
    records = []
    for step, path, digest in backend_checkpoints(layout, backend):
        try:
            where = path.relative_to(data_dir).as_posix()
            made = _mtime(path / "state.json")
        except (ValueError, OSError):
            continue  # pruned while we looked, or outside DATA_DIR (never, but not a row)
        records.append(CheckpointRecord(step=step, path=where, sha256=digest, created_at=made))
    return records


def sync_style(db: Database, layout: StyleLayout, data_dir: Path) -> None:
    """Bring the archive up to the style's files: its manifest, then its checkpoints."""
    recorded = get_style(db, layout.name)
    digest = hashlib.sha256(layout.manifest.read_bytes()).hexdigest()
    if recorded is None or recorded.manifest_sha256 != digest:
        record_style(db, layout)
    for backend in BACKENDS:
        found = checkpoint_records(layout, backend, data_dir)
        if found:
            record_checkpoints(db, layout.name, backend, found)


# --- a training run ------------------------------------------------------------------------


class TrainOutcome(Protocol):
    """What any backend's training returns that the run's row needs (the GAN's TrainResult)."""

    step: int
    interrupted: bool
    main_process: bool
    processes: int
    device: str | None
    precision: str | None


@dataclass
class TrainingRecord:
    """The archive's side of one training run; with no `db` (another process) it writes nothing."""

    db: Database | None
    layout: StyleLayout
    data_dir: Path
    backend: str
    run_id: int | None = None
    last_step: int | None = None
    redact: Callable[[str], str] = field(default=str)

    def sync(self) -> None:
        """Record the checkpoints on disk as this run's; a busy archive only warns."""
        if self.db is None:
            return
        try:
            record_checkpoints(
                self.db,
                self.layout.name,
                self.backend,
                checkpoint_records(self.layout, self.backend, self.data_dir),
                run_id=self.run_id,
            )
        except (StorageError, ArchiveReadError) as exc:
            # Training goes on; the sync when the run ends (or the next `style list`) retries.
            log.warning("could not record checkpoints of style %s: %s", self.layout.name, exc)

    def reporter(self, inner: TrainReporter | None) -> TrainReporter:
        """`inner` (or plain lines) that also records new checkpoints at each message."""
        from generators.style.train import PrintReporter

        shown = inner or PrintReporter()
        return shown if self.db is None else _RecordingReporter(shown, self)

    def finished(self, result: TrainOutcome) -> None:
        """Close the run from what training returned: finished, or interrupted (Ctrl-C)."""
        self.last_step = result.step
        if self.db is None or self.run_id is None or not result.main_process:
            return
        self.sync()
        finish_training_run(
            self.db,
            self.run_id,
            status=TrainingStatus.INTERRUPTED if result.interrupted else TrainingStatus.FINISHED,
            last_step=result.step,
            processes=result.processes,
            device=result.device,
            precision=result.precision,
        )
        self.run_id = None

    def failed(self, exc: BaseException) -> None:
        """Close the run after an exception: Ctrl-C before the loop, or a failure."""
        if self.db is None or self.run_id is None:
            return
        self.sync()
        interrupted = isinstance(exc, KeyboardInterrupt)
        finish_training_run(
            self.db,
            self.run_id,
            status=TrainingStatus.INTERRUPTED if interrupted else TrainingStatus.FAILED,
            last_step=self.last_step,
            error=None if interrupted else self.redact(str(exc)) or type(exc).__name__,
        )
        self.run_id = None


class _RecordingReporter:
    """Passes everything on to the reporter shown; records new checkpoints at each message."""

    def __init__(self, inner: TrainReporter, record: TrainingRecord) -> None:
        self.inner = inner
        self.record = record

    def start(self, *, first_step: int, total: int) -> None:
        self.inner.start(first_step=first_step, total=total)

    def step(self, step: int, losses: dict[str, float]) -> None:
        self.record.last_step = step
        self.inner.step(step, losses)

    def message(self, text: str) -> None:
        # Training says a message after each checkpoint it saves, before it can prune one;
        # recorded first, so a checkpoint the run said it saved is in the archive.
        self.record.sync()
        self.inner.message(text)

    def close(self) -> None:
        self.inner.close()


@contextmanager
def recorded_training(
    settings: Settings,
    layout: StyleLayout,
    backend: str,
    *,
    first_step: int,
    steps_planned: int,
    fresh: bool,
) -> Iterator[TrainingRecord]:
    """Hold the style's lock and keep its run row for the length of the block.

    Only the main process records (the others get a record that writes nothing). On entry:
    the style synced from its files, runs a dead process left `running` closed as
    interrupted, and a `running` row opened. On exit: closed as finished or interrupted by
    `finished()`, else by the exception (KeyboardInterrupt: interrupted; any other: failed,
    its text redacted of secrets).
    """
    data_dir = settings.data_dir
    if launch_rank() != 0:
        yield TrainingRecord(None, layout, data_dir, backend)
        return
    from bot.logs import RedactSecrets

    with hold_style(layout.root.parent, layout.name, "trained"):
        db = Database.open(settings.resolved_database_url)
        try:
            sync_style(db, layout, data_dir)
            if fresh:  # after the sync: training deletes these folders before its first step
                forget_checkpoints(db, layout.name, backend)
            for stale in close_stale_runs(db, layout.name):
                log.warning(
                    "training run #%s of style %s (%s) was left running by a process that "
                    "died; recorded as interrupted at step %s",
                    stale.id,
                    layout.name,
                    stale.backend,
                    stale.last_step,
                )
            record = TrainingRecord(
                db,
                layout,
                data_dir,
                backend,
                redact=RedactSecrets(settings.secret_values()).redact,
            )
            record.run_id = start_training_run(
                db,
                layout.name,
                backend,
                first_step=first_step,
                steps_planned=steps_planned,
                # Known before Accelerate starts, so a run killed with -9 still says it.
                processes=_launch_number(_WORLD_VARIABLES, 1),
                pid=os.getpid(),
            )
            try:
                yield record
            except BaseException as exc:
                record.failed(exc)
                raise
            # A block that returned without `finished()` still leaves no `running` row.
            record.failed(RuntimeError("training ended without a result"))
        finally:
            db.close()


# --- the overview --------------------------------------------------------------------------


def style_overview(db: Database, data_dir: Path) -> list[tuple[StyleSummary, bool]]:
    """Every style (synced from its files) and whether its folder is still there.

    Styles prepared before the archive recorded them are synced in; a run left `running`
    by a dead process is closed as interrupted when its style's lock is free (never waits).
    """
    from generators.style.layout import list_styles

    styles_dir = data_dir / "styles"
    on_disk = list_styles(styles_dir)
    for layout in on_disk:
        sync_style(db, layout, data_dir)
        lock = style_lock(styles_dir, layout.name)
        if lock.try_acquire():
            try:
                close_stale_runs(db, layout.name)
            finally:
                lock.release()
    present = {layout.name for layout in on_disk}
    return [(summary, summary.style.name in present) for summary in style_summaries(db)]


def style_line(summary: StyleSummary, *, present: bool, zone: tzinfo) -> str:
    """One line: images, each backend's last step and checkpoint sha256, the last run."""
    style = summary.style
    trained = ", ".join(
        f"{c.backend} trained to step {c.step} (sha256 {c.sha256[:12]})"
        for c in (summary.latest[b] for b in summary.backends)
    )
    parts = [
        f"{style.name:<20} {style.images:>6} images at {style.resolution} px",
        trained or "not trained",
    ]
    run = summary.last_run
    if run is not None:
        if run.status == TrainingStatus.RUNNING:
            when = f"since {run.started_at.astimezone(zone):%Y-%m-%d %H:%M %Z}"
            who = f", pid {run.pid}" if run.pid else ""
            parts.append(f"last run #{run.id} ({run.backend}) running {when}{who}")
        else:
            ended = run.finished_at or run.started_at
            reached = run.last_step if run.last_step is not None else run.first_step
            parts.append(
                f"last run #{run.id} ({run.backend}, steps {run.first_step}-{reached}) "
                f"{run.status.value} {ended.astimezone(zone):%Y-%m-%d %H:%M %Z}"
            )
    if not present:
        parts.append("its folder is gone from DATA_DIR/styles")
    return "  ".join(parts)


def style_lines(db: Database, data_dir: Path, zone: tzinfo) -> list[str]:
    """One line per style, from the archive (synced from the files first)."""
    return [
        style_line(summary, present=present, zone=zone)
        for summary, present in style_overview(db, data_dir)
    ]
