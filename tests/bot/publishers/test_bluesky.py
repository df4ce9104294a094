"""The Bluesky publisher against a PDS faked at HTTP level (an httpx transport)."""

from __future__ import annotations

import io
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import httpx
import numpy as np
import pytest
from PIL import Image

from bot.logs import RedactSecrets
from bot.publishers.base import Draft
from bot.publishers.bluesky import (
    MAX_BLOB_BYTES,
    BlueskyPublisher,
    grapheme_count,
)
from bot.publishers.errors import AuthError, MaybeSent, NotSent, PublishError, RateLimited
from bot.publishing import Publishing
from core.artwork import Artwork
from storage.db import Database
from storage.files import ImageStore
from storage.models import PostState
from tests.fake_bluesky import DID, FakeBluesky, rate_limited, xrpc_error
from tests.fakes import SECRETS, Reply, fake_settings, store_sample_artwork


@pytest.fixture
def server() -> FakeBluesky:
    return FakeBluesky()


@pytest.fixture
def db(data_dir: Path) -> Iterator[Database]:
    database = Database.open(f"sqlite:///{data_dir / 'kavi.db'}")
    yield database
    database.close()


@pytest.fixture
def artwork(db: Database, data_dir: Path) -> Artwork:
    return store_sample_artwork(db, ImageStore(data_dir))


@pytest.fixture
def publisher(data_dir: Path, server: FakeBluesky) -> BlueskyPublisher:
    return BlueskyPublisher(fake_settings(data_dir, "bluesky"), transport=server.transport)


def fitted(publisher: BlueskyPublisher, artwork: Artwork, data_dir: Path) -> Draft:
    assert artwork.image_path is not None
    return publisher.fit(artwork, data_dir / artwork.image_path)


def test_graphemes_are_counted_as_a_reader_sees_them() -> None:
    assert grapheme_count("🇯🇵") == 1 and len("🇯🇵") == 2
    assert grapheme_count("👩‍👩‍👧‍👦 e\u0301") == 3  # a family, a space, an e with its accent


def test_a_caption_of_300_graphemes_is_kept_though_it_has_more_code_points(
    publisher: BlueskyPublisher, artwork: Artwork, data_dir: Path
) -> None:
    poem = "🇯🇵" * 280
    draft = fitted(publisher, replace(artwork, caption=f"{poem}\n\n#haiku"), data_dir)
    assert draft.caption == f"{poem}\n\n#haiku"  # 288 graphemes; len() says 570
    longer = fitted(publisher, replace(artwork, caption=f"{'🇯🇵' * 320}\n\n#haiku"), data_dir)
    assert grapheme_count(longer.caption) <= 300 and longer.caption.endswith("\u2026")


def test_a_large_painting_becomes_a_jpeg_under_the_blob_limit_and_posts(
    data_dir: Path, db: Database, server: FakeBluesky, publisher: BlueskyPublisher
) -> None:
    # Noise is the worst case for JPEG: even quality 60 is far over 1 MB at 2048 pixels.
    noise = np.random.default_rng(3).integers(0, 255, (2048, 2048, 3), dtype=np.uint8)
    path = data_dir / "big.png"
    Image.fromarray(noise).save(path)
    assert path.stat().st_size > 10 * MAX_BLOB_BYTES
    artwork = store_sample_artwork(db, ImageStore(data_dir), seed=2)

    draft = publisher.fit(artwork, path)
    assert draft.filename == "artwork.jpg" and len(draft.media) <= MAX_BLOB_BYTES
    with Image.open(io.BytesIO(draft.media)) as image:
        assert image.width < 2048 and image.width == image.height
    assert any("scaled down" in note for note in draft.notes)
    publisher.publish(draft)
    (blob,) = server.blobs.values()
    assert blob == draft.media


