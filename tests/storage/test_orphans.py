"""The orphan sweep: files a crash left without a row go, files a row names stay, and only
the month folders a crash could have written to are listed."""

from __future__ import annotations

import os
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy.orm import Session

from storage.bulk import insert_artworks
from storage.db import Database
from storage.files import ImageStore, write_atomic
from storage.repository import (
    ARTWORK_DIR,
    get_artwork,
    orphan_files,
    remove_orphan_files,
    store_artwork,
)
from tests.storage.samples import image, make_artwork


def age(path: Path, seconds: float = 3600) -> None:
    then = time.time() - seconds
    os.utime(path, (then, then))


def archive_in_the_past(db: Database, store: ImageStore, months: int) -> list[Path]:
    """One old artwork (row and file, the file's mtime at its creation) per month, long ago."""
    made, paths = [], []
    for index in range(months):
        created = datetime(2023, 1 + index % 12, 15, 12, tzinfo=UTC) + timedelta(
            days=366 * (index // 12)
        )
        relative = Path(ARTWORK_DIR) / f"{created:%Y}" / f"{created:%m}" / f"old-{index}.png"
        write_atomic(store.absolute(relative), b"png")
        os.utime(store.absolute(relative), (created.timestamp(), created.timestamp()))
        paths.append(store.absolute(relative))
        made.append(
            make_artwork(index, image_path=relative, image_sha256="0" * 64, created_at=created)
        )
    insert_artworks(db, made)
    return paths


def crash_while_storing(
    db: Database, store: ImageStore, monkeypatch: pytest.MonkeyPatch
) -> list[Path]:
    """Run `store_artwork` until its commit and die there: its files stay, no row names them."""
    written: list[Path] = []
    real_save = ImageStore.save

    def save(self: ImageStore, relative: Path, data: bytes) -> Path:
        written.append(self.absolute(relative))
        return real_save(self, relative, data)

    class Killed(BaseException):
        """Stands for kill -9: nothing after it runs, the cleanup included."""

    def flush(self: Session, objects: object = None) -> None:
        raise Killed

    with monkeypatch.context() as patch:
        patch.setattr(ImageStore, "save", save)
        patch.setattr(ImageStore, "remove", lambda self, relative: None)
        patch.setattr(Session, "flush", flush)
        with pytest.raises(Killed):
            store_artwork(db, store, make_artwork(99), image(1), image(2))
    assert len(written) == 2 and all(p.is_file() for p in written)
    return written


def test_files_left_by_a_crash_are_removed_and_the_archive_kept(
    db: Database, store: ImageStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    old = archive_in_the_past(db, store, 3)
    kept = store_artwork(db, store, make_artwork(1), image(), image(3))
    crashed = crash_while_storing(db, store, monkeypatch)
    for path in crashed:
        age(path)
    assert remove_orphan_files(db, store) == sorted(crashed)
    assert not any(p.exists() for p in crashed)
    assert all(p.exists() for p in old)
    assert kept.id is not None and kept.image_path and kept.painting_path
    assert store.absolute(kept.image_path).exists() and store.absolute(kept.painting_path).exists()
    assert get_artwork(db, kept.id).image_path == kept.image_path


def test_a_crash_left_file_too_young_to_remove_is_removed_after_later_runs(
    db: Database, store: ImageStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    store_artwork(db, store, make_artwork(1), image())
    crashed = crash_while_storing(db, store, monkeypatch)
    assert remove_orphan_files(db, store) == []  # minutes old: it may await its commit
    # The next runs succeed and commit newer rows before the crash's files grow old.
    store_artwork(db, store, make_artwork(2), image(4))
    store_artwork(db, store, make_artwork(3), image(5))
    for path in crashed:
        age(path)
    assert remove_orphan_files(db, store) == sorted(crashed)


def test_the_sweep_lists_only_the_recent_month_folders(
    db: Database, store: ImageStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    archive_in_the_past(db, store, 24)
    newest = store_artwork(db, store, make_artwork(1), image())
    assert newest.created_at is not None and newest.image_path is not None
    crashed = crash_while_storing(db, store, monkeypatch)
    listed: list[Path] = []

    def list_folder(folder: Path) -> list[tuple[Path, bool]]:
        listed.append(folder)
        return [(entry, entry.is_dir()) for entry in folder.iterdir()]

    assert orphan_files(db, store, list_folder=list_folder) == sorted(crashed)
    root = store.absolute(ARTWORK_DIR)
    # The sweep reaches back one day before the newest row, so at most two month folders.
    since = newest.created_at - timedelta(days=1)
    recent = (
        {root / f"{when:%Y}" / f"{when:%m}" for when in (since, newest.created_at)}
        | {root / f"{when:%Y}" for when in (since, newest.created_at)}
        | {root}
    )
    assert set(listed) <= recent
    assert store.absolute(newest.image_path).parent in listed
    assert not any("2023" in str(p) or "2024" in str(p) for p in listed)


def test_a_file_an_old_row_names_is_never_called_an_orphan(db: Database, store: ImageStore) -> None:
    # A row whose date is far outside the sweep's window but whose file sits in a recent
    # folder (an import, a clock that was wrong): the sweep asks every row before deleting.
    newest = store_artwork(db, store, make_artwork(1), image())
    assert newest.image_path is not None
    relative = newest.image_path.parent / "imported.png"
    write_atomic(store.absolute(relative), b"png")
    age(store.absolute(relative))
    insert_artworks(
        db,
        [
            make_artwork(
                5,
                image_path=relative,
                image_sha256="0" * 64,
                created_at=datetime(2020, 1, 1, tzinfo=UTC),
            )
        ],
    )
    assert remove_orphan_files(db, store) == []
    assert store.absolute(relative).exists()


def test_with_no_row_only_half_written_files_are_swept(db: Database, store: ImageStore) -> None:
    # A database with no row beside a folder of images (a new DATABASE_URL, a deleted
    # kavi.db) must not cost the archive: only a write cut short is an orphan for sure.
    kept = store.absolute(Path(ARTWORK_DIR) / "2021" / "04" / "an-archived-artwork.png")
    write_atomic(kept, b"png")
    temp = kept.with_name(".first-run-crashed.png.abc123.tmp")
    temp.write_bytes(b"half")
    assert orphan_files(db, store) == [temp]
