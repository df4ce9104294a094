"""What the platforms say back: the daily read into post_metrics, and `stats`."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import responses

from bot.cli import main
from bot.metrics import read_metrics
from bot.publishers import bluesky as bluesky_module
from bot.publishers.base import Publisher
from bot.publishers.bluesky import BlueskyPublisher
from bot.publishers.instagram_graph import InstagramGraphPublisher
from bot.publishers.mastodon import MastodonPublisher
from bot.publishers.twitter import TwitterPublisher
from bot.settings import Settings
from storage.db import Database
from storage.files import ImageStore
from storage.metrics import Figures, metrics_summary, save_metrics
from storage.repository import ensure_post, mark_posted, mark_posting
from tests.bot.test_scheduler import FakeKavi, make_settings, service_at
from tests.fake_bluesky import FakeBluesky
from tests.fake_instagram_graph import FakeInstagramGraph
from tests.fake_mastodon import FakeMastodon
from tests.fakes import (
    FakeX,
    ScriptedPublisher,
    fake_settings,
    publisher_env,
    store_sample_artwork,
)

PLATFORMS = ("mastodon", "bluesky", "instagram_graph")


@pytest.fixture
def db(data_dir: Path) -> Iterator[Database]:
    database = Database.open(f"sqlite:///{data_dir / 'kavi.db'}")
    yield database
    database.close()


def posted(db: Database, data_dir: Path, platform: str, remote_id: str, seed: int = 1) -> int:
    artwork = store_sample_artwork(db, ImageStore(data_dir), seed=seed)
    assert artwork.id is not None
    post = ensure_post(db, artwork.id, platform)
    mark_posting(db, post.id)
    return mark_posted(db, post.id, remote_id=remote_id, url=None).id


def test_the_summary_ranks_artworks_and_sums_per_platform_and_mood(
    db: Database, data_dir: Path
) -> None:
    first = posted(db, data_dir, "mastodon", "1", seed=1)
    second = posted(db, data_dir, "bluesky", "at://x/app.bsky.feed.post/2", seed=2)
    save_metrics(db, first, Figures(likes=3, reposts=1, replies=0))
    save_metrics(db, second, Figures(likes=5, reposts=2, replies=1, views=40))
    save_metrics(db, second, Figures(likes=6, reposts=2, replies=1, views=50))  # the latest wins

    summary = metrics_summary(db)
    assert [item.artwork_id for item in summary.best] == [2, 1]
    assert summary.per_platform["bluesky"] == Figures(6, 2, 1, 50)
    assert summary.per_platform["mastodon"] == Figures(3, 1, 0, None)
    assert sum(f.likes for f in summary.per_mood.values()) == 9
    assert summary.posts_measured == 2


def test_the_daily_read_covers_30_days_skips_x_and_survives_a_failure(
    db: Database, data_dir: Path
) -> None:
    settings = fake_settings(data_dir, *PLATFORMS)
    bluesky = FakeBluesky()
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        mastodon, graph = FakeMastodon(mock, polls=0), FakeInstagramGraph(mock, polls=0)
        publishers: dict[str, Publisher] = {
            "mastodon": MastodonPublisher(settings, sleep=lambda _: None),
            "bluesky": BlueskyPublisher(settings, transport=bluesky.transport),
            "instagram_graph": InstagramGraphPublisher(settings, sleep=lambda _: None),
            "twitter": ScriptedPublisher("twitter"),
        }
        artwork = store_sample_artwork(db, ImageStore(data_dir))
        image = data_dir / (artwork.image_path or "")
        for name in PLATFORMS:
            result = publishers[name].publish(publishers[name].fit(artwork, image))
            assert artwork.id is not None
            post = ensure_post(db, artwork.id, name)
            mark_posting(db, post.id)
            mark_posted(db, post.id, remote_id=result.remote_id, url=result.url)
        posted(db, data_dir, "twitter", "1860000000000000001", seed=2)
        mastodon.statuses[0].update(favourites_count=4, reblogs_count=2, replies_count=1)
        bluesky.posts[0]["counts"] = {"likes": 7, "reposts": 1, "quotes": 1, "replies": 2}
        graph.media[0].update(like_count=11, comments_count=3)

        done = read_metrics(db, publishers)
        assert (done.read, done.skipped, done.failed) == (3, 1, 0)
        summary = metrics_summary(db)
        assert summary.per_platform == {
            "bluesky": Figures(7, 2, 2),
            "instagram_graph": Figures(11, 0, 3),
            "mastodon": Figures(4, 2, 1),
        }
        assert [item.artwork_id for item in summary.best] == [artwork.id]  # X's is not read

        # A month on, nothing is read; a platform that fails is logged and counted.
        later = read_metrics(db, publishers, clock=lambda: datetime.now(UTC) + timedelta(days=31))
        assert later.read == 0
        mastodon.statuses.clear()
        failing = read_metrics(db, publishers)
        assert (failing.read, failing.failed) == (2, 1)


def test_stats_reads_and_shows_the_figures(
    data_dir: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("DATA_DIR", str(data_dir))
    monkeypatch.setenv("IMAGE_SIZE", "256")
    for name, value in publisher_env(*PLATFORMS).items():
        monkeypatch.setenv(name, value)
    bluesky = FakeBluesky()
    monkeypatch.setattr(bluesky_module, "default_transport", bluesky.transport)
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        mastodon = FakeMastodon(mock, polls=0)
        FakeInstagramGraph(mock, polls=0)
        assert main(["stats"]) == 0
        assert "No figures yet" in capsys.readouterr().out
        assert main(["--post-now", "--seed", "4"]) == 0
        mastodon.statuses[0].update(favourites_count=9, reblogs_count=3)
        capsys.readouterr()
        assert main(["stats", "--read"]) == 0
    out = capsys.readouterr().out
    assert "Read 3 post(s) (0 skipped, 0 failed)." in out
    assert "Mastodon               9 likes, 3 reposts, 0 replies" in out
    assert "Best received:" in out and "Per mood:" in out


def test_x_figures_are_read_only_when_asked_for(db: Database, data_dir: Path) -> None:
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        x = FakeX(mock)
        publisher = TwitterPublisher(fake_settings(data_dir, "twitter"))
        artwork = store_sample_artwork(db, ImageStore(data_dir))
        result = publisher.publish(publisher.fit(artwork, data_dir / (artwork.image_path or "")))
        assert artwork.id is not None
        post = ensure_post(db, artwork.id, "twitter")
        mark_posting(db, post.id)
        mark_posted(db, post.id, remote_id=result.remote_id, url=result.url)
        x.tweets[0]["public_metrics"] = {
            "like_count": 8,
            "retweet_count": 2,
            "quote_count": 1,
            "reply_count": 3,
            "impression_count": 420,
        }
        off = read_metrics(db, {"twitter": publisher})
        assert (off.read, off.skipped) == (0, 1) and not x.calls_to("tweet")
        on = read_metrics(db, {"twitter": publisher}, paid_reads=True)
        assert on.read == 1 and len(x.calls_to("tweet")) == 1
    assert metrics_summary(db).per_platform == {"twitter": Figures(8, 3, 3, 420)}


class MeasuringKavi(FakeKavi):
    """The scheduler's fake Kavi, with a figures read that can fail."""

    def __init__(self, settings: Settings, *, fail_read: bool = False) -> None:
        super().__init__(settings)
        self.reads = 0
        self.fail_read = fail_read

    def read_metrics(self) -> None:
        self.reads += 1
        if self.fail_read:
            raise RuntimeError("Mastodon is down")


@pytest.mark.parametrize("fail_read", [False, True])
def test_the_service_reads_the_figures_once_after_the_daily_post(
    tmp_path: Path, fail_read: bool
) -> None:
    settings = make_settings(tmp_path)
    kavi = MeasuringKavi(settings, fail_read=fail_read)
    try:
        now = datetime.now(UTC).isoformat()[:16]
        service_at(settings, kavi, now, dry_run=False).daily_post()
        assert kavi.calls == [(False, "scheduled")] and kavi.reads == 1
        # A preview service reads nothing: it posted nothing.
        preview = MeasuringKavi(make_settings(tmp_path / "preview"))
        service_at(preview.settings, preview, now, dry_run=True).daily_post()
        assert preview.reads == 0
        preview.db.close()
    finally:
        kavi.db.close()
