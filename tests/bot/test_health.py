from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from bot.health import (
    Heartbeat,
    health_check,
    main_health,
    next_run_time,
    read_heartbeat,
    this_host,
    write_heartbeat,
)
from bot.settings import Settings, load_settings
from storage.db import Database
from storage.files import ImageStore
from storage.models import Base, PostRow, RunRow, RunStatus
from storage.repository import ensure_post, finish_run, start_run
from tests.fakes import store_sample_artwork

NOW = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return load_settings(data_dir=tmp_path / "data")


@pytest.fixture
def db(settings: Settings) -> Database:
    return Database.open(settings.resolved_database_url)


def beat(**changes: object) -> Heartbeat:
    values: dict[str, object] = {
        "pid": os.getpid(),
        "host": this_host(),
        "time": NOW - timedelta(seconds=5),
        "started_at": NOW - timedelta(hours=1),
        "state": "idle",
        "dry_run": False,
        "schedule": "0 9 * * *",
        "tz": "UTC",
        "next_run": datetime(2026, 11, 24, 9, 0, tzinfo=UTC),
    }
    values.update(changes)
    return Heartbeat(**values)  # type: ignore[arg-type]


def record(
    db: Database, status: RunStatus, *, dry_run: bool = False, error: str | None = None
) -> None:
    run_id = start_run(
        db, trigger="scheduled", dry_run=dry_run, local_date=date(2026, 11, 23), pid=1
    )
    finish_run(db, run_id, status=status, error=error)


def backdate(db: Database, model: type[Base], row_id: int, **values: object) -> None:
    """Set a row's columns directly: times the repository stamps with the real clock."""
    with db.session() as session, session.begin():
        row = session.get(model, row_id)
        assert row is not None
        for key, value in values.items():
            setattr(row, key, value)


def test_heartbeat_round_trips(settings: Settings) -> None:
    write_heartbeat(settings.data_dir, beat())
    assert read_heartbeat(settings.data_dir) == beat()


def test_no_heartbeat_means_not_running(settings: Settings, db: Database) -> None:
    healthy, message = health_check(settings, db=db, now=NOW)
    assert not healthy
    assert "not running" in message


def test_fresh_heartbeat_and_no_runs_is_healthy(settings: Settings, db: Database) -> None:
    write_heartbeat(settings.data_dir, beat())
    healthy, message = health_check(settings, db=db, now=NOW)
    assert healthy, message
    assert "next run 2026-11-24 09:00" in message


def test_a_failed_last_run_is_unhealthy_until_one_succeeds(
    settings: Settings, db: Database
) -> None:
    write_heartbeat(settings.data_dir, beat())
    record(db, RunStatus.FAILED, error="twitter: bad credentials")
    healthy, message = health_check(settings, db=db, now=NOW)
    assert not healthy
    assert "failed: twitter: bad credentials" in message
    record(db, RunStatus.SUCCEEDED)
    assert health_check(settings, db=db, now=NOW)[0]


def test_a_posting_service_ignores_failed_previews(settings: Settings, db: Database) -> None:
    write_heartbeat(settings.data_dir, beat(dry_run=False))
    record(db, RunStatus.SUCCEEDED)
    record(db, RunStatus.FAILED, dry_run=True)
    assert health_check(settings, db=db, now=NOW)[0]
    # ...but a dry-run service is judged by them.
    write_heartbeat(settings.data_dir, beat(dry_run=True))
    assert not health_check(settings, db=db, now=NOW)[0]


def test_a_stale_heartbeat_means_the_scheduler_is_stuck(settings: Settings, db: Database) -> None:
    write_heartbeat(settings.data_dir, beat(time=NOW - timedelta(minutes=10)))
    healthy, message = health_check(settings, db=db, now=NOW)
    assert not healthy
    assert "600 s old" in message


