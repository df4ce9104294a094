from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import inspect, text
from sqlalchemy.exc import IntegrityError

from storage.db import Database
from storage.errors import NotFoundError, StorageError
from storage.files import ImageStore, write_atomic
from storage.models import PostRow, PostState, RunStatus
from storage.repository import (
    abandon_running_runs,
    finish_run,
    get_artwork,
    last_run,
    list_artworks,
    orphan_files,
    posting_runs_with_artwork_on,
    running_runs,
    start_run,
    store_artwork,
    succeeded_run_on,
)
from tests.storage.samples import image, make_artwork


def test_migrations_create_schema_and_wal(db: Database) -> None:
    tables = set(inspect(db.engine).get_table_names())
    assert {"artworks", "posts", "runs", "alembic_version"} <= tables
    assert {"styles", "training_runs", "style_checkpoints"} <= tables
    with db.engine.connect() as conn:
        assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert conn.execute(text("SELECT version_num FROM alembic_version")).scalar() == "0010"


def test_migrate_twice_is_a_noop(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'kavi.db'}"
    Database.open(url).close()
    Database.open(url).close()


def test_store_and_read_back(db: Database, store: ImageStore, tmp_path: Path) -> None:
    stored = store_artwork(db, store, make_artwork(), image(), image(1))
    assert stored.id is not None
    again = get_artwork(db, stored.id)
    assert again.poem == "a\nb\nc"
    assert again.timings == {"poem_s": 0.01}
    assert again.image_path and (tmp_path / again.image_path).is_file()
    assert again.painting_path and (tmp_path / again.painting_path).is_file()
    assert again.width == 32 and again.image_sha256 and len(again.image_sha256) == 64
    assert [a.id for a in list_artworks(db)] == [stored.id]


def test_the_painter_s_scene_record_is_kept(db: Database, store: ImageStore) -> None:
    scene = {
        "framing": "close-up",
        "drawn": [{"subject": "frog", "box": [10, 12, 30, 28]}],
        "not_drawn": ["teacup"],
    }
    stored = store_artwork(db, store, make_artwork(scene=scene), image(), image(1))
    assert stored.id is not None
    assert get_artwork(db, stored.id).scene == scene
    older = store_artwork(db, store, make_artwork(seed=2), image(2), image(3))
    assert older.id is not None and get_artwork(db, older.id).scene == {}


def test_unknown_artwork(db: Database) -> None:
    with pytest.raises(NotFoundError, match="no artwork with id 99"):
        get_artwork(db, 99)


