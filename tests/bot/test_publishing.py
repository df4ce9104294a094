"""The publish state machine with the real publishers over the fakes, and a scripted one."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import replace
from pathlib import Path

import pytest
import requests
import responses
from instagrapi import exceptions as ig

from bot.logs import RedactSecrets
from bot.publishers.base import Draft, PostResult, Publisher
from bot.publishers.errors import AuthError, MaybeSent, NotSent, RateLimited
from bot.publishers.instagram import InstagramPublisher
from bot.publishers.twitter import TwitterPublisher
from bot.publishing import MAX_ATTEMPTS, Publishing, RetryRefused
from core.artwork import Artwork
from core.errors import ConfigError
from storage.db import Database
from storage.files import ImageStore
from storage.models import PostState
from storage.repository import ensure_post, get_post, mark_posting, posts_for_artwork
from tests.fakes import (
    DUPLICATE,
    SECRETS,
    SERVICE_UNAVAILABLE,
    FakeInstagram,
    FakeX,
    Reply,
    ScriptedPublisher,
    fake_settings,
    store_sample_artwork,
    too_many_requests,
)


@pytest.fixture
def db(data_dir: Path) -> Iterator[Database]:
    database = Database.open(f"sqlite:///{data_dir / 'kavi.db'}")
    yield database
    database.close()


@pytest.fixture
def store(data_dir: Path) -> ImageStore:
    return ImageStore(data_dir)


@pytest.fixture
def artwork(db: Database, store: ImageStore) -> Artwork:
    return store_sample_artwork(db, store)


@pytest.fixture
def x() -> Iterator[FakeX]:
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield FakeX(mock)


@pytest.fixture
def instagram() -> FakeInstagram:
    return FakeInstagram()


@pytest.fixture
def waits() -> list[float]:
    return []


@pytest.fixture
def publishers(data_dir: Path, instagram: FakeInstagram) -> dict[str, Publisher]:
    settings = fake_settings(data_dir, "twitter", "instagram", instagram_totp_secret=None)
    return {
        "twitter": TwitterPublisher(settings),
        "instagram": InstagramPublisher(settings, client_factory=instagram.client),
    }


def machine(
    db: Database, store: ImageStore, publishers: Mapping[str, Publisher], waits: list[float]
) -> Publishing:
    return Publishing(
        db,
        store,
        publishers,
        redact=RedactSecrets(SECRETS.values()).redact,
        sleep=waits.append,
    )


@pytest.fixture
def publishing(
    db: Database, store: ImageStore, publishers: dict[str, Publisher], waits: list[float]
) -> Publishing:
    return machine(db, store, publishers, waits)


def test_publish_all_posts_once_per_platform_and_records_where(
    publishing: Publishing, artwork: Artwork, x: FakeX, instagram: FakeInstagram, db: Database
) -> None:
    outcomes = publishing.publish_all(artwork)

    assert all(o.ok for o in outcomes.values()), outcomes
    assert len(x.tweets) == 1 and len(instagram.medias) == 1
    twitter, insta = (get_post(db, artwork.id or 0, p) for p in ("twitter", "instagram"))
    assert twitter and twitter.remote_id == x.tweets[0]["id"] and twitter.attempts == 1
    assert twitter.remote_url == f"https://x.com/i/web/status/{x.tweets[0]['id']}"
    assert (
        insta and insta.remote_url == f"https://www.instagram.com/p/{instagram.medias[0]['code']}/"
    )
    # Publishing again is a no-op: the rows say posted.
    again = publishing.publish_all(artwork)
    assert all(o.message.startswith("already posted") for o in again.values())
    assert len(x.tweets) == 1 and len(instagram.medias) == 1


def test_posting_is_committed_before_the_platform_is_called(
    db: Database, store: ImageStore, artwork: Artwork, waits: list[float]
) -> None:
    seen: list[PostState] = []
    scripted = ScriptedPublisher("scripted")
    # A separate connection sees what a restarted process would.
    other = Database(db.url)
    scripted.on_publish = lambda draft: seen.append(
        get_post(other, artwork.id or 0, "scripted").state  # type: ignore[union-attr]
    )
    machine(db, store, {"scripted": scripted}, waits).publish(artwork, "scripted")
    other.close()
    assert seen == [PostState.POSTING]


def test_not_sent_errors_are_retried_with_backoff(
    publishing: Publishing, artwork: Artwork, x: FakeX, waits: list[float], db: Database
) -> None:
    x.script("upload", SERVICE_UNAVAILABLE, Reply(error=requests.ConnectTimeout("timed out")))
    outcome = publishing.publish(artwork, "twitter")
    assert outcome.ok and len(x.tweets) == 1
    assert outcome.post and outcome.post.attempts == 3
    assert len(waits) == 2 and 5 <= waits[0] <= 6 and 10 <= waits[1] <= 11


def test_a_rate_limit_waits_for_its_reset(
    publishing: Publishing, artwork: Artwork, x: FakeX, waits: list[float]
) -> None:
    x.script("create", too_many_requests(reset_in=30))
    assert publishing.publish(artwork, "twitter").ok
    assert len(waits) == 1 and 25 <= waits[0] <= 32


def test_a_long_rate_limit_fails_the_post_instead_of_sleeping(
    publishing: Publishing, artwork: Artwork, x: FakeX, waits: list[float]
) -> None:
    x.script("create", too_many_requests(reset_in=3 * 3600, daily=True))
    outcome = publishing.publish(artwork, "twitter")
    assert outcome.state == PostState.FAILED and waits == []
    assert f"python -m bot retry {artwork.id} --platform twitter" in outcome.message
    assert "longer than Kavi waits" in outcome.message


def test_giving_up_after_the_last_attempt_fails_the_post(
    publishing: Publishing, artwork: Artwork, x: FakeX, waits: list[float]
) -> None:
    x.script("upload", *[SERVICE_UNAVAILABLE] * MAX_ATTEMPTS)
    outcome = publishing.publish(artwork, "twitter")
    assert outcome.state == PostState.FAILED
    assert f"gave up after {MAX_ATTEMPTS} attempts" in outcome.message
    assert x.tweets == [] and len(waits) == MAX_ATTEMPTS - 1
    # About three minutes of backoff in all: a short outage at posting time is ridden out.
    assert 150 <= sum(waits) <= 160


def test_permanent_errors_are_not_retried(
    publishing: Publishing, artwork: Artwork, x: FakeX, waits: list[float]
) -> None:
    x.script("create", DUPLICATE)
    outcome = publishing.publish(artwork, "twitter")
    assert outcome.state == PostState.FAILED and "duplicate" in outcome.message
    assert waits == [] and len(x.calls_to("create")) == 1


def test_a_challenge_fails_once_with_advice_and_no_retry_loop(
    publishing: Publishing, artwork: Artwork, instagram: FakeInstagram, waits: list[float]
) -> None:
    instagram.challenge = True
    outcome = publishing.publish(artwork, "instagram")
    assert outcome.state == PostState.FAILED and "Instagram app" in outcome.message
    assert waits == [] and instagram.calls.count("login:password") == 1


def test_a_5xx_after_acceptance_is_reconciled_not_resent(
    publishing: Publishing, artwork: Artwork, x: FakeX, waits: list[float]
) -> None:
    x.script("create", replace(SERVICE_UNAVAILABLE, accept=True))
    outcome = publishing.publish(artwork, "twitter")
    assert outcome.ok and "found on X" in outcome.message
    assert len(x.tweets) == 1 and len(x.calls_to("create")) == 1
    assert outcome.post and outcome.post.remote_id == x.tweets[0]["id"]


def test_an_unknown_post_not_found_stays_unknown_and_is_never_resent(
    publishing: Publishing, artwork: Artwork, x: FakeX, db: Database
) -> None:
    x.script("create", Reply(error=requests.ReadTimeout("read timed out")))
    outcome = publishing.publish(artwork, "twitter")
    assert outcome.state == PostState.UNKNOWN
    assert "did not answer in time" in (outcome.post.last_error or "")  # type: ignore[union-attr]
    assert "--force" in outcome.message
    # Neither a restart's reconciliation nor a plain publish sends it again.
    publishing.reconcile()
    publishing.publish(artwork, "twitter")
    assert len(x.calls_to("create")) == 1 and x.tweets == []
    with pytest.raises(RetryRefused, match="--force"):
        publishing.retry(artwork.id or 0, "twitter")
    assert publishing.retry(artwork.id or 0, "twitter", force=True).ok
    assert len(x.tweets) == 1


def test_interrupted_posts_are_reconciled_at_start(
    db: Database, store: ImageStore, artwork: Artwork, waits: list[float]
) -> None:
    landed = ScriptedPublisher("landed")
    landed.posted.append(PostResult("remote-7", "https://example.test/7"))
    lost = ScriptedPublisher("lost")
    for name in ("landed", "lost"):
        mark_posting(db, ensure_post(db, artwork.id or 0, name).id)

    outcomes = machine(db, store, {"landed": landed, "lost": lost}, waits).reconcile()

    states = {o.platform: o.state for o in outcomes}
    assert states == {"landed": PostState.POSTED, "lost": PostState.UNKNOWN}
    assert landed.published == [] and lost.published == []
    assert get_post(db, artwork.id or 0, "landed").remote_id == "remote-7"  # type: ignore[union-attr]


def test_a_failing_lookup_leaves_the_post_unknown(
    db: Database, store: ImageStore, artwork: Artwork, waits: list[float]
) -> None:
    scripted = ScriptedPublisher("scripted", MaybeSent("503 on create"))
    scripted.lookup_error = NotSent("could not reach the platform")
    outcome = machine(db, store, {"scripted": scripted}, waits).publish(artwork, "scripted")
    assert outcome.state == PostState.UNKNOWN and "could not look the post up" in outcome.message


def test_a_lookup_failing_after_a_create_timeout_says_the_fate_is_unknown_and_what_next(
    publishing: Publishing, artwork: Artwork, x: FakeX, db: Database
) -> None:
    x.script("create", Reply(error=requests.ReadTimeout("read timed out")))
    x.script("timeline", SERVICE_UNAVAILABLE)
    outcome = publishing.publish(artwork, "twitter")
    assert outcome.state == PostState.UNKNOWN
    # Not a not-sent failure: nothing is known about the post, and it was not sent again.
    assert "before the post was created" not in outcome.message
    assert "outcome still unknown" in outcome.message and "503" in outcome.message
    assert "looks it up again at each run" in outcome.message
    assert "python -m bot retry 1 --platform twitter" in outcome.message
    stored = get_post(db, artwork.id or 0, "twitter")
    assert stored is not None and stored.state == PostState.UNKNOWN
    assert "did not answer in time" in (stored.last_error or "")  # what made it unknown
    assert "before the post was created" not in (stored.last_error or "")
    assert len(x.calls_to("create")) == 1


def test_a_retry_whose_lookup_fails_again_never_suggests_force(
    publishing: Publishing, artwork: Artwork, x: FakeX, db: Database
) -> None:
    x.script("create", Reply(error=requests.ReadTimeout("read timed out")))
    x.script("timeline", SERVICE_UNAVAILABLE, SERVICE_UNAVAILABLE)
    assert publishing.publish(artwork, "twitter").state == PostState.UNKNOWN
    # The retry the message suggests: the look-up fails again, so nothing is known.
    outcome = publishing.retry(artwork.id or 0, "twitter")
    assert outcome.state == PostState.UNKNOWN and outcome.lookup_failed
    assert "outcome still unknown" in outcome.message
    assert "not found" not in outcome.message and "--force" not in outcome.message
    assert len(x.calls_to("create")) == 1


def test_a_duplicate_the_lookup_finds_is_recorded_as_posted_with_its_link(
    publishing: Publishing,
    publishers: dict[str, Publisher],
    artwork: Artwork,
    store: ImageStore,
    x: FakeX,
) -> None:
    # The post is already on X (an earlier attempt took it), but the row does not know.
    twitter = publishers["twitter"]
    twitter.publish(twitter.fit(artwork, store.absolute(artwork.image_path or "")))
    outcome = publishing.publish(artwork, "twitter")
    assert len(x.calls_to("create")) == 2 and len(x.tweets) == 1  # X refused the second
    assert outcome.ok and "found on X" in outcome.message
    assert outcome.post is not None and outcome.post.remote_id == x.tweets[0]["id"]
    assert outcome.post.remote_url and x.tweets[0]["id"] in outcome.post.remote_url


def test_a_duplicate_whose_lookup_fails_is_left_unknown_for_the_next_run(
    publishing: Publishing, artwork: Artwork, x: FakeX
) -> None:
    x.script("create", DUPLICATE)
    x.script("timeline", SERVICE_UNAVAILABLE)
    outcome = publishing.publish(artwork, "twitter")
    assert outcome.state == PostState.UNKNOWN and "looks it up again" in outcome.message
    assert outcome.post is not None and "duplicate" in (outcome.post.last_error or "")


def test_an_unexpected_error_mid_call_is_treated_as_maybe_sent(
    db: Database, store: ImageStore, artwork: Artwork, waits: list[float]
) -> None:
    scripted = ScriptedPublisher("scripted")
    scripted.lands(PostResult("r1", None), KeyError("data"))
    outcome = machine(db, store, {"scripted": scripted}, waits).publish(artwork, "scripted")
    assert outcome.ok and outcome.post and outcome.post.remote_id == "r1"
    assert len(scripted.published) == 1


def test_one_platform_failing_never_stops_the_others(
    db: Database, store: ImageStore, artwork: Artwork, waits: list[float]
) -> None:
    broken = ScriptedPublisher("broken", AuthError("bad keys"))
    crashing = ScriptedPublisher("crashing")
    crashing.fit = lambda artwork, path: (_ for _ in ()).throw(OSError("disk"))  # type: ignore[method-assign,assignment]
    fine = ScriptedPublisher("fine")
    outcomes = machine(
        db, store, {"broken": broken, "crashing": crashing, "fine": fine}, waits
    ).publish_all(artwork)
    assert {p: o.state for p, o in outcomes.items()} == {
        "broken": PostState.FAILED,
        "crashing": PostState.FAILED,
        "fine": PostState.POSTED,
    }
    assert "could not prepare" in outcomes["crashing"].message


def test_retry_republishes_a_failed_post_and_refuses_a_posted_one(
    publishing: Publishing, artwork: Artwork, x: FakeX, instagram: FakeInstagram
) -> None:
    instagram.fail("login", ig.BadPassword("bad password"))
    assert publishing.publish(artwork, "instagram").state == PostState.FAILED
    assert publishing.retry(artwork.id or 0, "instagram").ok
    with pytest.raises(RetryRefused, match="already posted"):
        publishing.retry(artwork.id or 0, "instagram")
    with pytest.raises(ConfigError, match="PUBLISHERS"):
        publishing.retry(artwork.id or 0, "mastodon")
    assert len(instagram.medias) == 1


def went_out_but_unknown(
    db: Database, store: ImageStore, artwork: Artwork, waits: list[float]
) -> tuple[ScriptedPublisher, Publishing]:
    """A post the platform took while the reply was lost, and the first lookup rate-limited."""
    scripted = ScriptedPublisher("scripted")
    scripted.lands(PostResult("r1", None), MaybeSent("timeout"))
    scripted.lookup_error = RateLimited("slow down", retry_after=5)
    publishing = machine(db, store, {"scripted": scripted}, waits)
    assert publishing.publish(artwork, "scripted").state == PostState.UNKNOWN
    scripted.lookup_error = None
    return scripted, publishing


def test_retry_of_an_unknown_post_that_went_out_only_records_it(
    db: Database, store: ImageStore, artwork: Artwork, waits: list[float]
) -> None:
    scripted, publishing = went_out_but_unknown(db, store, artwork, waits)
    assert publishing.retry(artwork.id or 0, "scripted").ok
    assert len(scripted.published) == 1


def test_errors_are_stored_without_secrets(
    db: Database, store: ImageStore, artwork: Artwork, waits: list[float]
) -> None:
    leaky = ScriptedPublisher("leaky", AuthError(f"bad login {SECRETS['INSTAGRAM_PASSWORD']}"))
    outcome = machine(db, store, {"leaky": leaky}, waits).publish(artwork, "leaky")
    (post,) = posts_for_artwork(db, artwork.id or 0)
    assert post.last_error == "bad login ***" and outcome.message == "bad login ***"


def test_a_draft_is_fitted_from_the_stored_image(
    db: Database, store: ImageStore, artwork: Artwork, waits: list[float]
) -> None:
    scripted = ScriptedPublisher("scripted")
    machine(db, store, {"scripted": scripted}, waits).publish(artwork, "scripted")
    (draft,) = scripted.published
    assert isinstance(draft, Draft)
    assert draft.media == store.absolute(artwork.image_path or "").read_bytes()


def test_reconciliation_survives_a_post_it_cannot_rebuild(
    db: Database, store: ImageStore, artwork: Artwork, waits: list[float]
) -> None:
    broken = ScriptedPublisher("broken")
    broken.fit = lambda artwork, path: (_ for _ in ()).throw(ValueError("bad image"))  # type: ignore[method-assign,assignment]
    fine = ScriptedPublisher("fine")
    fine.posted.append(PostResult("r9", None))
    for name in ("broken", "fine"):
        mark_posting(db, ensure_post(db, artwork.id or 0, name).id)
    outcomes = machine(db, store, {"broken": broken, "fine": fine}, waits).reconcile()
    assert {o.platform: o.state for o in outcomes} == {
        "broken": PostState.UNKNOWN,
        "fine": PostState.POSTED,
    }


def test_only_posts_that_never_went_out_are_resent_later(
    publishing: Publishing, artwork: Artwork, x: FakeX, waits: list[float]
) -> None:
    x.script("upload", *[SERVICE_UNAVAILABLE] * MAX_ATTEMPTS)
    outcome = publishing.publish(artwork, "twitter")
    assert outcome.post is not None and outcome.post.retryable
    # The outage is over: the resend sends it, once.
    [resent] = publishing.resend_unsent(artwork.id or 0)
    assert resent.ok and len(x.tweets) == 1
    assert publishing.resend_unsent(artwork.id or 0) == []


def test_permanent_failures_are_not_resent(
    publishing: Publishing, artwork: Artwork, x: FakeX
) -> None:
    x.script("create", DUPLICATE)
    outcome = publishing.publish(artwork, "twitter")
    assert outcome.state == PostState.FAILED and outcome.post and not outcome.post.retryable
    assert publishing.resend_unsent(artwork.id or 0) == []
    assert x.tweets == []


def test_an_old_unknown_post_is_no_longer_looked_up_at_every_run(
    db: Database, store: ImageStore, artwork: Artwork, waits: list[float]
) -> None:
    from datetime import UTC, datetime, timedelta

    from bot.publishing import RECONCILE_FOR

    scripted, publishing = went_out_but_unknown(db, store, artwork, waits)
    later = datetime.now(UTC) + RECONCILE_FOR + timedelta(hours=1)
    publishing.clock = lambda: later
    assert publishing.reconcile() == []
    (post,) = posts_for_artwork(db, artwork.id or 0)
    assert post.state == PostState.UNKNOWN
    # Within the window it is looked up, found, and recorded as posted.
    publishing.clock = lambda: datetime.now(UTC)
    assert [o.ok for o in publishing.reconcile()] == [True]
