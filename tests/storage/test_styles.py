"""The archive's record of trained styles: styles, training runs and checkpoints round-trip."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from storage.db import Database
from storage.errors import NotFoundError
from storage.styles import (
    STALE_RUN_ERROR,
    CheckpointRecord,
    TrainingStatus,
    close_stale_runs,
    finish_training_run,
    forget_checkpoints,
    get_style,
    record_checkpoints,
    save_style,
    start_training_run,
    style_checkpoints,
    style_summaries,
    training_runs,
)

PREPARED = datetime(2026, 11, 25, 20, 0, tzinfo=UTC)


def masks(db: Database, *, manifest: str = "a" * 64, images: int = 120) -> None:
    save_style(
        db,
        name="masks",
        resolution=256,
        images=images,
        manifest_sha256=manifest,
        source="~/curated/masks",
        prepared_at=PREPARED,
    )


def checkpoint(step: int, digest: str) -> CheckpointRecord:
    return CheckpointRecord(
        step=step,
        path=f"styles/masks/gan/checkpoints/step-{step:08d}",
        sha256=digest * 64,
        created_at=PREPARED + timedelta(minutes=step),
    )


def test_a_style_round_trips_and_is_updated_in_place(db: Database) -> None:
    assert get_style(db, "masks") is None
    masks(db)
    style = get_style(db, "masks")
    assert style is not None
    assert (style.resolution, style.images, style.source) == (256, 120, "~/curated/masks")
    assert style.prepared_at == PREPARED and style.recorded_at.tzinfo is not None
    masks(db, images=99)
    again = get_style(db, "masks")
    assert again is not None and again.images == 99
    assert [s.style.name for s in style_summaries(db)] == ["masks"]


def test_a_run_opens_running_and_closes_with_its_checkpoints(db: Database) -> None:
    masks(db)
    run_id = start_training_run(db, "masks", "gan", first_step=0, steps_planned=1000, pid=42)
    (running,) = training_runs(db, "masks")
    assert running.status == TrainingStatus.RUNNING and running.finished_at is None
    assert running.pid == 42 and running.started_at.tzinfo is not None
    assert record_checkpoints(db, "masks", "gan", [checkpoint(500, "1")], run_id=run_id) == 1
    # Recording what is already recorded changes nothing (the run and `style list` both sync).
    assert record_checkpoints(db, "masks", "gan", [checkpoint(500, "1")]) == 0
    record_checkpoints(db, "masks", "gan", [checkpoint(500, "1"), checkpoint(1000, "2")])
    finish_training_run(
        db,
        run_id,
        status=TrainingStatus.FINISHED,
        last_step=1000,
        processes=2,
        device="cuda",
        precision="bf16",
    )
    (run,) = training_runs(db, "masks")
    assert run.status == TrainingStatus.FINISHED and run.last_step == 1000
    assert (run.processes, run.device, run.precision, run.error) == (2, "cuda", "bf16", None)
    assert run.finished_at is not None and run.finished_at >= run.started_at
    saved = style_checkpoints(db, "masks")
    assert [(c.step, c.run_id) for c in saved] == [(500, run_id), (1000, None)]
    (summary,) = style_summaries(db)
    assert summary.backends == ["gan"] and summary.latest["gan"].step == 1000
    assert summary.latest["gan"].sha256 == "2" * 64
    assert summary.last_run is not None and summary.last_run.id == run_id


def test_a_step_made_again_replaces_its_row_and_fresh_forgets_them(db: Database) -> None:
    masks(db)
    record_checkpoints(db, "masks", "gan", [checkpoint(500, "1")])
    assert record_checkpoints(db, "masks", "gan", [checkpoint(500, "9")]) == 1
    assert [c.sha256[0] for c in style_checkpoints(db, "masks")] == ["9"]
    assert forget_checkpoints(db, "masks", "gan") == 1
    assert style_checkpoints(db, "masks") == []


def test_a_new_manifest_drops_the_checkpoints_but_keeps_the_runs(db: Database) -> None:
    masks(db)
    run_id = start_training_run(db, "masks", "gan", first_step=0, steps_planned=10)
    record_checkpoints(db, "masks", "gan", [checkpoint(10, "1")], run_id=run_id)
    masks(db)  # the same manifest: nothing dropped
    assert len(style_checkpoints(db, "masks")) == 1
    masks(db, manifest="b" * 64)
    assert style_checkpoints(db, "masks") == []
    assert [r.id for r in training_runs(db, "masks")] == [run_id]


def test_stale_running_rows_close_as_interrupted_at_their_last_checkpoint(db: Database) -> None:
    masks(db)
    dead = start_training_run(db, "masks", "gan", first_step=500, steps_planned=5000)
    record_checkpoints(db, "masks", "gan", [checkpoint(1000, "1")], run_id=dead)
    barren = start_training_run(db, "masks", "gan", first_step=1000, steps_planned=5000)
    closed = close_stale_runs(db, "masks")
    assert [(r.id, r.status, r.last_step) for r in closed] == [
        (dead, TrainingStatus.INTERRUPTED, 1000),
        (barren, TrainingStatus.INTERRUPTED, 1000),
    ]
    assert all(r.error == STALE_RUN_ERROR and r.finished_at for r in training_runs(db, "masks"))
    assert close_stale_runs(db, "masks") == []
    assert close_stale_runs(db, "nowhere") == []


def test_unknown_backends_and_styles_are_refused(db: Database) -> None:
    with pytest.raises(NotFoundError, match="no style 'masks'"):
        start_training_run(db, "masks", "gan", first_step=0, steps_planned=1)
    masks(db)
    with pytest.raises(ValueError, match="unknown training backend 'vae'; known: gan, lora"):
        start_training_run(db, "masks", "vae", first_step=0, steps_planned=1)
    with pytest.raises(ValueError, match="unknown training backend"):
        record_checkpoints(db, "masks", "diffusion", [checkpoint(1, "1")])
    with pytest.raises(NotFoundError):
        finish_training_run(db, 404, status=TrainingStatus.FAILED, last_step=None)
    record_checkpoints(db, "masks", "lora", [checkpoint(200, "3")])
    assert style_summaries(db)[0].backends == ["lora"]
