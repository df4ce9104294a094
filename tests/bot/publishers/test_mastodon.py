"""The Mastodon publisher against a Mastodon 4.3 instance faked at HTTP level."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
import requests
import responses

from bot.logs import RedactSecrets
from bot.publishers.base import Draft
from bot.publishers.errors import AuthError, MaybeSent, NotSent, PublishError, RateLimited
from bot.publishers.mastodon import MastodonPublisher, status_length, status_text
from bot.publishing import Publishing
from core.artwork import Artwork
from storage.db import Database
from storage.files import ImageStore
from storage.models import PostState
from tests.fake_mastodon import FakeMastodon, rate_limited, server_error, unauthorized
from tests.fakes import SECRETS, Reply, fake_settings, store_sample_artwork


@pytest.fixture
def server() -> Iterator[FakeMastodon]:
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield FakeMastodon(mock)


@pytest.fixture
def waits() -> list[float]:
    return []


@pytest.fixture
def db(data_dir: Path) -> Iterator[Database]:
    database = Database.open(f"sqlite:///{data_dir / 'kavi.db'}")
    yield database
    database.close()


@pytest.fixture
def artwork(db: Database, data_dir: Path) -> Artwork:
    stored = store_sample_artwork(db, ImageStore(data_dir))
    # The painter drew the heron in the upper left quarter of the 96-pixel painting.
    return replace(stored, scene={"drawn": [{"subject": "heron", "box": [0, 0, 48, 48]}]})


@pytest.fixture
def publisher(data_dir: Path, waits: list[float]) -> MastodonPublisher:
    return MastodonPublisher(fake_settings(data_dir, "mastodon"), sleep=waits.append)


@pytest.fixture
def draft(publisher: MastodonPublisher, artwork: Artwork, data_dir: Path) -> Draft:
    assert artwork.image_path is not None
    return replace(publisher.fit(artwork, data_dir / artwork.image_path), post_key="kavi-test-1")


def test_fit_keeps_the_png_caption_alt_text_and_sets_the_focus_on_the_subject(
    draft: Draft, artwork: Artwork
) -> None:
    assert draft.filename == "artwork.png" and draft.caption == artwork.caption
    assert draft.alt_text == artwork.alt_text
    assert draft.focus == (-0.5, 0.5)  # upper left quarter, in Mastodon's -1..1 with y up


def test_publish_uploads_with_description_and_focus_waits_for_processing_and_posts(
    server: FakeMastodon, publisher: MastodonPublisher, draft: Draft, waits: list[float]
) -> None:
    result = publisher.publish(draft)

    (status,) = server.statuses
    assert result.remote_id == status["id"]
    assert result.url == f"https://mastodon.example/@kavi/{status['id']}"
    (media,) = status["media_attachments"]
    assert media["description"] == draft.alt_text
    assert media["meta"]["focus"] == {"x": -0.5, "y": 0.5}
    assert status_text(status["content"]) == status_text(draft.caption)
    # The upload came back still processing: the first look at once said so, the next (after
    # a wait) had the URL.
    assert len(server.calls_to("media_status")) == 2 and waits == [5.0]
    (create,) = server.calls_to("status")
    assert create.headers["Idempotency-Key"] == "kavi-test-1"


def test_the_caption_is_fitted_to_the_limit_the_instance_states(
    data_dir: Path, draft: Draft, waits: list[float]
) -> None:
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        server = FakeMastodon(mock, max_characters=60)
        publisher = MastodonPublisher(fake_settings(data_dir, "mastodon"), sleep=waits.append)
        publisher.publish(draft)
        # Found again by look-up: the look-up fits the caption the same way.
        found = publisher.find_existing(draft)
    (status,) = server.statuses
    assert status_length(status_text(status["content"])) <= 60
    assert found is not None and found.remote_id == status["id"]


def test_status_length_counts_a_link_as_23_characters() -> None:
    assert status_length("see https://example.com/" + "a" * 200) == len("see ") + 23


def test_a_replayed_idempotency_key_returns_the_first_status(
    server: FakeMastodon, publisher: MastodonPublisher, draft: Draft
) -> None:
    first = publisher.publish(draft)
    second = publisher.publish(draft)
    assert second.remote_id == first.remote_id
    assert len(server.statuses) == 1


def test_a_5xx_after_the_status_was_created_is_maybe_sent_and_reconciled_without_a_second(
    server: FakeMastodon,
    data_dir: Path,
    db: Database,
    artwork: Artwork,
    publisher: MastodonPublisher,
    waits: list[float],
) -> None:
    server.script("status", replace(server_error(), accept=True))
    publishing = Publishing(
        db,
        ImageStore(data_dir),
        {"mastodon": publisher},
        redact=RedactSecrets(SECRETS.values()).redact,
        sleep=waits.append,
    )
    outcome = publishing.publish(artwork, "mastodon")

    assert outcome.state == PostState.POSTED, outcome.message
    assert "found on Mastodon" in outcome.message
    (status,) = server.statuses
    assert outcome.post is not None and outcome.post.remote_id == status["id"]
    # The key was the post row's, and a second publish of the row is refused.
    (create,) = server.calls_to("status")
    assert create.headers["Idempotency-Key"].endswith(f"-mastodon-{outcome.post.id}")
    assert publishing.publish(artwork, "mastodon").state == PostState.POSTED
    assert len(server.statuses) == 1


def test_a_5xx_before_the_status_is_not_sent(
    server: FakeMastodon, publisher: MastodonPublisher, draft: Draft
) -> None:
    server.script("media", server_error())
    with pytest.raises(NotSent):
        publisher.publish(draft)
    with pytest.raises(MaybeSent):
        server.script("status", server_error())
        publisher.publish(draft)


def test_a_dead_token_is_permanent_and_says_so(
    server: FakeMastodon, publisher: MastodonPublisher, draft: Draft
) -> None:
    server.script("instance", unauthorized())
    with pytest.raises(AuthError, match="token is dead") as caught:
        publisher.publish(draft)
    assert SECRETS["MASTODON_ACCESS_TOKEN"] not in str(caught.value)
    assert not server.statuses


def test_a_rate_limit_carries_the_wait_until_its_reset(
    server: FakeMastodon, publisher: MastodonPublisher, draft: Draft
) -> None:
    reset = int(time.time()) + 600
    server.script("status", rate_limited(reset))
    with pytest.raises(RateLimited) as caught:
        publisher.publish(draft)
    assert caught.value.retry_after is not None
    assert 500 < caught.value.retry_after <= 601
    assert not server.statuses


def test_a_refused_status_is_permanent(
    server: FakeMastodon, publisher: MastodonPublisher, draft: Draft
) -> None:
    server.script("status", Reply(422, {"error": "Validation failed: Text can't be blank"}))
    with pytest.raises(PublishError, match="422") as caught:
        publisher.publish(draft)
    assert not isinstance(caught.value, NotSent | MaybeSent)


def test_a_broken_connection_on_create_may_have_been_sent(
    server: FakeMastodon, publisher: MastodonPublisher, draft: Draft
) -> None:
    server.script("status", Reply(error=requests.ConnectionError("connection reset by peer")))
    with pytest.raises(MaybeSent):
        publisher.publish(draft)


def test_missing_or_plain_http_instance_is_a_clear_error(data_dir: Path, draft: Draft) -> None:
    settings = fake_settings(data_dir, "mastodon", mastodon_api_base_url="http://mastodon.example")
    with pytest.raises(AuthError, match="https address"):
        MastodonPublisher(settings).publish(draft)


def test_find_existing_matches_the_rendered_html_status(
    server: FakeMastodon, publisher: MastodonPublisher, draft: Draft
) -> None:
    assert publisher.find_existing(draft) is None
    posted = publisher.publish(draft)
    found = publisher.find_existing(replace(draft, post_key=""))
    assert found == posted
