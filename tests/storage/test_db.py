from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import text

from storage.db import Database, alembic_config, make_engine, script_head
from storage.errors import StorageError


def _stored_revision(db: Database) -> str | None:
    with db.engine.connect() as connection:
        return connection.execute(text("SELECT version_num FROM alembic_version")).scalar()


def test_script_head_is_the_head_alembic_computes(tmp_path: Path) -> None:
    from alembic.script import ScriptDirectory

    engine = make_engine(f"sqlite:///{tmp_path / 'kavi.db'}")
    assert script_head() == ScriptDirectory.from_config(alembic_config(engine)).get_current_head()


def test_script_head_reads_annotated_and_merge_revisions(tmp_path: Path) -> None:
    (tmp_path / "a.py").write_text('revision: str = "a"\ndown_revision: str | None = None\n')
    (tmp_path / "b.py").write_text('revision = "b"\ndown_revision = "a"\n')
    (tmp_path / "c.py").write_text('revision = "c"\ndown_revision = "a"\n')
    assert script_head(tmp_path) is None  # two heads: Alembic decides
    (tmp_path / "d.py").write_text('revision = "d"\ndown_revision = ("b", "c")\n')
    assert script_head(tmp_path) == "d"


def test_script_head_gives_up_on_a_script_it_cannot_read(tmp_path: Path) -> None:
    (tmp_path / "a.py").write_text('revision = "a"\ndown_revision = None\n')
    (tmp_path / "b.py").write_text('revision = make_id()\ndown_revision = "a"\n')
    assert script_head(tmp_path) is None


def test_a_database_at_head_opens_without_running_alembic(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = f"sqlite:///{tmp_path / 'kavi.db'}"
    Database.open(url).close()
    from alembic import command

    def upgrade(*_args: object, **_kwargs: object) -> None:
        raise AssertionError("the upgrade machinery ran on a database already at head")

    monkeypatch.setattr(command, "upgrade", upgrade)
    db = Database.open(url)
    assert _stored_revision(db) == script_head()
    db.close()


def test_a_database_behind_head_is_still_upgraded(tmp_path: Path) -> None:
    from alembic import command

    url = f"sqlite:///{tmp_path / 'kavi.db'}"
    engine = make_engine(url)
    with engine.begin() as connection:
        config = alembic_config(engine)
        config.attributes["connection"] = connection
        command.upgrade(config, "0001")
    engine.dispose()
    db = Database.open(url)
    assert _stored_revision(db) == script_head()
    with db.engine.connect() as connection:
        columns = {row[1] for row in connection.execute(text("PRAGMA table_info(posts)"))}
    assert "retryable" in columns
    db.close()


def test_a_database_from_a_newer_kavi_is_refused(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'kavi.db'}"
    db = Database.open(url)
    with db.engine.begin() as connection:
        connection.execute(text("UPDATE alembic_version SET version_num = '9999'"))
    db.close()
    with pytest.raises(StorageError, match="could not migrate"):
        Database.open(url)


def test_checking_a_new_database_does_not_create_an_empty_file(tmp_path: Path) -> None:
    from storage.db import at_head

    path = tmp_path / "kavi.db"
    engine = make_engine(f"sqlite:///{path}")
    assert not at_head(engine)
    assert not path.exists()  # Alembic creates it, tables and all, right after
    engine.dispose()


def test_artworks_made_before_0004_read_back_with_no_runtime_and_no_fallback(
    tmp_path: Path,
) -> None:
    from alembic import command

    from storage.repository import get_artwork
    from tests.storage.samples import make_artwork

    url = f"sqlite:///{tmp_path / 'kavi.db'}"
    engine = make_engine(url)
    with engine.begin() as connection:
        config = alembic_config(engine)
        config.attributes["connection"] = connection
        command.upgrade(config, "0003")
        old = make_artwork()
        connection.execute(
            text(
                "INSERT INTO artworks (created_at, seed, poem, poem_engine, prompt, description,"
                " image_engine, mood, style_engine, caption, alt_text, image_path, image_sha256,"
                " width, height, timings, engine_notes) VALUES ('2026-11-01 09:00:00', 1, :poem,"
                " 'grammar', 'p', '', 'procedural', 'love', 'classic', 'c', 'a', 'x.png',"
                " :sha, 8, 8, '{}', '{}')"
            ),
            {"poem": old.poem, "sha": "0" * 64},
        )
    engine.dispose()
    db = Database.open(url)
    artwork = get_artwork(db, 1)
    assert (artwork.device, artwork.precision, artwork.poem_fallback) == (None, None, False)
    db.close()
