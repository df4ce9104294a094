"""`kavi style` records what it prepares and trains; `style list`, `models list`, status show it."""

from __future__ import annotations

import shutil
import signal
import sys
from pathlib import Path

import pytest

from bot.cli import main
from bot.style_records import style_lock
from storage.db import Database
from storage.styles import (
    STALE_RUN_ERROR,
    TrainingStatus,
    get_style,
    start_training_run,
    style_checkpoints,
    training_runs,
)
from tests.generators.style_collections import (  # noqa: F401
    ONE_THREAD_ENV,
    make_collection,
    one_torch_thread,
)
from tests.processes import kavi_env, signal_after_line

pytestmark = pytest.mark.usefixtures("one_torch_thread")
TINY = ["--width", "4", "--latent", "8", "--batch-size", "4", "--device", "cpu"]
EVERY_2 = ["--checkpoint-every", "2", "--sample-every", "2"]
SECRET = "s3cr3t-value-123"


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    pytest.importorskip("accelerate")
    path = tmp_path / "data"
    monkeypatch.setenv("DATA_DIR", str(path))
    monkeypatch.setenv("TWITTER_API_SECRET", SECRET)
    return path


@pytest.fixture
def prepared(tmp_path: Path, data_dir: Path, capsys: pytest.CaptureFixture[str]) -> str:
    """A style `blobs` of 8 images at 16 px, prepared through the CLI."""
    make_collection(tmp_path / "curated", 8, size=32)
    source = str(tmp_path / "curated")
    assert main(["style", "prepare", "blobs", "--from", source, "--resolution", "16"]) == 0
    capsys.readouterr()
    return source


def archive(data_dir: Path) -> Database:
    return Database.open(f"sqlite:///{data_dir / 'kavi.db'}")


