"""`python -m bot` posting end to end against the fakes: post-now, status, retry, a crash."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import responses
from instagrapi import exceptions as ig
from PIL import Image

from bot.cli import main
from bot.publishers import instagram as instagram_module
from bot.scheduler import today_done
from storage.db import Database
from storage.models import PostState
from storage.repository import get_artwork, posts_for_artwork
from tests.fakes import (
    SECRETS,
    UNAUTHORIZED,
    FakeInstagram,
    FakeX,
    Reply,
    publisher_env,
    x_problem,
)

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "data"
    monkeypatch.setenv("DATA_DIR", str(path))
    monkeypatch.setenv("IMAGE_SIZE", "256")
    return path


@pytest.fixture
def enabled(data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in publisher_env("twitter", "instagram").items():
        monkeypatch.setenv(name, value)


@pytest.fixture
def x(tmp_path: Path) -> Iterator[FakeX]:
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield FakeX(mock, state_file=tmp_path / "x-state.json")


@pytest.fixture
def instagram(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> FakeInstagram:
    server = FakeInstagram(state_file=tmp_path / "instagram-state.json")
    monkeypatch.setattr(instagram_module, "default_client", server.client)
    return server


def posts(data_dir: Path, artwork_id: int) -> dict[str, object]:
    db = Database.open(f"sqlite:///{data_dir / 'kavi.db'}")
    try:
        return {p.platform: p for p in posts_for_artwork(db, artwork_id)}
    finally:
        db.close()


def test_post_now_posts_to_both_platforms_exactly_once(
    enabled: None,
    data_dir: Path,
    x: FakeX,
    instagram: FakeInstagram,
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["--post-now", "--seed", "7"]) == 0
    out = capsys.readouterr().out
    assert "twitter: posted: https://x.com/i/web/status/" in out
    assert "instagram: posted: https://www.instagram.com/p/" in out

    assert len(x.tweets) == 1 and len(instagram.medias) == 1
    rows = posts(data_dir, 1)
    assert {p: r.state for p, r in rows.items()} == {  # type: ignore[attr-defined]
        "twitter": PostState.POSTED,
        "instagram": PostState.POSTED,
    }
    assert rows["twitter"].remote_id == x.tweets[0]["id"]  # type: ignore[attr-defined]
    assert rows["instagram"].remote_id == instagram.medias[0]["pk"]  # type: ignore[attr-defined]
    media_id = x.tweets[0]["media_ids"][0]
    assert x.media[media_id]["alt"]  # alt text set on X
    assert instagram.medias[0]["alt"]  # and on Instagram

    assert main(["show", "1"]) == 0
    shown = capsys.readouterr().out
    assert f"twitter    posted   https://x.com/i/web/status/{x.tweets[0]['id']}" in shown
    assert main(["status"]) == 0
    status = capsys.readouterr().out
    assert "Next run:" in status and "Last run:  #1 (manual)" in status
    assert "none failed, unknown or waiting" in status


def test_one_platform_failing_exits_1_saying_which_and_why(
    enabled: None,
    data_dir: Path,
    x: FakeX,
    instagram: FakeInstagram,
    capsys: pytest.CaptureFixture[str],
) -> None:
    x.script("upload", UNAUTHORIZED)
    assert main(["--post-now", "--seed", "3"]) == 1
    out = capsys.readouterr().out
    assert "twitter: FAILED \u2014 X rejected the credentials (401)" in out
    assert "instagram: posted" in out and len(instagram.medias) == 1

    assert main(["status"]) == 0
    status = capsys.readouterr().out
    assert "artwork 1     twitter    failed" in status
    assert "python -m bot retry 1 --platform twitter" in status

    assert main(["retry", "1", "--platform", "twitter"]) == 0
    assert "twitter: posted" in capsys.readouterr().out and len(x.tweets) == 1
    assert main(["retry", "1", "--platform", "twitter"]) == 1
    assert "already posted" in capsys.readouterr().err
    # Without a platform, only what failed is retried; posted ones are left alone.
    assert main(["retry", "1"]) == 0
    assert len(x.tweets) == 1 and len(instagram.medias) == 1


def test_missing_credentials_stop_before_making_anything(
    data_dir: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("PUBLISHERS", "twitter")
    assert main(["--post-now"]) == 2
    err = capsys.readouterr().err
    assert "TWITTER_API_KEY" in err and "in .env" in err
    assert not (data_dir / "artworks").exists()


def test_dry_run_previews_each_enabled_platform_and_sends_nothing(
    data_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
    x: FakeX,
    instagram: FakeInstagram,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("PUBLISHERS", "twitter,instagram")  # and no credentials yet
    assert main(["--post-now", "--dry-run", "--seed", "4"]) == 0
    folder = next((data_dir / "previews").iterdir())
    assert (folder / "twitter" / "artwork.png").is_file()
    with Image.open(folder / "instagram" / "artwork.jpg") as image:
        assert image.format == "JPEG" and image.width == 1080
    caption = (folder / "instagram" / "caption.txt").read_text()
    assert caption.count("#") <= 5
    page = (folder / "index.html").read_text()
    assert 'data-platform="twitter"' in page and 'data-platform="instagram"' in page
    assert "not ready to post: set TWITTER_API_KEY" in page
    assert x.calls == [] and instagram.calls == []
    assert posts(data_dir, 1) == {}


def test_secrets_never_reach_logs_database_previews_or_errors(
    enabled: None,
    data_dir: Path,
    x: FakeX,
    instagram: FakeInstagram,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    # Errors that echo secrets back, as some SDK errors do.
    token = SECRETS["TWITTER_ACCESS_TOKEN"]
    leak = Reply(400, x_problem(400, "Invalid Request", f"bad token {token}"))
    x.script("create", leak, leak)
    password = SECRETS["INSTAGRAM_PASSWORD"]
    instagram.fail("login", ig.ClientError(f"login failed with password {password}"))
    assert main(["--post-now", "--seed", "9"]) == 1
    assert main(["--post-now", "--dry-run", "--seed", "9"]) == 0
    assert main(["status"]) == 0
    assert main(["retry", "1", "--platform", "twitter"]) == 1
    captured = capsys.readouterr()

    with sqlite3.connect(data_dir / "kavi.db") as connection:
        database = "\n".join(connection.iterdump())
    assert "bad token ***" in database and "password ***" in database
    files = [p for p in data_dir.rglob("*") if p.is_file() and p.suffix != ".db"]
    texts = {
        "stdout": captured.out,
        "stderr": captured.err,
        "logs": caplog.text,
        "database": database,
        **{str(p): p.read_bytes().decode("utf-8", "replace") for p in files},
    }
    for where, text in texts.items():
        for name, secret in SECRETS.items():
            assert secret not in text, f"{name} found in {where}"


SUBPROCESS = """
import os, sys
from pathlib import Path
import responses
from tests.fakes import FakeInstagram, FakeX
from bot.publishers import instagram
from bot.cli import main