def test_publish_sets_alt_text_aspect_ratio_and_hashtag_facets_by_utf8_bytes(
    server: FakeBluesky, publisher: BlueskyPublisher, artwork: Artwork, data_dir: Path
) -> None:
    caption = "古池や 蛙飛び込む 水の音\n\n#haiku #kavi"
    draft = fitted(publisher, replace(artwork, caption=caption), data_dir)
    result = publisher.publish(draft)

    (post,) = server.posts
    assert result.remote_id == post["uri"]
    assert result.url == f"https://bsky.app/profile/kavi.bsky.social/post/{post['uri'][-13:]}"
    record = post["record"]
    assert record["text"] == caption
    (image,) = record["embed"]["images"]
    assert image["alt"] == draft.alt_text
    assert image["aspectRatio"] == {
        "$type": "app.bsky.embed.defs#aspectRatio",
        "width": 96,
        "height": 96,
    }
    assert image["image"]["ref"]["$link"] in server.blobs
    encoded = caption.encode()
    tags = [
        (encoded[f["index"]["byteStart"] : f["index"]["byteEnd"]].decode(), f["features"][0])
        for f in record["facets"]
    ]
    assert tags == [
        ("#haiku", {"$type": "app.bsky.richtext.facet#tag", "tag": "haiku"}),
        ("#kavi", {"$type": "app.bsky.richtext.facet#tag", "tag": "kavi"}),
    ]


def test_an_image_over_the_blob_limit_is_refused_as_permanent(
    server: FakeBluesky, publisher: BlueskyPublisher, artwork: Artwork, data_dir: Path
) -> None:
    draft = replace(fitted(publisher, artwork, data_dir), media=b"\xff" * (MAX_BLOB_BYTES + 1))
    with pytest.raises(PublishError, match="BlobTooLarge") as caught:
        publisher.publish(draft)
    assert not isinstance(caught.value, NotSent | MaybeSent)
    assert not server.posts


def test_a_5xx_after_the_post_was_created_is_reconciled_from_the_author_feed(
    server: FakeBluesky,
    publisher: BlueskyPublisher,
    artwork: Artwork,
    db: Database,
    data_dir: Path,
) -> None:
    server.script(
        "com.atproto.repo.createRecord",
        replace(xrpc_error(500, "InternalServerError", "Internal Server Error"), accept=True),
    )
    publishing = Publishing(
        db,
        ImageStore(data_dir),
        {"bluesky": publisher},
        redact=RedactSecrets(SECRETS.values()).redact,
        sleep=lambda _: None,
    )
    outcome = publishing.publish(artwork, "bluesky")
    assert outcome.state == PostState.POSTED, outcome.message
    (post,) = server.posts
    assert outcome.post is not None and outcome.post.remote_id == post["uri"]
    assert publishing.publish(artwork, "bluesky").state == PostState.POSTED
    assert len(server.posts) == 1


def test_a_wrong_app_password_is_permanent_and_says_what_to_set(
    data_dir: Path, server: FakeBluesky, artwork: Artwork
) -> None:
    settings = fake_settings(data_dir, "bluesky", bluesky_app_password="wrong-pass-word-here")
    publisher = BlueskyPublisher(settings, transport=server.transport)
    with pytest.raises(AuthError, match="BLUESKY_APP_PASSWORD") as caught:
        publisher.publish(fitted(publisher, artwork, data_dir))
    assert "wrong-pass-word-here" not in str(caught.value)
    assert not server.posts


def test_a_rate_limit_carries_the_wait_until_its_reset(
    server: FakeBluesky, publisher: BlueskyPublisher, artwork: Artwork, data_dir: Path
) -> None:
    server.script("com.atproto.repo.createRecord", rate_limited(int(time.time()) + 900))
    with pytest.raises(RateLimited) as caught:
        publisher.publish(fitted(publisher, artwork, data_dir))
    assert caught.value.retry_after is not None and 800 < caught.value.retry_after <= 901


def test_no_connection_is_not_sent_and_a_dropped_one_on_create_may_be_sent(
    server: FakeBluesky, publisher: BlueskyPublisher, artwork: Artwork, data_dir: Path
) -> None:
    draft = fitted(publisher, artwork, data_dir)
    server.script("com.atproto.server.createSession", Reply(error=httpx.ConnectError("refused")))
    with pytest.raises(NotSent):
        publisher.publish(draft)
    server.script("com.atproto.repo.createRecord", Reply(error=httpx.ReadError("reset")))
    with pytest.raises(MaybeSent):
        publisher.publish(draft)


def test_find_existing_reads_the_author_feed(
    server: FakeBluesky, publisher: BlueskyPublisher, artwork: Artwork, data_dir: Path
) -> None:
    draft = fitted(publisher, artwork, data_dir)
    assert publisher.find_existing(draft) is None
    posted = publisher.publish(draft)
    assert publisher.find_existing(draft) == posted
    (feed_call, *_) = server.calls_to("app.bsky.feed.getAuthorFeed")
    assert feed_call.url.params["actor"] == DID