def test_a_dead_process_is_unhealthy_on_this_host_only(settings: Settings, db: Database) -> None:
    gone = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        capture_output=True,
        text=True,
        check=True,
    )
    dead_pid = int(gone.stdout)
    write_heartbeat(settings.data_dir, beat(pid=dead_pid))
    healthy, message = health_check(settings, db=db, now=NOW)
    assert not healthy
    assert f"process {dead_pid} is gone" in message
    # A heartbeat written in another container: its pid means nothing here.
    write_heartbeat(settings.data_dir, beat(pid=dead_pid, host="elsewhere"))
    assert health_check(settings, db=db, now=NOW)[0]


def test_a_stopped_service_is_unhealthy(settings: Settings, db: Database) -> None:
    write_heartbeat(settings.data_dir, beat(state="stopped", next_run=None))
    healthy, message = health_check(settings, db=db, now=NOW)
    assert not healthy
    assert "stopped" in message


def test_main_health_prints_one_line_and_exits_0_or_1(
    settings: Settings, db: Database, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main_health(settings) == 1
    assert capsys.readouterr().out.startswith("unhealthy: no heartbeat")
    write_heartbeat(settings.data_dir, beat(time=datetime.now(UTC)))
    assert main_health(settings) == 0
    assert capsys.readouterr().out.startswith("healthy: the service")


def test_next_run_time_is_in_tz(tmp_path: Path) -> None:
    settings = load_settings(data_dir=tmp_path, post_schedule="0 9 * * *", tz="Europe/Paris")
    fire = next_run_time(settings, NOW)
    assert fire is not None
    assert fire.isoformat() == "2026-11-24T09:00:00+01:00"


def test_a_run_running_for_hours_is_hung(settings: Settings, db: Database) -> None:
    write_heartbeat(settings.data_dir, beat())
    run_id = start_run(db, trigger="scheduled", dry_run=False, local_date=date(2026, 11, 23), pid=1)
    backdate(db, RunRow, run_id, started_at=NOW - timedelta(minutes=20))
    assert health_check(settings, db=db, now=NOW)[0]
    backdate(db, RunRow, run_id, started_at=NOW - timedelta(hours=4))
    healthy, message = health_check(settings, db=db, now=NOW)
    assert not healthy
    assert f"run #{run_id} (2026-11-23) has been running for 4.0 h" in message
    assert "hung" in message and "restart the service" in message


def test_a_pending_post_with_no_run_sending_it_is_stranded(
    settings: Settings, db: Database
) -> None:
    write_heartbeat(settings.data_dir, beat())
    artwork = store_sample_artwork(db, ImageStore(settings.data_dir))
    assert artwork.id is not None
    post = ensure_post(db, artwork.id, "instagram")
    # Between two attempts of a `retry` (no run row): not yet stranded.
    backdate(db, PostRow, post.id, updated_at=NOW - timedelta(minutes=5))
    assert health_check(settings, db=db, now=NOW)[0]

    backdate(db, PostRow, post.id, updated_at=NOW - timedelta(hours=2))
    healthy, message = health_check(settings, db=db, now=NOW)
    assert not healthy
    assert f"artwork {artwork.id}'s instagram post is stuck `pending`" in message
    assert f"python -m bot retry {artwork.id} --platform instagram" in message

    # Waiting out a back-off inside a run that is still going is fine.
    run_id = start_run(db, trigger="scheduled", dry_run=False, local_date=date(2026, 11, 23), pid=1)
    backdate(db, RunRow, run_id, started_at=NOW - timedelta(minutes=20), artwork_id=artwork.id)
    assert health_check(settings, db=db, now=NOW)[0]
    # ...until that run is over without having sent it.
    finish_run(db, run_id, status=RunStatus.ABANDONED)
    assert not health_check(settings, db=db, now=NOW)[0]


def test_a_gpu_image_without_a_gpu_is_unhealthy(
    settings: Settings, db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    torch = pytest.importorskip("torch")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    write_heartbeat(settings.data_dir, beat())
    assert health_check(settings, db=db, now=NOW)[0]
    gpu_image = load_settings(data_dir=settings.data_dir, expect_gpu=True)
    healthy, message = health_check(gpu_image, db=db, now=NOW)
    assert not healthy and message.startswith("no GPU: EXPECT_GPU asks for a GPU")