def test_crash_between_file_write_and_commit_leaves_no_row_and_no_file(
    db: Database, store: ImageStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from sqlalchemy.orm import Session

    def fail_flush(self: Session, *args: object, **kwargs: object) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(Session, "flush", fail_flush)
    with pytest.raises(StorageError, match="could not archive the artwork: disk full"):
        store_artwork(db, store, make_artwork(), image(), image(1))
    monkeypatch.undo()
    assert list_artworks(db) == []
    assert [p for p in (tmp_path / "artworks").rglob("*") if p.is_file()] == []


def test_files_are_written_before_the_row(
    db: Database, store: ImageStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from sqlalchemy.orm import Session

    seen: list[bool] = []
    real_flush = Session.flush

    def checking_flush(self: Session, *args: object, **kwargs: object) -> None:
        seen.append(any(p.suffix == ".png" for p in (tmp_path / "artworks").rglob("*")))
        real_flush(self, *args, **kwargs)

    monkeypatch.setattr(Session, "flush", checking_flush)
    store_artwork(db, store, make_artwork(), image())
    assert seen and all(seen)


def test_orphan_files_are_found(db: Database, store: ImageStore, tmp_path: Path) -> None:
    stored = store_artwork(db, store, make_artwork(), image())
    assert stored.image_path is not None
    # Where a run that crashed after this one would have written its file.
    stray = tmp_path / stored.image_path.parent / "stray.png"
    write_atomic(stray, b"x")
    assert orphan_files(db, store) == [stray]


def test_atomic_write_leaves_no_temp_file_on_failure(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import os

    def boom(src: str, dst: str) -> None:
        raise OSError("rename failed")

    monkeypatch.setattr(os, "replace", boom)
    with pytest.raises(OSError):
        write_atomic(tmp_path / "x.png", b"data")
    assert list(tmp_path.iterdir()) == []


def test_one_post_row_per_artwork_and_platform(db: Database, store: ImageStore) -> None:
    stored = store_artwork(db, store, make_artwork(), image())
    with db.session() as session, session.begin():
        session.add(PostRow(artwork_id=stored.id, platform="twitter"))
    with pytest.raises(IntegrityError), db.session() as session, session.begin():
        session.add(PostRow(artwork_id=stored.id, platform="twitter"))
    with db.session() as session:
        assert session.query(PostRow).one().state == PostState.PENDING


def test_runs_record_outcome_and_today(db: Database, store: ImageStore) -> None:
    day = date(2026, 11, 23)
    run_id = start_run(db, trigger="scheduled", dry_run=False, local_date=day, pid=1)
    assert last_run(db).status == RunStatus.RUNNING
    assert succeeded_run_on(db, day, dry_run=False) is None
    stored = store_artwork(db, store, make_artwork(), image())
    finish_run(db, run_id, status=RunStatus.SUCCEEDED, artwork_id=stored.id)
    done = succeeded_run_on(db, day, dry_run=False)
    assert done is not None and done.artwork_id == stored.id
    assert succeeded_run_on(db, day, dry_run=True) is None


def test_runs_left_running_are_abandoned(db: Database) -> None:
    start_run(db, trigger="manual", dry_run=True, local_date=date(2026, 1, 1), pid=1)
    assert abandon_running_runs(db) == 1
    run = last_run(db)
    assert run is not None and run.status == RunStatus.ABANDONED and run.error


def test_running_runs_are_listed_oldest_first(db: Database) -> None:
    day = date(2026, 11, 23)
    preview = start_run(db, trigger="scheduled", dry_run=True, local_date=day, pid=1)
    post = start_run(db, trigger="manual", dry_run=False, local_date=day, pid=2)
    done = start_run(db, trigger="manual", dry_run=False, local_date=day, pid=3)
    finish_run(db, done, status=RunStatus.SUCCEEDED)
    assert [r.id for r in running_runs(db)] == [preview, post]
    assert [r.id for r in running_runs(db, include_dry_runs=False)] == [post]
    assert running_runs(db)[0].started_at.tzinfo is not None


def test_posting_runs_with_an_artwork_on_a_day(db: Database, store: ImageStore) -> None:
    day = date(2026, 11, 23)
    stored = store_artwork(db, store, make_artwork(), image())
    assert stored.id is not None
    failed = start_run(db, trigger="scheduled", dry_run=False, local_date=day, pid=1)
    finish_run(db, failed, status=RunStatus.FAILED, artwork_id=stored.id)
    start_run(db, trigger="scheduled", dry_run=False, local_date=day, pid=1)  # no artwork yet
    preview = start_run(db, trigger="manual", dry_run=True, local_date=day, pid=1)
    finish_run(db, preview, status=RunStatus.SUCCEEDED, artwork_id=stored.id)
    [run] = posting_runs_with_artwork_on(db, day)
    assert (run.id, run.artwork_id, run.status) == (failed, stored.id, RunStatus.FAILED)
    assert posting_runs_with_artwork_on(db, date(2026, 11, 24)) == []


def test_old_orphan_files_are_removed_and_young_ones_kept(
    db: Database, store: ImageStore, tmp_path: Path
) -> None:
    import os
    import time

    from storage.repository import remove_orphan_files

    stored = store_artwork(db, store, make_artwork(), image())
    assert stored.image_path is not None
    old = tmp_path / stored.image_path.parent / "crashed.png"
    young = tmp_path / stored.image_path.parent / "being-written.png"
    write_atomic(old, b"x")
    write_atomic(young, b"y")
    an_hour_ago = time.time() - 3600
    os.utime(old, (an_hour_ago, an_hour_ago))
    assert remove_orphan_files(db, store) == [old]
    assert not old.exists() and young.exists()
    assert stored.image_path and (tmp_path / stored.image_path).exists()
