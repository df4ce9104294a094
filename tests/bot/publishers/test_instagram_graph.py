"""The Instagram Graph API publisher against graph.instagram.com faked at HTTP level."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
import responses

from bot.logs import RedactSecrets
from bot.publishers.base import Draft
from bot.publishers.errors import AuthError, MaybeSent, NotSent, PublishError, RateLimited
from bot.publishers.instagram_graph import REFRESH_WITHIN, InstagramGraphPublisher
from bot.publishing import Publishing, RetryRefused, settle_interrupted_posts
from core.artwork import Artwork
from storage.db import Database
from storage.files import ImageStore
from storage.models import PostState
from storage.repository import get_post
from tests.fake_instagram_graph import REFRESHED, FakeInstagramGraph, dead_token, graph_error
from tests.fakes import SECRETS, Reply, fake_settings, store_sample_artwork
from tests.processes import REPO


@pytest.fixture
def server() -> Iterator[FakeInstagramGraph]:
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield FakeInstagramGraph(mock)


@pytest.fixture
def db(data_dir: Path) -> Iterator[Database]:
    database = Database.open(f"sqlite:///{data_dir / 'kavi.db'}")
    yield database
    database.close()


@pytest.fixture
def artwork(db: Database, data_dir: Path) -> Artwork:
    return store_sample_artwork(db, ImageStore(data_dir))


@pytest.fixture
def waits() -> list[float]:
    return []


@pytest.fixture
def publisher(data_dir: Path, waits: list[float]) -> InstagramGraphPublisher:
    return InstagramGraphPublisher(fake_settings(data_dir, "instagram_graph"), sleep=waits.append)


def fitted(publisher: InstagramGraphPublisher, artwork: Artwork, data_dir: Path) -> Draft:
    assert artwork.image_path is not None
    return publisher.fit(artwork, data_dir / artwork.image_path)


def machine(db: Database, data_dir: Path, publisher: InstagramGraphPublisher) -> Publishing:
    return Publishing(
        db,
        ImageStore(data_dir),
        {"instagram_graph": publisher},
        redact=RedactSecrets(SECRETS.values()).redact,
        sleep=lambda _: None,
    )


def test_publish_creates_a_container_from_the_public_url_waits_and_publishes(
    server: FakeInstagramGraph,
    publisher: InstagramGraphPublisher,
    artwork: Artwork,
    data_dir: Path,
    waits: list[float],
) -> None:
    saved: list[str] = []
    draft = replace(fitted(publisher, artwork, data_dir), save_checkpoint=saved.append)
    result = publisher.publish(draft)

    ((container_id, container),) = server.containers.items()
    assert container["image_url"] == f"https://kavi.example/images/{artwork.id}.jpg"
    assert container["caption"] == draft.caption and container["alt_text"] == draft.alt_text
    assert saved == [container_id]  # saved before anything was published
    (media,) = server.media
    assert result.remote_id == media["id"] and result.url == media["permalink"]
    assert len(server.calls_to("limit")) == 1
    assert waits == [10.0]  # IN_PROGRESS once, then FINISHED


def test_the_token_goes_in_a_header_and_is_refreshed_once_and_kept(
    server: FakeInstagramGraph,
    publisher: InstagramGraphPublisher,
    artwork: Artwork,
    data_dir: Path,
) -> None:
    publisher.publish(fitted(publisher, artwork, data_dir))
    assert len(server.calls_to("refresh")) == 1
    assert all(
        r.headers["Authorization"] == f"Bearer {REFRESHED}"
        and SECRETS["INSTAGRAM_GRAPH_ACCESS_TOKEN"] not in (r.url or "")
        for name, r in server.calls
        if name != "refresh"
    )
    saved = json.loads((data_dir / "sessions" / "instagram_graph.json").read_text())
    assert saved["access_token"] == REFRESHED
    assert oct((data_dir / "sessions" / "instagram_graph.json").stat().st_mode & 0o777) == "0o600"
    # The next process reads the kept token and does not refresh it again until it is due.
    later = InstagramGraphPublisher(publisher.settings, sleep=lambda _: None)
    later.find_existing(fitted(later, artwork, data_dir))
    assert len(server.calls_to("refresh")) == 1
    due = InstagramGraphPublisher(
        publisher.settings, clock=lambda: saved["expires_at"] - REFRESH_WITHIN + 1
    )
    due.find_existing(fitted(due, artwork, data_dir))
    assert len(server.calls_to("refresh")) == 2


def test_a_dead_token_is_permanent_and_says_how_to_make_a_new_one(
    server: FakeInstagramGraph, data_dir: Path, artwork: Artwork
) -> None:
    settings = fake_settings(data_dir, "instagram_graph", instagram_graph_access_token="IGAAdead")
    publisher = InstagramGraphPublisher(settings, sleep=lambda _: None)
    with pytest.raises(AuthError, match="dead") as caught:
        publisher.publish(fitted(publisher, artwork, data_dir))
    assert "INSTAGRAM_GRAPH_ACCESS_TOKEN" in str(caught.value)
    assert "IGAAdead" not in str(caught.value)
    assert not server.containers


def test_a_spent_publishing_limit_is_not_sent_and_waits_long(
    data_dir: Path, artwork: Artwork, publisher: InstagramGraphPublisher
) -> None:
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        server = FakeInstagramGraph(mock, quota_usage=50)
        with pytest.raises(RateLimited, match="50 of 50") as caught:
            publisher.publish(fitted(publisher, artwork, data_dir))
    assert caught.value.retry_after == 3600.0 and not server.containers


def test_a_container_stuck_in_progress_then_error_fails_without_a_post(
    data_dir: Path, artwork: Artwork, publisher: InstagramGraphPublisher, waits: list[float]
) -> None:
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        server = FakeInstagramGraph(mock, polls=1000)
        draft = fitted(publisher, artwork, data_dir)
        with pytest.raises(NotSent, match="resumes the same container"):
            publisher.publish(replace(draft, save_checkpoint=lambda _: None))
        assert len(waits) == 29
        # The retry resumes the same container, which Instagram then fails to process.
        ((container_id, container),) = server.containers.items()
        container["polls_left"], server.finish_as = 1, "ERROR"
        with pytest.raises(PublishError, match="is ERROR") as caught:
            publisher.publish(replace(draft, checkpoint=container_id))
    assert not isinstance(caught.value, NotSent | MaybeSent)
    assert len(server.containers) == 1 and not server.media


def test_an_expired_saved_container_is_replaced_by_a_new_one(
    server: FakeInstagramGraph,
    publisher: InstagramGraphPublisher,
    artwork: Artwork,
    data_dir: Path,
) -> None:
    draft = fitted(publisher, artwork, data_dir)
    server.containers["17900000000000099"] = {"status": "EXPIRED", "caption": "", "alt_text": ""}
    publisher.publish(replace(draft, checkpoint="17900000000000099"))
    assert len(server.containers) == 2 and len(server.media) == 1


def test_a_5xx_on_publish_after_it_went_through_is_reconciled_to_one_post(
    server: FakeInstagramGraph,
    publisher: InstagramGraphPublisher,
    artwork: Artwork,
    db: Database,
    data_dir: Path,
) -> None:
    server.script("publish", replace(graph_error(500, 2, "An unexpected error"), accept=True))
    outcome = machine(db, data_dir, publisher).publish(artwork, "instagram_graph")
    assert outcome.state == PostState.POSTED, outcome.message
    (media,) = server.media
    assert outcome.post is not None and outcome.post.remote_id == media["id"]
    assert outcome.post.checkpoint is None  # cleared once posted


def test_without_public_base_url_the_post_fails_with_the_setting_to_set(
    data_dir: Path, artwork: Artwork
) -> None:
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        server = FakeInstagramGraph(mock)
        settings = fake_settings(data_dir, "instagram_graph", public_base_url=None)
        publisher = InstagramGraphPublisher(settings, sleep=lambda _: None)
        draft = fitted(publisher, artwork, data_dir)
        assert draft.source_url == f"<PUBLIC_BASE_URL>/images/{artwork.id}.jpg"
        with pytest.raises(AuthError, match="PUBLIC_BASE_URL"):
            publisher.publish(draft)
    assert not server.containers


def test_a_dropped_connection_on_publish_may_have_been_sent(
    server: FakeInstagramGraph,
    publisher: InstagramGraphPublisher,
    artwork: Artwork,
    data_dir: Path,
) -> None:
    import requests

    server.script("publish", Reply(error=requests.ConnectionError("connection reset")))
    with pytest.raises(MaybeSent):
        publisher.publish(fitted(publisher, artwork, data_dir))
    server.script("limit", dead_token())
    with pytest.raises(AuthError):
        InstagramGraphPublisher(publisher.settings).publish(fitted(publisher, artwork, data_dir))


# --- a crash between the container and the post ------------------------------------------

CRASHING = """
import os, sys
from pathlib import Path
import responses
from bot.publishers.instagram_graph import InstagramGraphPublisher
from bot.publishing import Publishing
from storage.db import Database
from storage.files import ImageStore
from storage.repository import get_artwork
from tests.fake_instagram_graph import FakeInstagramGraph
from tests.fakes import fake_settings

