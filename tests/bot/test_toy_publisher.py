"""A publisher registered from this module only: settings, status, retry and redaction take it.

This is what adding a platform costs: its module (here, a scripted fake), its tests and one
`register_publisher` call, with no edit to settings, the CLI or the publishing code.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from pydantic import SecretStr

from bot.cli import main
from bot.publishers.base import Publisher
from bot.publishers.errors import PublishError
from bot.publishers.registry import (
    PublisherSetting,
    PublisherSpec,
    register_publisher,
    unregister_publisher,
)
from bot.settings import Settings, load_settings
from core.errors import ConfigError
from storage.db import Database
from storage.files import ImageStore
from storage.models import PostState
from storage.repository import posts_for_artwork
from tests.fakes import ScriptedPublisher, store_sample_artwork

TOKEN = "toy-Sekr1t-T0ken-42"


class Toy(ScriptedPublisher):
    """The toy platform's fake, which also keeps the token each build was given."""

    def __init__(self) -> None:
        super().__init__("toy")
        self.tokens: list[str] = []

    def build(self, settings: Settings) -> Publisher:
        token = settings.publisher_settings("toy")["TOY_TOKEN"]
        assert isinstance(token, SecretStr)
        self.tokens.append(token.get_secret_value())
        return self


@pytest.fixture
def toy() -> Iterator[Toy]:
    fake = Toy()
    register_publisher(
        PublisherSpec(
            name="toy",
            label="Toy",
            description="a platform that exists only in this test",
            factory=fake.build,
            settings=(PublisherSetting("TOY_TOKEN", "the toy's API token"),),
        )
    )
    yield fake
    unregister_publisher("toy")


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "data"
    path.mkdir()
    monkeypatch.setenv("DATA_DIR", str(path))
    monkeypatch.setenv("PUBLISHERS", "toy")
    monkeypatch.setenv("TOY_TOKEN", TOKEN)
    return path


@pytest.fixture
def artwork_id(data_dir: Path) -> int:
    db = Database.open(f"sqlite:///{data_dir / 'kavi.db'}")
    try:
        artwork = store_sample_artwork(db, ImageStore(data_dir))
    finally:
        db.close()
    assert artwork.id is not None
    return artwork.id


def toy_post_state(data_dir: Path, artwork_id: int) -> PostState:
    db = Database.open(f"sqlite:///{data_dir / 'kavi.db'}")
    try:
        (post,) = [p for p in posts_for_artwork(db, artwork_id) if p.platform == "toy"]
    finally:
        db.close()
    return post.state


def test_publishers_toy_is_refused_until_it_is_registered(data_dir: Path) -> None:
    with pytest.raises(ConfigError, match="PUBLISHERS: unknown publisher 'toy'; choose from: tw"):
        load_settings()


def test_publishers_toy_is_accepted_and_its_token_is_a_secret(
    toy: Toy, data_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = load_settings()
    assert settings.publishers == ["toy"]
    assert settings.publisher_settings("toy") == {"TOY_TOKEN": SecretStr(TOKEN)}
    assert TOKEN in settings.secret_values()
    # Read like every other setting: from .env as well as from the environment.
    monkeypatch.delenv("TOY_TOKEN")
    (tmp_path / ".env").write_text("TOY_TOKEN=from-the-dotenv-file\n")
    token = load_settings().publisher_settings("toy")["TOY_TOKEN"]
    assert isinstance(token, SecretStr) and token.get_secret_value() == "from-the-dotenv-file"


def test_status_shows_the_toy(
    toy: Toy, data_dir: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["status"]) == 0
    assert "Publishers: toy (Toy)\n" in capsys.readouterr().out
    monkeypatch.delenv("TOY_TOKEN")
    assert main(["status"]) == 0
    assert "Publishers: toy (Toy; not ready: set TOY_TOKEN)" in capsys.readouterr().out
    monkeypatch.delenv("PUBLISHERS")
    assert main(["status"]) == 0
    names = "twitter, instagram, mastodon, bluesky, instagram_graph, toy"
    assert f"set PUBLISHERS to any of: {names}" in capsys.readouterr().out


def test_retry_offers_the_toy_platform(toy: Toy, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["retry", "--help"])
    assert info.value.code == 0
    assert "{twitter,instagram,mastodon,bluesky,instagram_graph,toy}" in capsys.readouterr().out
    with pytest.raises(SystemExit) as info:
        main(["retry", "1", "--platform", "myspace"])
    assert info.value.code == 2
    choices = "'twitter', 'instagram', 'mastodon', 'bluesky', 'instagram_graph', 'toy'"
    assert f"(choose from {choices})" in capsys.readouterr().err


def test_retry_platform_toy_posts_through_the_state_machine_and_redacts_its_token(
    toy: Toy, data_dir: Path, artwork_id: int, capsys: pytest.CaptureFixture[str]
) -> None:
    toy.outcomes.append(PublishError(f"toy refused the token {TOKEN}"))
    assert main(["retry", str(artwork_id), "--platform", "toy"]) == 1
    captured = capsys.readouterr()
    assert "toy: FAILED \u2014 toy refused the token ***" in captured.out
    assert "could not be posted to Toy: toy refused the token ***" in captured.out  # the log
    assert toy_post_state(data_dir, artwork_id) == PostState.FAILED

    assert main(["status"]) == 0
    status = capsys.readouterr()
    assert f"python -m bot retry {artwork_id} --platform toy" in status.out

    assert main(["retry", str(artwork_id), "--platform", "toy"]) == 0
    retried = capsys.readouterr()
    assert "toy: posted: https://example.test/2" in retried.out
    assert toy_post_state(data_dir, artwork_id) == PostState.POSTED
    assert [d.platform for d in toy.published] == ["toy", "toy"]
    assert set(toy.tokens) == {TOKEN}  # each build read the token from the environment
    for output in (captured, status, retried):
        assert TOKEN not in output.out + output.err


def test_missing_token_is_a_clear_config_error(
    toy: Toy,
    data_dir: Path,
    artwork_id: int,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.delenv("TOY_TOKEN")
    for command in (["--post-now"], ["retry", str(artwork_id), "--platform", "toy"]):
        assert main(command) == 2
        assert capsys.readouterr().err == (
            "kavi: configuration error: toy is enabled in PUBLISHERS but its credentials are "
            "missing: set TOY_TOKEN in .env (README: Publishing), or remove "
            "toy from PUBLISHERS\n"
        )
    assert toy.published == []