with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
    x = FakeX(mock, state_file=Path(os.environ["FAKE_X_STATE"]))
    x.kill_after = os.environ["KILL_AFTER"]
    server = FakeInstagram(state_file=Path(os.environ["FAKE_INSTAGRAM_STATE"]))
    instagram.default_client = server.client
    code = main(sys.argv[1:])
sys.exit(code)
"""


def run_killed(tmp_path: Path, data_dir: Path, kill_after: str) -> None:
    """`python -m bot --post-now` in a process that SIGKILLs itself mid-post to X."""
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("TWITTER_", "INSTAGRAM_"))},
        **publisher_env("instagram", "twitter"),
        "PYTHONPATH": str(REPO),
        "DATA_DIR": str(data_dir),
        "IMAGE_SIZE": "256",
        "FAKE_X_STATE": str(tmp_path / "x-state.json"),
        "FAKE_INSTAGRAM_STATE": str(tmp_path / "instagram-state.json"),
        "KILL_AFTER": kill_after,
    }
    process = subprocess.run(
        [sys.executable, "-c", SUBPROCESS, "--post-now", "--seed", "5"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert process.returncode == -9, process.stdout + process.stderr


@pytest.fixture
def crash_env(enabled: None, monkeypatch: pytest.MonkeyPatch) -> None:
    # The same order as the killed process: Instagram first, then X.
    monkeypatch.setenv("PUBLISHERS", "instagram,twitter")


def test_a_crash_after_x_accepted_the_post_is_reconciled_not_reposted(
    tmp_path: Path, data_dir: Path, crash_env: None, capsys: pytest.CaptureFixture[str]
) -> None:
    run_killed(tmp_path, data_dir, kill_after="create")
    db = Database.open(f"sqlite:///{data_dir / 'kavi.db'}")
    # The dead run still names its artwork, so the scheduler knows today's post went out.
    assert today_done(db, datetime.now(UTC).date(), dry_run=False) is not None
    db.close()
    before = posts(data_dir, 1)
    assert before["twitter"].state == PostState.POSTING  # type: ignore[attr-defined]
    assert before["instagram"].state == PostState.POSTED  # type: ignore[attr-defined]

    # The restart: a fresh process state against what the "platforms" now hold.
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        x = FakeX(mock, state_file=tmp_path / "x-state.json")
        server = FakeInstagram(state_file=tmp_path / "instagram-state.json")
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(instagram_module, "default_client", server.client)
            assert main(["--post-now", "--seed", "6"]) == 0
    out = capsys.readouterr().out
    assert "earlier artwork 1 on twitter: posted (found on X)" in out

    db = Database.open(f"sqlite:///{data_dir / 'kavi.db'}")
    first, second = get_artwork(db, 1), get_artwork(db, 2)
    db.close()
    assert [t["text"] for t in x.tweets].count(first.caption) == 1
    assert [t["text"] for t in x.tweets].count(second.caption) == 1
    assert len(x.tweets) == 2 and len(server.medias) == 2
    after = posts(data_dir, 1)
    assert after["twitter"].state == PostState.POSTED  # type: ignore[attr-defined]
    assert after["twitter"].remote_id == x.tweets[0]["id"]  # type: ignore[attr-defined]
    for artwork in (first, second):  # no lost artwork
        assert artwork.image_path and (data_dir / artwork.image_path).is_file()


def test_a_crash_before_x_took_the_post_leaves_it_unknown_until_forced(
    tmp_path: Path, data_dir: Path, crash_env: None, capsys: pytest.CaptureFixture[str]
) -> None:
    run_killed(tmp_path, data_dir, kill_after="upload")

    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        x = FakeX(mock, state_file=tmp_path / "x-state.json")
        server = FakeInstagram(state_file=tmp_path / "instagram-state.json")
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(instagram_module, "default_client", server.client)
            assert main(["status"]) == 0
            assert "twitter    posting" in capsys.readouterr().out
            assert main(["retry", "1", "--platform", "twitter"]) == 1
            err = capsys.readouterr().err
            assert "being posted" in err
            # A restart reconciles: not found on X, so it stays unknown and is not re-sent.
            assert main(["--post-now", "--seed", "6"]) == 0
            out = capsys.readouterr().out
            assert "earlier artwork 1 on twitter: outcome unknown" in out
            assert len(x.tweets) == 1  # only artwork 2's
            assert main(["retry", "1"]) == 1
            assert "twitter: UNKNOWN \u2014 not retried" in capsys.readouterr().out
            assert main(["retry", "1", "--platform", "twitter"]) == 1
            assert "--force" in capsys.readouterr().err
            assert main(["retry", "1", "--platform", "twitter", "--force"]) == 0
            # --force without a platform never re-sends what is already posted.
            assert main(["retry", "1", "--force"]) == 0
            assert "already posted" in capsys.readouterr().out
    assert len(x.tweets) == 2 and len(server.medias) == 2
    assert posts(data_dir, 1)["twitter"].state == PostState.POSTED  # type: ignore[attr-defined]
