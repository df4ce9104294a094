"""The X publisher against X API v2 faked at HTTP level, with realistic payloads."""

from __future__ import annotations

import base64
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
import requests
import responses

from bot.publishers import twitter
from bot.publishers.base import Draft
from bot.publishers.errors import AuthError, DuplicatePost, MaybeSent, NotSent, RateLimited
from bot.publishers.twitter import TwitterPublisher, weighted_length
from core.artwork import Artwork
from storage.db import Database
from storage.files import ImageStore
from tests.fakes import (
    DUPLICATE,
    SECRETS,
    SERVICE_UNAVAILABLE,
    UNAUTHORIZED,
    FakeX,
    Reply,
    fake_settings,
    request_json,
    store_sample_artwork,
    too_many_requests,
)
from tests.processes import run_python


@pytest.fixture
def x() -> Iterator[FakeX]:
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield FakeX(mock)


@pytest.fixture
def artwork(data_dir: Path) -> Artwork:
    db = Database.open(f"sqlite:///{data_dir / 'kavi.db'}")
    try:
        return store_sample_artwork(db, ImageStore(data_dir))
    finally:
        db.close()


@pytest.fixture
def publisher(data_dir: Path) -> TwitterPublisher:
    return TwitterPublisher(fake_settings(data_dir, "twitter"))


@pytest.fixture
def draft(publisher: TwitterPublisher, artwork: Artwork, data_dir: Path) -> Draft:
    assert artwork.image_path is not None
    return publisher.fit(artwork, data_dir / artwork.image_path)


def test_fit_keeps_the_png_and_the_whole_caption_when_it_fits(
    draft: Draft, artwork: Artwork, data_dir: Path
) -> None:
    assert artwork.image_path is not None
    assert draft.filename == "artwork.png" and draft.media_type == "image/png"
    assert draft.media == (data_dir / artwork.image_path).read_bytes()
    assert draft.caption == artwork.caption
    assert draft.alt_text == artwork.alt_text
    assert any("weighted characters" in note for note in draft.notes)


def test_fit_counts_weighted_length_not_characters(
    publisher: TwitterPublisher, artwork: Artwork, data_dir: Path
) -> None:
    # 150 CJK characters weigh 300: len() would say this fits; X would refuse it.
    poem = "古池や蛙飛び込む水の音" * 14
    long = replace(artwork, caption=f"{poem[:150]}\n\npainted in a mood of love\n\n#haiku #kavi")
    assert artwork.image_path is not None
    fitted = publisher.fit(long, data_dir / artwork.image_path)
    assert len(long.caption) < 280 < weighted_length(long.caption)
    assert weighted_length(fitted.caption) <= 280
    assert fitted.caption.startswith(poem[:100])
    assert "#haiku" not in fitted.caption


def test_weighted_length_needs_no_pkg_resources() -> None:
    # setuptools 81+ ships no pkg_resources; twitter-text-parser must still import, quietly.
    code = (
        "import sys, warnings\n"
        "warnings.simplefilter('error')\n"
        "sys.modules['pkg_resources'] = None  # import pkg_resources now raises ImportError\n"
        "from bot.publishers.twitter import weighted_length\n"
        "print(weighted_length('a'), weighted_length('\u53e4'), weighted_length('\U0001f338'))\n"
    )
    result = run_python(code)
    assert result.returncode == 0, result.stderr
    # Latin weighs 1, CJK 2, an emoji 2 (twitter-text's v3 weighting).
    assert result.stdout.split() == ["1", "2", "2"]