data_dir = Path(os.environ["DATA_DIR"])
db = Database.open(f"sqlite:///{data_dir / 'kavi.db'}")
with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
    server = FakeInstagramGraph(mock, state_file=Path(os.environ["FAKE_STATE"]))
    server.kill_at = os.environ["KILL_AT"]
    publisher = InstagramGraphPublisher(
        fake_settings(data_dir, "instagram_graph"), sleep=lambda _: None
    )
    Publishing(db, ImageStore(data_dir), {"instagram_graph": publisher}).publish(
        get_artwork(db, 1), "instagram_graph"
    )
"""


def run_killed(tmp_path: Path, data_dir: Path, kill_at: str) -> None:
    env = {
        **os.environ,
        "PYTHONPATH": str(REPO),
        "DATA_DIR": str(data_dir),
        "FAKE_STATE": str(tmp_path / "graph-state.json"),
        "KILL_AT": kill_at,
    }
    process = subprocess.run(
        [sys.executable, "-c", CRASHING],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert process.returncode == -9, process.stdout + process.stderr


@pytest.mark.parametrize("kill_at", ["object", "publish"])
def test_a_kill_between_container_and_post_then_a_restart_makes_exactly_one_post(
    tmp_path: Path, data_dir: Path, db: Database, artwork: Artwork, kill_at: str
) -> None:
    # "object": killed while polling the container it had saved on the row, before
    # publishing; "publish": killed after Instagram published it, before reading the answer.
    run_killed(tmp_path, data_dir, kill_at)
    post = get_post(db, 1, "instagram_graph")
    assert post is not None and post.state == PostState.POSTING and post.checkpoint

    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        server = FakeInstagramGraph(mock, state_file=tmp_path / "graph-state.json")
        publisher = InstagramGraphPublisher(
            fake_settings(data_dir, "instagram_graph"), sleep=lambda _: None
        )
        publishing = machine(db, data_dir, publisher)
        settle_interrupted_posts(db)
        (looked_up,) = publishing.reconcile()
        if kill_at == "publish":
            assert looked_up.state == PostState.POSTED, looked_up.message
        else:
            # Certainly not published (its container never was); sent on when asked.
            assert looked_up.state == PostState.UNKNOWN
            outcome = publishing.retry(1, "instagram_graph", force=True)
            assert outcome.state == PostState.POSTED, outcome.message
        # Asked again, it is refused: nothing more goes out.
        with pytest.raises(RetryRefused):
            publishing.retry(1, "instagram_graph")
    assert len(server.containers) == 1  # the saved container was resumed, not remade
    (media,) = server.media
    final = get_post(db, 1, "instagram_graph")
    assert final is not None and final.state == PostState.POSTED
    assert final.remote_id == media["id"] and final.checkpoint is None
