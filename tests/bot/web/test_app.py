"""The gallery through FastAPI's test client: pages, JSON twins, feed, files, errors, admin."""

from __future__ import annotations

import io
import re
import sqlite3
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.exc import OperationalError

from bot.web.app import create_app
from bot.web.views import PAGE_SIZE
from storage.db import Database
from storage.models import PostState
from storage.repository import posts_for_artwork
from tests.bot.web.conftest import (
    ADMIN_TOKEN,
    BASE_URL,
    FAILED_ERROR,
    SCRIPT,
    Archive,
    build_archive,
    gallery_settings,
)
from tests.fakes import ScriptedPublisher

ATOM = "{http://www.w3.org/2005/Atom}"


def card_ids(html: str) -> list[int]:
    return [int(i) for i in re.findall(r'class="card" data-id="(\d+)"', html)]


def href(html: str, rel: str) -> str | None:
    found = re.search(rf'rel="{rel}" class="\w+" href="([^"]+)"', html)
    return found[1].replace("&amp;", "&") if found else None


def test_home_walks_every_artwork_newest_first_and_back(
    client: TestClient, archive: Archive
) -> None:
    seen: list[int] = []
    pages = []
    url: str | None = "/"
    while url:
        response = client.get(url)
        assert response.status_code == 200
        pages.append(url)
        seen += card_ids(response.text)
        url = href(response.text, "next")
    assert seen == sorted(archive.ids, reverse=True)
    assert len(pages) == -(-len(archive.ids) // PAGE_SIZE)
    # From the last page, "newer" leads back to the first one.
    url = pages[-1]
    while (newer := href(client.get(url).text, "prev")) is not None:
        url = newer
    assert card_ids(client.get(url).text) == seen[:PAGE_SIZE]


def test_filters_by_mood_and_month(client: TestClient, archive: Archive) -> None:
    loves = card_ids(client.get("/?mood=love").text)
    assert loves and loves == [i for n, i in enumerate(archive.ids) if n % 3 == 0][::-1][:24]
    march = card_ids(client.get("/?month=2026-03").text)
    expected = [i for n, i in enumerate(archive.ids) if archive.created(n).month == 3]
    assert march == expected[::-1]
    both = card_ids(client.get("/?month=2026-03&mood=fear").text)
    assert (
        both
        == [i for n, i in enumerate(archive.ids) if archive.created(n).month == 3 and n % 3 == 2][
            ::-1
        ]
    )
    assert "No artwork matches" in client.get("/?month=2025-01").text
    page = client.get("/?mood=love")
    assert 'min="2026-01" max="2026-06"' in page.text


def test_each_painting_is_also_served_as_a_full_jpeg(client: TestClient, archive: Archive) -> None:
    from PIL import Image

    png = client.get(f"/images/{archive.ids[0]}.png")
    jpeg = client.get(f"/images/{archive.ids[0]}.jpg")
    assert jpeg.status_code == 200 and jpeg.headers["content-type"] == "image/jpeg"
    assert jpeg.content.startswith(b"\xff\xd8")
    with Image.open(io.BytesIO(png.content)) as a, Image.open(io.BytesIO(jpeg.content)) as b:
        assert a.size == b.size  # full size (the archive's paintings are under 1440 px)
    assert jpeg.headers["etag"] != client.get(f"/thumbnails/{archive.ids[0]}.jpg").headers["etag"]
    assert client.get("/images/999999.jpg").status_code == 404


@pytest.mark.parametrize(
    "url",
    [
        "/?before=0",
        "/?before=abc",
        "/?before=99999999999999999999999",
        "/?before=3&after=1",
        "/?mood=<b>",
        "/?month=2026-13",
        "/?month=March",
        "/artworks/abc",
        "/artworks/0",
        "/artworks/99999999999999999999999",
        "/api/artworks?limit=0",
        "/api/artworks?limit=101",
        "/api/artworks/-1",
    ],
)
def test_bad_parameters_are_422_with_a_message_not_a_traceback(
    client: TestClient, url: str
) -> None:
    response = client.get(url)
    assert response.status_code == 422
    assert "Traceback" not in response.text


def test_a_missing_artwork_is_a_404_page(client: TestClient) -> None:
    for url in ("/artworks/100000", "/api/artworks/100000", "/images/100000.png"):
        response = client.get(url)
        assert response.status_code == 404, url
    assert "no artwork 100000" in client.get("/artworks/100000").text
    assert client.get("/api/artworks/100000").json() == {"detail": "no artwork 100000"}


def test_artwork_page_shows_poem_facts_posts_and_neighbours(
    client: TestClient, archive: Archive
) -> None:
    posted, failed = archive.ids[5], archive.ids[6]
    html = client.get(f"/artworks/{posted}").text
    assert "moon on the water 5<br>a heron lifts the silence<br>ripples keep the sky" in html
    for fact in ("fear", "grammar", "procedural", "classic", "1005"):
        assert fact in html
    assert 'href="https://x.com/kavi_poet/status/5"' in html and "posted" in html
    assert f'href="/artworks/{archive.ids[6]}"' in html  # newer
    assert f'href="/artworks/{archive.ids[4]}"' in html  # older
    failed_html = client.get(f"/artworks/{failed}").text
    assert "failed" in failed_html
    # The owner's view of a failure (its message, attempts) is not a follower's.
    assert FAILED_ERROR not in failed_html and "attempt" not in failed_html


def test_every_value_is_escaped(client: TestClient, archive: Archive) -> None:
    newest = archive.ids[-1]
    for url in ("/", f"/artworks/{newest}", "/feed.xml"):
        body = client.get(url).text
        assert "<script" not in body and "onerror=" not in body.replace("onerror=&", ""), url
    page = client.get(f"/artworks/{newest}").text
    assert "&lt;script&gt;document.title=" in page
    assert "&lt;b&gt;the&lt;/b&gt; &#34;reeds&#34; &amp; stones" in page
    assert client.get(f"/api/artworks/{newest}").json()["poem"].startswith(f"moon {SCRIPT}")
    assert "script-src" not in client.get("/").headers["content-security-policy"]
    assert "default-src 'none'" in client.get("/").headers["content-security-policy"]


def test_api_pages_like_the_html(client: TestClient, archive: Archive) -> None:
    first = client.get("/api/artworks").json()
    assert [a["id"] for a in first["artworks"]] == card_ids(client.get("/").text)
    assert first["newer"] is None
    second = client.get(first["older"].removeprefix(BASE_URL)).json()
    assert second["artworks"][0]["id"] == first["artworks"][-1]["id"] - 1
    detail = client.get(f"/api/artworks/{archive.ids[5]}").json()
    assert detail["mood"] == "fear" and detail["seed"] == 1005
    assert detail["image_url"] == f"{BASE_URL}/images/{archive.ids[5]}.png"
    assert detail["engines"]["poem"] == {"engine": "grammar", "model": None}
    assert detail["posts"] == [
        {"platform": "twitter", "state": "posted", "url": "https://x.com/kavi_poet/status/5"}
    ]
    assert (detail["newer"], detail["older"]) == (archive.ids[6], archive.ids[4])
    limited = client.get("/api/artworks?mood=love&limit=2").json()
    assert len(limited["artworks"]) == 2 and "mood=love" in limited["older"]
    assert "limit=2" in limited["older"]


def test_feed_is_atom_with_absolute_image_links(client: TestClient, archive: Archive) -> None:
    response = client.get("/feed.xml")
    assert response.headers["content-type"].startswith("application/atom+xml")
    feed = ET.fromstring(response.content)
    assert feed.tag == f"{ATOM}feed"
    entries = feed.findall(f"{ATOM}entry")
    assert len(entries) == 30
    newest = entries[0]
    assert newest.findtext(f"{ATOM}id") == f"{BASE_URL}/artworks/{archive.ids[-1]}"
    enclosure = newest.find(f"{ATOM}link[@rel='enclosure']")
    assert enclosure is not None and enclosure.get("type") == "image/png"
    assert enclosure.get("href") == f"{BASE_URL}/images/{archive.ids[-1]}.png"
    content = newest.findtext(f"{ATOM}content") or ""
    # Once unescaped by the reader, the poem's markup is still text, never a tag.
    assert f'src="{BASE_URL}/images/' in content and "&lt;script&gt;" in content


def test_images_have_types_cache_headers_and_etags(client: TestClient, archive: Archive) -> None:
    image = client.get(f"/images/{archive.ids[0]}.png")
    assert image.status_code == 200 and image.headers["content-type"] == "image/png"
    assert image.content.startswith(b"\x89PNG")
    assert "max-age" in image.headers["cache-control"]
    again = client.get(
        f"/images/{archive.ids[0]}.png", headers={"If-None-Match": image.headers["etag"]}
    )
    assert again.status_code == 304 and again.content == b""
    other = client.get(
        f"/images/{archive.ids[1]}.png", headers={"If-None-Match": image.headers["etag"]}
    )
    assert other.status_code == 200


def test_thumbnails_are_made_once_and_stored(client: TestClient, archive: Archive) -> None:
    first = client.get(f"/thumbnails/{archive.ids[0]}.jpg")
    assert first.status_code == 200 and first.headers["content-type"] == "image/jpeg"
    assert first.content.startswith(b"\xff\xd8")
    stored = list((archive.data_dir / "thumbnails").glob("*.jpg"))
    assert len(stored) == 1 and stored[0].read_bytes() == first.content
    made = stored[0].stat().st_mtime_ns
    second = client.get(f"/thumbnails/{archive.ids[0]}.jpg")
    assert second.content == first.content and stored[0].stat().st_mtime_ns == made
    assert (
        client.get(
            f"/thumbnails/{archive.ids[0]}.jpg", headers={"If-None-Match": first.headers["etag"]}
        ).status_code
        == 304
    )


@pytest.mark.parametrize(
    "url",
    [
        "/images/../kavi.db",
        "/images/..%2Fkavi.db",
        "/images/%2e%2e%2fkavi.db",
        "/images/%252e%252e%252fkavi.db",
        "/images//etc/passwd",
        "/images/%2Fetc%2Fpasswd",
        "/thumbnails/..%2F..%2Fetc%2Fpasswd",
        "/images/1.png/../../kavi.db",
        "/static/../kavi.db",
        "/static/..%2F..%2Fkavi.db",
    ],
)
def test_file_routes_refuse_paths(client: TestClient, url: str) -> None:
    response = client.get(url)
    assert response.status_code in (404, 422), url
    assert b"SQLite format" not in response.content and b"root:" not in response.content


def test_only_files_under_artworks_are_served_even_if_a_row_names_another(
    client: TestClient, archive: Archive
) -> None:
    (archive.data_dir / "secret.txt").write_text("owner only")
    with sqlite3.connect(archive.data_dir / "kavi.db") as connection:
        for artwork_id, path in (
            (archive.ids[0], "../secret.txt"),
            (archive.ids[1], str(archive.data_dir / "secret.txt")),
            (archive.ids[2], "artworks/../secret.txt"),
            (archive.ids[3], "kavi.db"),
        ):
            connection.execute("UPDATE artworks SET image_path=? WHERE id=?", (path, artwork_id))
    for artwork_id in archive.ids[:4]:
        assert client.get(f"/images/{artwork_id}.png").status_code == 404
        assert client.get(f"/thumbnails/{artwork_id}.jpg").status_code == 404


def test_the_archive_is_opened_read_only(client: TestClient, archive: Archive) -> None:
    db = client.app.state.gallery.db  # type: ignore[attr-defined]
    with pytest.raises(OperationalError, match="readonly"), db.session() as session:
        session.execute(text("DELETE FROM artworks"))
        session.commit()
    assert client.get("/healthz").json() == {"status": "ok"}


def test_without_an_archive_the_gallery_waits_and_creates_nothing(data_dir: Path) -> None:
    with TestClient(create_app(gallery_settings(data_dir))) as client:
        health = client.get("/healthz")
        assert health.status_code == 503 and health.json()["status"] == "waiting"
        page = client.get("/")
        assert page.status_code == 503 and "archive" in page.text
    assert not (data_dir / "kavi.db").exists()


def test_admin_routes_do_not_exist_without_a_token(archive: Archive) -> None:
    settings = gallery_settings(archive.data_dir, web_admin_token=None)
    with TestClient(create_app(settings)) as client:
        headers = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
        assert client.get("/admin", headers=headers).status_code == 404
        assert client.post("/admin/login", data={"token": ADMIN_TOKEN}).status_code == 404
        retry = client.post("/admin/retry", data={"artwork_id": "1"}, headers=headers)
        assert retry.status_code == 404
        for url in ("/admin/retry", "/admin/login", "/admin/anything"):
            assert client.get(url, headers=headers).status_code == 404, url


def test_admin_refuses_without_the_token(client: TestClient) -> None:
    assert client.get("/admin").status_code == 401
    assert client.get("/admin", headers={"Authorization": "Bearer wrong-token"}).status_code == 401
    assert client.get("/admin", headers={"Authorization": ADMIN_TOKEN}).status_code == 401
    assert client.post("/admin/retry", data={"artwork_id": "2"}).status_code == 401
    client.cookies.set("kavi_admin", ADMIN_TOKEN)
    assert client.get("/admin").status_code == 401


def test_admin_shows_the_status_and_never_the_token(client: TestClient, archive: Archive) -> None:
    page = client.get("/admin", headers={"Authorization": f"Bearer {ADMIN_TOKEN}"})
    assert page.status_code == 200
    assert "Next run" in page.text or "next run" in page.text
    assert FAILED_ERROR in page.text and 'name="platform" value="twitter"' in page.text
    assert page.headers["cache-control"] == "no-store"
    for url in ("/", f"/artworks/{archive.ids[1]}", "/feed.xml", "/api/artworks", "/admin"):
        assert (
            ADMIN_TOKEN
            not in client.get(url, headers={"Authorization": f"Bearer {ADMIN_TOKEN}"}).text
        )


def test_admin_shows_what_the_audience_said(archive: Archive) -> None:
    from storage.metrics import Figures, save_metrics

    db = Database.open(f"sqlite:///{archive.data_dir / 'kavi.db'}")
    try:
        posted = [
            p
            for artwork_id in archive.ids
            for p in posts_for_artwork(db, artwork_id)
            if p.state is PostState.POSTED
        ]
        assert posted
        save_metrics(db, posted[0].id, Figures(likes=41, reposts=3, replies=2, views=900))
    finally:
        db.close()
    with TestClient(create_app(gallery_settings(archive.data_dir))) as client:
        bearer = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
        page = client.get("/admin", headers=bearer).text
        assert "What the audience said" in page and "1 posts read back" in page
        assert "41 likes, 3 reposts, 2 replies" in page
        assert "41 likes" not in client.get("/").text  # the owner's figures stay on /admin


def test_admin_login_sets_a_cookie_that_is_not_the_token(archive: Archive) -> None:
    # PUBLIC_BASE_URL is https, so the cookie is Secure: the client must speak https too.
    with TestClient(
        create_app(gallery_settings(archive.data_dir)), base_url="https://testserver"
    ) as client:
        _log_in_and_retry_from_another_site(client)


def _log_in_and_retry_from_another_site(client: TestClient) -> None:
    wrong = client.post("/admin/login", data={"token": "nope"}, follow_redirects=False)
    assert wrong.status_code == 401
    response = client.post("/admin/login", data={"token": ADMIN_TOKEN}, follow_redirects=False)
    assert response.status_code == 303
    cookie = response.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie and "Secure" in cookie
    assert ADMIN_TOKEN not in cookie
    assert client.get("/admin").status_code == 200
    foreign = client.post(
        "/admin/retry", data={"artwork_id": "2"}, headers={"Origin": "https://evil.example"}
    )
    assert foreign.status_code == 401
    # Behind a reverse proxy the browser's origin is PUBLIC_BASE_URL's, not the request's.
    proxied = client.post("/admin/retry", data={"artwork_id": "x"}, headers={"Origin": BASE_URL})
    assert proxied.status_code == 422


def test_admin_retry_republishes_a_failed_post(archive: Archive) -> None:
    twitter = ScriptedPublisher("twitter")
    settings = gallery_settings(archive.data_dir)
    failed = archive.ids[1]
    with TestClient(create_app(settings, publishers={"twitter": twitter})) as client:
        headers = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
        response = client.post(
            "/admin/retry", data={"artwork_id": str(failed), "platform": "twitter"}, headers=headers
        )
        assert response.status_code == 200
        assert "posted" in response.text
    assert len(twitter.published) == 1
    db = Database(f"sqlite:///{archive.data_dir / 'kavi.db'}")
    post = posts_for_artwork(db, failed)[0]
    assert post.state == PostState.POSTED and post.remote_url == "https://example.test/1"
    db.close()


def test_admin_retry_refuses_a_bad_id(client: TestClient) -> None:
    headers = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    assert client.post("/admin/retry", data={"artwork_id": "x"}, headers=headers).status_code == 422
    missing = client.post("/admin/retry", data={"artwork_id": "100000"}, headers=headers)
    assert missing.status_code == 200 and "no artwork with id 100000" in missing.text


def test_an_empty_archive_says_so(data_dir: Path) -> None:
    build_archive(data_dir, 0)
    with TestClient(create_app(gallery_settings(data_dir))) as client:
        assert "No artworks yet" in client.get("/").text
        assert client.get("/api/artworks").json() == {"artworks": [], "older": None, "newer": None}
        assert ET.fromstring(client.get("/feed.xml").content).findall(f"{ATOM}entry") == []
