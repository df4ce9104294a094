"""The inspection page: how an artwork was chosen, on the admin view and from `kavi inspect`."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from bot.service import Kavi
from bot.web.app import create_app
from bot.web.export import write_inspection
from tests.bot.web.conftest import ADMIN_TOKEN, gallery_settings


@pytest.fixture
def made(data_dir: Path) -> int:
    """Two artworks made by the curator (two candidates each); returns the second's id."""
    kavi = Kavi(gallery_settings(data_dir, candidates=2))
    try:
        kavi.create_artwork(seed=11)
        second = kavi.create_artwork(seed=12).artwork
    finally:
        kavi.close()
    assert second.id is not None
    return second.id


def test_the_admin_view_shows_how_an_artwork_was_chosen(data_dir: Path, made: int) -> None:
    with TestClient(create_app(gallery_settings(data_dir, candidates=2))) as client:
        assert client.get(f"/admin/artworks/{made}/inspect").status_code == 401
        bearer = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
        page = client.get(f"/admin/artworks/{made}/inspect", headers=bearer)
        assert page.status_code == 200
        assert f"How artwork {made} was chosen" in page.text
        assert "Candidates" in page.text and "kept" in page.text
        assert ADMIN_TOKEN not in page.text
        assert client.get("/admin/artworks/999/inspect", headers=bearer).status_code == 404


def test_kavi_inspect_writes_a_page_with_escaped_values(data_dir: Path, made: int) -> None:
    from sqlalchemy import update

    from storage.db import Database
    from storage.models import ArtworkRow

    db = Database.open(f"sqlite:///{data_dir / 'kavi.db'}")
    try:
        with db.session() as session, session.begin():
            session.execute(
                update(ArtworkRow)
                .where(ArtworkRow.id == made)
                .values(poem="<script>alert(1)</script>\nb\nc")
            )
        path = write_inspection(db, data_dir, made)
    finally:
        db.close()
    text = path.read_text(encoding="utf-8")
    assert path == data_dir / "inspect" / f"artwork-{made:05d}.html"
    assert "<script>" not in text and "&lt;script&gt;" in text
    assert (data_dir / "inspect" / "static" / "style.css").is_file()
    assert 'src="../artworks/' in text
