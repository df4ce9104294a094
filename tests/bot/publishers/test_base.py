from __future__ import annotations

from pathlib import Path

import pytest

from bot.publishers.base import ELLIPSIS, Draft, PostResult, Publisher, fit_caption
from bot.publishers.factory import get_publisher
from bot.publishers.instagram import InstagramPublisher
from bot.publishers.registry import PublisherSpec, register_publisher, unregister_publisher
from bot.publishers.twitter import TwitterPublisher
from core.errors import ConfigError
from tests.fakes import fake_settings

CAPTION = "line one\nline two\nline three\n\nmood line\nsignature\n\n#a #b #c #d #e #f #g"


def test_fit_caption_keeps_a_caption_that_fits() -> None:
    assert fit_caption(CAPTION, fits=lambda t: True) == (CAPTION, ())


def test_fit_caption_drops_hashtags_first_then_paragraphs_then_cuts_the_poem() -> None:
    text, notes = fit_caption(CAPTION, fits=lambda t: len(t) <= len(CAPTION) - 6)
    assert text.endswith("#a #b #c #d #e") and "mood line" in text
    assert any("hashtag" in n for n in notes)

    text, _ = fit_caption(CAPTION, fits=lambda t: len(t) <= 50)
    assert text == "line one\nline two\nline three\n\nmood line\nsignature"

    text, notes = fit_caption(CAPTION, fits=lambda t: len(t) <= 15)
    assert text.endswith(ELLIPSIS) and len(text) <= 15 and text.startswith("line one")
    assert any("cut" in n for n in notes)


def test_fit_caption_limits_hashtags() -> None:
    text, notes = fit_caption(CAPTION, fits=lambda t: True, max_hashtags=5)
    assert text.endswith("\n\n#a #b #c #d #e")
    assert notes == ("kept the first 5 of 7 hashtags (platform limit)",)


def test_get_publisher_names_the_missing_variables(tmp_path: Path) -> None:
    settings = fake_settings(tmp_path, "twitter", twitter_access_token_secret=None)
    with pytest.raises(ConfigError, match=r"set TWITTER_ACCESS_TOKEN_SECRET in \.env"):
        get_publisher("twitter", settings)
    settings = fake_settings(tmp_path, instagram_username=None)
    with pytest.raises(ConfigError) as info:
        get_publisher("instagram", settings)
    assert "set INSTAGRAM_USERNAME, INSTAGRAM_PASSWORD in .env" in str(info.value)
    assert "INSTAGRAM_TOTP_SECRET" not in str(info.value)  # optional


def test_get_publisher_builds_the_builtins(tmp_path: Path) -> None:
    settings = fake_settings(tmp_path, "twitter", "instagram")
    assert isinstance(get_publisher("twitter", settings), TwitterPublisher)
    assert isinstance(get_publisher("instagram", settings), InstagramPublisher)
    # A preview needs no credentials.
    bare = fake_settings(tmp_path)
    assert isinstance(get_publisher("twitter", bare, check_credentials=False), Publisher)


def test_register_publisher(tmp_path: Path) -> None:
    class Echo:
        name = "echo"

        def fit(self, artwork: object, image_path: Path) -> Draft:
            return Draft("echo", "a.png", b"", "c", "a")

        def publish(self, draft: Draft) -> PostResult:
            return PostResult("1")

        def find_existing(self, draft: Draft) -> PostResult | None:
            return None

    register_publisher(PublisherSpec("echo", "Echo", "replies 1", lambda settings: Echo()))
    try:
        assert get_publisher("echo", fake_settings(tmp_path)).name == "echo"
        with pytest.raises(ConfigError, match="unknown publisher 'nope'"):
            get_publisher("nope", fake_settings(tmp_path))
    finally:
        unregister_publisher("echo")