def test_fit_reencodes_an_oversized_image_as_jpeg(
    publisher: TwitterPublisher, artwork: Artwork, data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(twitter, "MAX_IMAGE_BYTES", 20_000)
    assert artwork.image_path is not None
    fitted = publisher.fit(artwork, data_dir / artwork.image_path)
    assert fitted.filename == "artwork.jpg" and fitted.media[:3] == b"\xff\xd8\xff"
    assert len(fitted.media) <= 20_000


def test_fit_recompresses_an_oversized_png_before_giving_up_pixels(
    publisher: TwitterPublisher, artwork: Artwork, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import io

    import numpy as np
    from PIL import Image

    y, x = np.mgrid[0:256, 0:256]
    pixels = np.stack([x, y, (x + y) // 2], axis=-1).astype(np.uint8)
    fast, tight = io.BytesIO(), io.BytesIO()
    Image.fromarray(pixels).save(fast, format="PNG", compress_level=1)
    Image.fromarray(pixels).save(tight, format="PNG", compress_level=9)
    assert tight.tell() < fast.tell()
    path = tmp_path / "fast.png"
    path.write_bytes(fast.getvalue())
    monkeypatch.setattr(twitter, "MAX_IMAGE_BYTES", tight.tell())
    fitted = publisher.fit(artwork, path)
    assert fitted.filename == "artwork.png" and len(fitted.media) <= tight.tell()
    with Image.open(io.BytesIO(fitted.media)) as sent:
        assert np.array_equal(np.asarray(sent), pixels)


def test_publish_uploads_through_v2_sets_alt_text_and_attaches_the_media(
    x: FakeX, publisher: TwitterPublisher, draft: Draft
) -> None:
    result = publisher.publish(draft)

    assert x.texts() == [draft.caption]
    assert result.remote_id == x.tweets[0]["id"]
    assert result.url == f"https://x.com/i/web/status/{result.remote_id}"
    (upload,) = x.calls_to("upload")
    payload = request_json(upload)
    assert base64.b64decode(payload["media"]) == draft.media
    assert payload["media_category"] == "tweet_image" and payload["media_type"] == "image/png"
    authorization = upload.headers["Authorization"]
    assert (
        authorization.decode() if isinstance(authorization, bytes) else authorization
    ).startswith("OAuth ")
    media_id = x.tweets[0]["media_ids"][0]
    assert x.media[media_id]["alt"] == draft.alt_text
    (create,) = x.calls_to("create")
    assert request_json(create)["media"] == {"media_ids": [media_id]}


def test_every_request_has_a_timeout(x: FakeX, publisher: TwitterPublisher, draft: Draft) -> None:
    publisher.publish(draft)
    assert all(request.req_kwargs["timeout"] == twitter.TIMEOUT for _, _, request in x.calls)  # type: ignore[attr-defined]


def test_rate_limit_carries_the_wait_until_the_reset_header(
    x: FakeX, publisher: TwitterPublisher, draft: Draft
) -> None:
    x.script("create", too_many_requests(reset_in=120))
    with pytest.raises(RateLimited) as info:
        publisher.publish(draft)
    assert info.value.retry_after is not None and 110 <= info.value.retry_after <= 121
    assert x.tweets == []


def test_a_spent_daily_cap_waits_for_the_24_hour_reset(
    x: FakeX, publisher: TwitterPublisher, draft: Draft
) -> None:
    x.script("create", too_many_requests(reset_in=6 * 3600, daily=True))
    with pytest.raises(RateLimited) as info:
        publisher.publish(draft)
    assert info.value.retry_after is not None and info.value.retry_after > 5 * 3600


def test_a_5xx_before_the_post_is_created_is_not_sent(
    x: FakeX, publisher: TwitterPublisher, draft: Draft
) -> None:
    x.script("upload", SERVICE_UNAVAILABLE)
    with pytest.raises(NotSent):
        publisher.publish(draft)
    assert x.calls_to("create") == []


def test_a_5xx_on_create_may_have_been_sent(
    x: FakeX, publisher: TwitterPublisher, draft: Draft
) -> None:
    x.script("create", replace(SERVICE_UNAVAILABLE, accept=True))
    with pytest.raises(MaybeSent):
        publisher.publish(draft)
    assert x.texts() == [draft.caption]  # X took it after all


def test_timeouts(x: FakeX, publisher: TwitterPublisher, draft: Draft) -> None:
    x.script("upload", Reply(error=requests.ConnectTimeout("connect timed out")))
    with pytest.raises(NotSent):
        publisher.publish(draft)
    x.script("create", Reply(error=requests.ReadTimeout("read timed out"), accept=True))
    with pytest.raises(MaybeSent, match="did not answer in time"):
        publisher.publish(draft)


def test_bad_credentials_are_permanent_and_say_what_to_check(
    x: FakeX, publisher: TwitterPublisher, draft: Draft
) -> None:
    x.script("upload", UNAUTHORIZED)
    with pytest.raises(AuthError) as info:
        publisher.publish(draft)
    message = str(info.value)
    assert "TWITTER_API_KEY" in message and "TWITTER_ACCESS_TOKEN_SECRET" in message
    assert not any(secret in message for secret in SECRETS.values())


def test_wrong_keys_are_rejected_by_x(x: FakeX, data_dir: Path, draft: Draft) -> None:
    settings = fake_settings(data_dir, "twitter", twitter_api_key="not-the-key")
    with pytest.raises(AuthError):
        TwitterPublisher(settings).publish(draft)


def test_duplicate_content_is_permanent(
    x: FakeX, publisher: TwitterPublisher, draft: Draft
) -> None:
    x.script("create", DUPLICATE)
    with pytest.raises(DuplicatePost, match="duplicate"):
        publisher.publish(draft)


def test_missing_write_permission_says_how_to_fix_it(
    x: FakeX, publisher: TwitterPublisher, draft: Draft
) -> None:
    detail = (
        "Your client app is not configured with the appropriate oauth1 app permissions for "
        "this endpoint."
    )
    x.script("create", Reply(403, {"title": "Forbidden", "type": "about:blank", "status": 403,
                                   "detail": detail}))  # fmt: skip
    with pytest.raises(AuthError, match="Read and Write"):
        publisher.publish(draft)


def test_find_existing_matches_the_post_as_x_shows_it(
    x: FakeX, publisher: TwitterPublisher, draft: Draft
) -> None:
    assert publisher.find_existing(draft) is None
    posted = publisher.publish(draft)
    x.tweets.insert(0, {"id": "1", "text": "an older post", "media_ids": []})
    # The caption has "&", which X shows escaped, followed by the media's t.co link.
    assert "&" in draft.caption
    assert publisher.find_existing(draft) == posted
    assert len(x.calls_to("me")) == 1


def test_rate_limit_reset_in_the_past_still_waits_a_little(
    x: FakeX, publisher: TwitterPublisher, draft: Draft
) -> None:
    x.script("create", too_many_requests(reset_in=-30))
    with pytest.raises(RateLimited) as info:
        publisher.publish(draft)
    assert info.value.retry_after == 1.0
    assert time.time() > 0
