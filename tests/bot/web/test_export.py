"""`kavi web export DIR`: the static site's pages, feed and files."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from bot.cli import main
from bot.web.export import export_site
from bot.web.views import PAGE_SIZE
from tests.bot.web.conftest import ADMIN_TOKEN, BASE_URL, SCRIPT, build_archive, gallery_settings


def test_export_writes_pages_artworks_images_and_feed(data_dir: Path, tmp_path: Path) -> None:
    archive = build_archive(data_dir, 30, script_at=29)
    out = tmp_path / "site"
    report = export_site(gallery_settings(data_dir), out)
    assert (report.pages, report.artworks) == (2, 30)
    home = (out / "index.html").read_text()
    ids = [int(i) for i in re.findall(r'data-id="(\d+)"', home)]
    assert ids == sorted(archive.ids, reverse=True)[:PAGE_SIZE]
    assert 'href="pages/2.html"' in home and "form" not in home
    second = (out / "pages" / "2.html").read_text()
    assert 'href="../index.html"' in second and 'src="../thumbnails/' in second
    newest = (out / "artworks" / f"{archive.ids[-1]}.html").read_text()
    assert "&lt;script&gt;" in newest and SCRIPT not in newest
    assert 'src="../images/' in newest and 'href="../static/style.css"' in newest
    for artwork_id in archive.ids:
        assert (out / "images" / f"{artwork_id}.png").read_bytes().startswith(b"\x89PNG")
        assert (out / "thumbnails" / f"{artwork_id}.jpg").read_bytes().startswith(b"\xff\xd8")
    feed = ET.fromstring((out / "feed.xml").read_bytes())
    links = [e.get("href") for e in feed.iter("{http://www.w3.org/2005/Atom}link")]
    assert f"{BASE_URL}/artworks/{archive.ids[-1]}.html" in links
    assert f"{BASE_URL}/images/{archive.ids[-1]}.png" in links
    every = "".join(p.read_text() for p in out.rglob("*.html"))
    assert ADMIN_TOKEN not in every and "admin" not in every.lower()
    # Again: the pages are rewritten, the images already there are kept.
    assert export_site(gallery_settings(data_dir), out).files_copied == 0


def test_export_needs_the_public_address(
    data_dir: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    build_archive(data_dir, 2)
    monkeypatch.setenv("DATA_DIR", str(data_dir))
    assert main(["web", "export", str(tmp_path / "site")]) == 2
    assert "PUBLIC_BASE_URL" in capsys.readouterr().err
    monkeypatch.setenv("PUBLIC_BASE_URL", BASE_URL)
    assert main(["web", "export", str(tmp_path / "site")]) == 0
    assert "exported 2 artwork(s) on 1 page(s)" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("name", "value", "problem"),
    [
        ("PUBLIC_BASE_URL", "kavi.example.org", "not a web address"),
        ("PUBLIC_BASE_URL", "https://kavi.example.org/?x=1", "plain address"),
        ("WEB_PORT", "99999", "WEB_PORT"),
        ("WEB_ADMIN_TOKEN", "short-Sekr1t", "too short"),
    ],
)
def test_bad_gallery_settings_exit_2_naming_them(
    data_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    name: str,
    value: str,
    problem: str,
) -> None:
    monkeypatch.setenv("DATA_DIR", str(data_dir))
    monkeypatch.setenv(name, value)
    assert main(["web"]) == 2
    err = capsys.readouterr().err
    assert name in err and problem in err
    assert "short-Sekr1t" not in err