def test_prepare_and_train_record_the_style_the_run_and_every_checkpoint(
    prepared: str, data_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = archive(data_dir)
    style = get_style(db, "blobs")
    assert style is not None
    assert (style.images, style.resolution, style.source) == (8, 16, prepared)
    assert main(["style", "train", "blobs", "--steps", "8", *TINY, *EVERY_2]) == 0
    assert "trained to step 8" in capsys.readouterr().out
    (run,) = training_runs(db, "blobs")
    assert run.status == TrainingStatus.FINISHED
    assert (run.first_step, run.last_step, run.steps_planned) == (0, 8, 8)
    assert (run.processes, run.device, run.precision, run.error) == (1, "cpu", "no", None)
    # Training keeps the newest three folders; the archive keeps all four the run saved.
    saved = style_checkpoints(db, "blobs")
    assert [(c.step, c.run_id) for c in saved] == [(s, run.id) for s in (2, 4, 6, 8)]
    folders = sorted((data_dir / "styles" / "blobs" / "gan" / "checkpoints").iterdir())
    assert [c.path for c in saved[1:]] == [f.relative_to(data_dir).as_posix() for f in folders]
    state = (folders[-1] / "state.json").read_text()
    assert saved[-1].sha256 in state

    assert main(["style", "list"]) == 0
    listed = capsys.readouterr().out
    assert "8 images at 16 px" in listed
    assert f"gan trained to step 8 (sha256 {saved[-1].sha256[:12]})" in listed
    assert f"last run #{run.id} (gan, steps 0-8) finished" in listed
    assert main(["models", "list"]) == 0
    assert "style  blobs" in capsys.readouterr().out
    assert main(["status"]) == 0
    assert "Style:     blobs" in capsys.readouterr().out

    # --fresh deletes the folders, so the archive forgets their rows (the runs stay).
    assert main(["style", "train", "blobs", "--steps", "2", "--fresh", *TINY, *EVERY_2]) == 0
    first, again = training_runs(db, "blobs")
    assert first.id == run.id and again.first_step == 0
    assert [(c.step, c.run_id) for c in style_checkpoints(db, "blobs")] == [(2, again.id)]
    db.close()


def test_an_interrupted_and_a_failed_run_are_recorded_so_without_secrets(
    prepared: str, data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from generators.style.train import PrintReporter

    def stop_at_3(self: PrintReporter, step: int, losses: dict[str, float]) -> None:
        if step == 3:
            raise KeyboardInterrupt

    monkeypatch.setattr(PrintReporter, "step", stop_at_3)
    assert main(["style", "train", "blobs", "--steps", "8", *TINY, *EVERY_2]) == 130

    def fail_at_5(self: PrintReporter, step: int, losses: dict[str, float]) -> None:
        if step == 5:
            raise RuntimeError(f"disk full near {SECRET}")

    monkeypatch.setattr(PrintReporter, "step", fail_at_5)
    assert main(["style", "train", "blobs", "--steps", "8", "--device", "cpu", *EVERY_2]) == 1
    db = archive(data_dir)
    stopped, failed = training_runs(db, "blobs")
    assert (stopped.status, stopped.last_step, stopped.error) == (
        TrainingStatus.INTERRUPTED,
        3,
        None,
    )
    assert (failed.status, failed.first_step, failed.last_step) == (TrainingStatus.FAILED, 3, 5)
    assert failed.error is not None and "disk full near" in failed.error
    assert SECRET not in failed.error
    # Ctrl-C saved step 3; the failed run saved step 4 before it failed.
    assert [(c.step, c.run_id) for c in style_checkpoints(db, "blobs")] == [
        (2, stopped.id),
        (3, stopped.id),
        (4, failed.id),
    ]
    db.close()


def test_a_run_left_running_is_closed_by_the_next_train_and_a_busy_style_is_refused(
    prepared: str, data_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = archive(data_dir)
    lock = style_lock(data_dir / "styles", "blobs")
    assert lock.try_acquire()  # as a train running in another process holds it
    try:
        live = start_training_run(db, "blobs", "gan", first_step=0, steps_planned=100, pid=4242)
        assert main(["style", "list"]) == 0
        assert f"last run #{live} (gan) running since" in capsys.readouterr().out
        assert main(["style", "train", "blobs", "--steps", "2", *TINY]) == 2
        err = capsys.readouterr().err
        assert "style 'blobs' is busy: process" in err and "preparing or training it" in err
        assert main(["style", "prepare", "blobs", "--from", prepared, "--replace"]) == 2
        assert "style 'blobs' is busy" in capsys.readouterr().err
    finally:
        lock.release()
    assert [r.status for r in training_runs(db, "blobs")] == [TrainingStatus.RUNNING]

    # The lock is free, so the `running` row was left by a process that died (kill -9).
    assert main(["style", "train", "blobs", "--steps", "2", *TINY]) == 0
    stale, done = training_runs(db, "blobs")
    assert (stale.id, stale.status, stale.error) == (
        live,
        TrainingStatus.INTERRUPTED,
        STALE_RUN_ERROR,
    )
    assert stale.last_step == 0 and done.status == TrainingStatus.FINISHED
    # `style list` settles such a row too, when it finds the lock free.
    dead = start_training_run(db, "blobs", "gan", first_step=2, steps_planned=100, pid=4242)
    assert main(["style", "list"]) == 0
    assert f"last run #{dead} (gan, steps 2-2) interrupted" in capsys.readouterr().out
    db.close()


def test_a_train_killed_with_9_is_closed_as_interrupted_at_its_last_checkpoint(
    prepared: str, tmp_path: Path, data_dir: Path
) -> None:
    argv = [sys.executable, "-m", "bot", "style", "train", "blobs", "--steps", "100000"]
    argv += ["--checkpoint-every", "2", "--sample-every", "1000", *TINY]
    process = signal_after_line(
        argv,
        env=kavi_env(data_dir, ONE_THREAD_ENV),
        cwd=tmp_path,
        line="checkpoint saved at step 2",
        signum=signal.SIGKILL,
    )
    assert process.returncode == -signal.SIGKILL, process.output
    db = archive(data_dir)
    (killed,) = training_runs(db, "blobs")
    assert killed.status == TrainingStatus.RUNNING and killed.pid == process.pid
    assert killed.processes == 1
    # Recorded while it ran: every checkpoint it said it saved.
    recorded = [c.step for c in style_checkpoints(db, "blobs") if c.run_id == killed.id]
    assert recorded and recorded[0] == 2

    assert main(["style", "train", "blobs", "--steps", str(recorded[-1] + 2), *TINY]) == 0
    killed, resumed = training_runs(db, "blobs")
    assert killed.status == TrainingStatus.INTERRUPTED and killed.error == STALE_RUN_ERROR
    assert killed.last_step == recorded[-1] and killed.finished_at is not None
    assert resumed.status == TrainingStatus.FINISHED and resumed.first_step >= recorded[-1]
    db.close()


def test_a_style_prepared_before_the_archive_kept_styles_is_synced_in(
    tmp_path: Path, data_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from generators.style.prepare import prepare_style

    make_collection(tmp_path / "curated", 6, size=32)
    # As an older Kavi left it: the files, no rows.
    prepare_style(tmp_path / "curated", data_dir / "styles", "old", resolution=16)
    assert main(["style", "list"]) == 0
    listed = capsys.readouterr().out
    assert "old" in listed and "6 images at 16 px  not trained" in listed
    db = archive(data_dir)
    style = get_style(db, "old")
    assert style is not None and style.images == 6
    assert style.source == str((tmp_path / "curated").resolve())
    # The record outlives the folder, and the line says the folder is gone.
    shutil.rmtree(data_dir / "styles" / "old")
    assert main(["style", "list"]) == 0
    assert "6 images at 16 px  not trained  its folder is gone" in capsys.readouterr().out
    db.close()
