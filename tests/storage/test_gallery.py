"""The gallery's read queries: keyset pages, filters found by bisection, neighbours, spans."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import OperationalError

from storage.bulk import insert_artworks
from storage.db import Database
from storage.files import ImageStore
from storage.gallery import GalleryFilter, archive_span, gallery_page, neighbours
from tests.storage.samples import make_artwork

START = datetime(2025, 11, 20, tzinfo=UTC)


def fill(
    db: Database, count: int, step: timedelta = timedelta(hours=31)
) -> list[tuple[int, datetime, str]]:
    """`count` rows, made `step` apart from START, moods in turn; (id, made, mood) each."""
    moods = ("love", "fear", "sadness", "trust")
    made = [START + step * i for i in range(count)]
    ids = insert_artworks(
        db,
        [
            make_artwork(
                i,
                mood=moods[i % 4],
                created_at=made[i],
                image_path=Path(f"artworks/{i}.png"),
                image_sha256="0" * 64,
            )
            for i in range(count)
        ],
    )
    return [(ids[i], made[i], moods[i % 4]) for i in range(count)]


def walk(db: Database, size: int, where: GalleryFilter) -> list[int]:
    seen: list[int] = []
    before = None
    while True:
        page = gallery_page(db, size=size, before=before, where=where)
        seen += [a.id for a in page.artworks if a.id]
        if page.older_before is None:
            return seen
        before = page.older_before


@pytest.mark.parametrize("size", [1, 7, 100])
def test_pages_cover_every_row_once_for_each_filter(db: Database, size: int) -> None:
    rows = fill(db, 90)
    for where in (
        GalleryFilter(),
        GalleryFilter(mood="fear"),
        GalleryFilter(
            since=datetime(2025, 12, 1, tzinfo=UTC), until=datetime(2026, 1, 1, tzinfo=UTC)
        ),
        GalleryFilter(
            mood="love",
            since=datetime(2026, 1, 1, tzinfo=UTC),
            until=datetime(2026, 2, 1, tzinfo=UTC),
        ),
        GalleryFilter(since=datetime(2030, 1, 1, tzinfo=UTC)),
        GalleryFilter(until=START),
        GalleryFilter(until=START + timedelta(seconds=1)),
    ):
        expected = [
            i
            for i, made, mood in reversed(rows)
            if (where.mood is None or mood == where.mood)
            and (where.since is None or made >= where.since)
            and (where.until is None or made < where.until)
        ]
        assert walk(db, size, where) == expected, where


def test_after_gives_the_page_just_newer(db: Database) -> None:
    ids = [i for i, _, _ in fill(db, 20)]
    page = gallery_page(db, size=5, after=ids[3])
    assert [a.id for a in page.artworks] == ids[4:9][::-1]
    assert page.newer_after == ids[8] and page.older_before == ids[4]
    top = gallery_page(db, size=5, after=ids[14])
    assert [a.id for a in top.artworks] == ids[15:][::-1] and top.newer_after is None


def test_a_month_is_found_with_a_few_lookups_at_any_size(db: Database) -> None:
    rows = fill(db, 3000, step=timedelta(hours=2))
    statements: list[str] = []

    from sqlalchemy import event

    event.listen(db.engine, "before_cursor_execute", lambda *a: statements.append(a[2]))
    where = GalleryFilter(
        since=datetime(2025, 12, 10, tzinfo=UTC), until=datetime(2025, 12, 11, tzinfo=UTC)
    )
    page = gallery_page(db, size=24, where=where)
    assert (
        [a.id for a in page.artworks]
        == [
            i
            for i, made, _ in reversed(rows)
            if where.since <= made < where.until  # type: ignore[operator]
        ][:24]
    )
    # Two bisections over 3,000 ids, the page and one look beyond it; no scan of the table.
    assert len(statements) < 40


def test_neighbours_and_span(db: Database) -> None:
    assert archive_span(db) is None
    rows = fill(db, 5)
    ids = [i for i, _, _ in rows]
    assert neighbours(db, ids[2]) == (ids[3], ids[1])
    assert neighbours(db, ids[0]) == (ids[1], None)
    assert neighbours(db, ids[4]) == (None, ids[3])
    assert archive_span(db) == (rows[0][1], rows[-1][1])


def test_page_size_and_keys_are_checked(db: Database) -> None:
    with pytest.raises(ValueError, match="between 1 and 100"):
        gallery_page(db, size=0)
    with pytest.raises(ValueError, match="not both"):
        gallery_page(db, size=5, before=3, after=1)


def test_a_read_only_database_refuses_writes_and_never_creates_the_file(
    db: Database, tmp_path: Path
) -> None:
    fill(db, 2)
    reader = Database.open_read_only(db.url)
    assert len(gallery_page(reader, size=10).artworks) == 2
    with pytest.raises(OperationalError, match="readonly"), reader.session() as session:
        session.execute(text("UPDATE artworks SET mood='x'"))
        session.commit()
    reader.close()
    missing = Database.open_read_only(f"sqlite:///{tmp_path / 'none.db'}")
    with pytest.raises(OperationalError), missing.session() as session:
        session.execute(text("SELECT 1 FROM artworks"))
    assert not (tmp_path / "none.db").exists()


@pytest.mark.parametrize(
    "relative", ["../kavi.db", "/etc/passwd", "artworks/../kavi.db", "kavi.db", "", "artworks"]
)
def test_the_store_serves_only_files_under_its_folder(tmp_path: Path, relative: str) -> None:
    store = ImageStore(tmp_path / "data")
    store.save(Path("artworks/ok.png"), b"png")
    (tmp_path / "data" / "kavi.db").write_bytes(b"db")
    assert store.archived("artworks/ok.png", under="artworks").read_bytes() == b"png"
    with pytest.raises(FileNotFoundError):
        store.archived(relative, under="artworks")


def test_a_link_out_of_the_folder_is_refused(tmp_path: Path) -> None:
    store = ImageStore(tmp_path / "data")
    (tmp_path / "outside.png").write_bytes(b"x")
    (tmp_path / "data" / "artworks").mkdir(parents=True)
    (tmp_path / "data" / "artworks" / "link.png").symlink_to(tmp_path / "outside.png")
    with pytest.raises(FileNotFoundError):
        store.archived("artworks/link.png", under="artworks")
