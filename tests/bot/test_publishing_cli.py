"""`python -m bot` posting end to end against the fakes: post-now, status, retry, a crash."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
import responses
from instagrapi import exceptions as ig
from PIL import Image

from bot.cli import main
from bot.daily import today_done
from bot.lock import chain_lock
from bot.publishers import instagram as instagram_module
from bot.publishers.factory import get_publisher
from bot.settings import load_settings
from storage.db import Database
from storage.files import ImageStore
from storage.models import PostState, RunStatus
from storage.repository import (
    attach_artwork,
    ensure_post,
    get_artwork,
    last_run,
    mark_failed,
    mark_posting,
    posts_for_artwork,
    start_run,
)
from tests.fakes import (
    SECRETS,
    SERVICE_UNAVAILABLE,
    UNAUTHORIZED,
    FakeInstagram,
    FakeX,
    Reply,
    publisher_env,
    store_sample_artwork,
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


def test_a_post_whose_fate_is_unknown_is_reported_as_unknown_not_failed(
    enabled: None,
    data_dir: Path,
    x: FakeX,
    instagram: FakeInstagram,
    capsys: pytest.CaptureFixture[str],
) -> None:
    x.script("create", SERVICE_UNAVAILABLE)  # a 5xx on create: X may have taken it
    assert main(["--post-now", "--seed", "3"]) == 1
    out = capsys.readouterr().out
    assert "twitter: UNKNOWN \u2014 " in out
    assert "twitter: FAILED" not in out
    assert "instagram: posted" in out


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
            # `status` can take the chain lock: the dead run and the stranded post settle.
            assert main(["status"]) == 0
            out = capsys.readouterr().out
            assert "artwork 1 on twitter was left mid-send" in out and "not found" in out
            assert "twitter    unknown" in out and ": abandoned" in out
            # The next run looks again: not found on X, so it stays unknown and is not re-sent.
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


# --- what a killed process leaves, settled by any holder of the chain lock -----------------

# Written into the run row as a process killed mid-run leaves it; nothing checks it is alive:
# holding the chain lock is what proves no live process is mid-run.
DEAD_PID = 999_999


@pytest.fixture
def x_only(enabled: None, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PUBLISHERS", "twitter")


def strand_a_post(data_dir: Path, *, landed: bool, count: int = 1) -> None:
    """Leave artworks 1..count as a kill -9 mid-send does: post `posting`, run `running`.

    `landed`: X took the post before the process died (the fake X holds it).
    """
    settings = load_settings()
    db = Database.open(settings.resolved_database_url)
    store = ImageStore(data_dir)
    try:
        for seed in range(1, count + 1):
            artwork = store_sample_artwork(db, store, seed=seed)
            assert artwork.id is not None
            run_id = start_run(
                db, trigger="manual", dry_run=False, local_date=date.today(), pid=DEAD_PID
            )
            attach_artwork(db, run_id, artwork.id)
            mark_posting(db, ensure_post(db, artwork.id, "twitter").id)
            if landed:
                twitter = get_publisher("twitter", settings)
                twitter.publish(twitter.fit(artwork, store.absolute(artwork.image_path or "")))
    finally:
        db.close()


def runs_left(data_dir: Path) -> RunStatus | None:
    db = Database.open(f"sqlite:///{data_dir / 'kavi.db'}")
    try:
        run = last_run(db)
        return run.status if run else None
    finally:
        db.close()


def test_retry_settles_a_post_a_killed_process_left_mid_send(
    x_only: None, data_dir: Path, x: FakeX, capsys: pytest.CaptureFixture[str]
) -> None:
    strand_a_post(data_dir, landed=True)
    assert main(["retry", "1", "--platform", "twitter"]) == 0
    out = capsys.readouterr().out
    assert f"twitter: posted (found on X): https://x.com/i/web/status/{x.tweets[0]['id']}" in out
    assert len(x.tweets) == 1 and len(x.calls_to("create")) == 1  # looked up, never re-sent
    post = posts(data_dir, 1)["twitter"]
    assert post.state == PostState.POSTED  # type: ignore[attr-defined]
    assert post.remote_id == x.tweets[0]["id"]  # type: ignore[attr-defined]
    assert runs_left(data_dir) == RunStatus.ABANDONED


def test_status_settles_what_a_killed_process_left_when_the_chain_is_free(
    x_only: None, data_dir: Path, x: FakeX, capsys: pytest.CaptureFixture[str]
) -> None:
    strand_a_post(data_dir, landed=False)
    assert main(["status"]) == 0
    out = capsys.readouterr().out
    assert "Last run:  #1 (manual)" in out and ": abandoned, artwork 1" in out
    assert "artwork 1 on twitter was left mid-send by a process that died" in out
    assert "artwork 1     twitter    unknown" in out and "--force" in out
    assert x.calls_to("create") == [] and len(x.calls_to("timeline")) == 1
    assert posts(data_dir, 1)["twitter"].state == PostState.UNKNOWN  # type: ignore[attr-defined]
    assert runs_left(data_dir) == RunStatus.ABANDONED
    # Settled once: the next status reads the rows and asks X nothing.
    assert main(["status"]) == 0
    assert "left mid-send" not in capsys.readouterr().out
    assert len(x.calls_to("timeline")) == 1


def test_status_only_reports_while_another_process_holds_the_chain(
    x_only: None, data_dir: Path, x: FakeX, capsys: pytest.CaptureFixture[str]
) -> None:
    strand_a_post(data_dir, landed=False)
    lock = chain_lock(data_dir)
    assert lock.try_acquire()  # a live post in progress, as far as `status` can tell
    try:
        assert main(["status"]) == 0
    finally:
        lock.release()
    out = capsys.readouterr().out
    assert f"Busy:      process {os.getpid()} is making a post now" in out
    assert ": running, artwork 1" in out
    assert "artwork 1     twitter    posting" in out and "being sent by the process" in out
    assert x.calls == []
    assert posts(data_dir, 1)["twitter"].state == PostState.POSTING  # type: ignore[attr-defined]
    assert runs_left(data_dir) == RunStatus.RUNNING


def test_a_dry_run_abandons_runs_a_killed_process_left(
    x_only: None, data_dir: Path, x: FakeX, capsys: pytest.CaptureFixture[str]
) -> None:
    strand_a_post(data_dir, landed=False)
    assert main(["--post-now", "--dry-run", "--seed", "2"]) == 0
    db = Database.open(f"sqlite:///{data_dir / 'kavi.db'}")
    try:
        with db.session() as session:
            from storage.models import RunRow

            statuses = [r.status for r in session.query(RunRow).order_by(RunRow.id)]
    finally:
        db.close()
    assert statuses == [RunStatus.ABANDONED, RunStatus.SUCCEEDED]
    # A dry run needs no credentials and asks X nothing; the post waits for a posting run.
    assert posts(data_dir, 1)["twitter"].state == PostState.UNKNOWN  # type: ignore[attr-defined]
    assert x.calls == []


def test_retry_with_nothing_to_retry_says_so(
    x_only: None,
    data_dir: Path,
    x: FakeX,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["--post-now", "--seed", "3"]) == 0
    capsys.readouterr()
    assert main(["retry", "1"]) == 0
    out = capsys.readouterr().out
    url = f"https://x.com/i/web/status/{x.tweets[0]['id']}"
    assert out == f"artwork 1: nothing to retry: already posted to twitter ({url})\n"
    assert len(x.calls_to("create")) == 1
    # With no publisher enabled there is nothing it could retry on: a configuration error.
    monkeypatch.setenv("PUBLISHERS", "")
    assert main(["retry", "1"]) == 2
    err = capsys.readouterr().err
    assert "nothing to retry" in err and "PUBLISHERS" in err


def test_status_summarises_and_pages_the_posts_needing_attention(
    x_only: None, data_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    strand_a_post(data_dir, landed=False, count=13)
    db = Database.open(f"sqlite:///{data_dir / 'kavi.db'}")
    try:
        for post_id in range(1, 13):
            mark_failed(db, post_id, error=f"X refused post {post_id}")
    finally:
        db.close()
    lock = chain_lock(data_dir)
    assert lock.try_acquire()  # artwork 13's post stays `posting`: a live send
    try:
        assert main(["status"]) == 0
        out = capsys.readouterr().out
        assert "  twitter    1 posting, 12 failed" in out
        assert "Posts that need attention (13; the newest 10 shown):" in out
        assert out.count("X refused post") == 10 and "X refused post 12" in out
        assert "X refused post 2\n" not in out  # the oldest are left to --all
        assert "3 more: `python -m bot status --all`" in out
        assert main(["status", "--limit", "2"]) == 0
        out = capsys.readouterr().out
        assert "(13; the newest 2 shown)" in out and "11 more" in out
        assert main(["status", "--all"]) == 0
        out = capsys.readouterr().out
        assert "Posts that need attention (13):" in out and out.count("X refused post") == 12
        assert "more:" not in out
    finally:
        lock.release()
    with pytest.raises(SystemExit):
        main(["status", "--limit", "0"])


def test_the_service_start_settles_the_same_way(
    x_only: None, data_dir: Path, x: FakeX, caplog: pytest.LogCaptureFixture
) -> None:
    from bot.scheduler import Service
    from bot.service import Kavi

    caplog.set_level("INFO", logger="bot.scheduler")
    strand_a_post(data_dir, landed=True)
    settings = load_settings()
    service = Service(settings, dry_run=False, poster=Kavi(settings), warm_up=False)
    try:
        assert service._recover()
    finally:
        service.poster.close()
    assert posts(data_dir, 1)["twitter"].state == PostState.POSTED  # type: ignore[attr-defined]
    assert runs_left(data_dir) == RunStatus.ABANDONED
    assert "reconciled: posted (found on X)" in caplog.text
    assert len(x.calls_to("create")) == 1
