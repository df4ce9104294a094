"""Mastodon, Bluesky and Instagram's Graph API through the CLI: posting, previews, secrets."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import responses

from bot.cli import main
from bot.publishers import bluesky as bluesky_module
from bot.publishers.bluesky import MAX_BLOB_BYTES
from tests.fake_bluesky import FakeBluesky, xrpc_error
from tests.fake_instagram_graph import FakeInstagramGraph, graph_error
from tests.fake_mastodon import FakeMastodon
from tests.fakes import SECRETS, Reply, publisher_env

PLATFORMS = ("mastodon", "bluesky", "instagram_graph")


@dataclass
class Servers:
    mastodon: FakeMastodon
    bluesky: FakeBluesky
    graph: FakeInstagramGraph


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "data"
    monkeypatch.setenv("DATA_DIR", str(path))
    monkeypatch.setenv("IMAGE_SIZE", "256")
    return path


@pytest.fixture
def servers(data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Servers]:
    for name, value in publisher_env(*PLATFORMS).items():
        monkeypatch.setenv(name, value)
    bluesky = FakeBluesky()
    monkeypatch.setattr(bluesky_module, "default_transport", bluesky.transport)
    # The publishers poll with real sleeps in a run; the fakes finish on the first look.
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield Servers(FakeMastodon(mock, polls=0), bluesky, FakeInstagramGraph(mock, polls=0))


def test_post_now_posts_once_to_each_new_platform(
    servers: Servers, data_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["--post-now", "--seed", "7"]) == 0
    out = capsys.readouterr().out
    assert "mastodon: posted: https://mastodon.example/@kavi/" in out
    assert "bluesky: posted: https://bsky.app/profile/kavi.bsky.social/post/" in out
    assert "instagram_graph: posted: https://www.instagram.com/p/" in out
    assert len(servers.mastodon.statuses) == 1
    assert len(servers.bluesky.posts) == 1
    assert len(servers.graph.media) == 1
    (container,) = servers.graph.containers.values()
    assert container["image_url"] == "https://kavi.example/images/1.jpg"


def test_the_dry_run_previews_each_platform_fitted_without_credentials(
    data_dir: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("PUBLISHERS", ",".join(PLATFORMS))
    assert main(["--post-now", "--dry-run", "--seed", "3"]) == 0
    folder = data_dir / "previews" / "artwork-00001"
    page = (folder / "index.html").read_text()
    for platform in PLATFORMS:
        assert f'data-platform="{platform}"' in page
        assert (folder / platform / "caption.txt").read_text()
        assert (folder / platform / "alt-text.txt").read_text()
    (bluesky_image,) = (folder / "bluesky").glob("artwork.*")
    assert bluesky_image.stat().st_size <= MAX_BLOB_BYTES
    assert "graphemes" in page and "focus point" in page
    assert "Instagram fetches the image from &lt;PUBLIC_BASE_URL&gt;/images/1.jpg" in page


def test_the_new_credentials_never_reach_outputs_logs_files_or_the_database(
    servers: Servers,
    data_dir: Path,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    # Errors that echo the secret back, as some APIs do.
    token = SECRETS["MASTODON_ACCESS_TOKEN"]
    servers.mastodon.script("status", Reply(422, {"error": f"token {token} is not allowed"}))
    password = SECRETS["BLUESKY_APP_PASSWORD"]
    servers.bluesky.script(
        "com.atproto.repo.createRecord",
        xrpc_error(400, "InvalidRequest", f"bad password {password}"),
    )
    graph_token = SECRETS["INSTAGRAM_GRAPH_ACCESS_TOKEN"]
    servers.graph.script("container", graph_error(400, 100, f"Invalid token {graph_token}"))
    assert main(["--post-now", "--seed", "9"]) == 1
    assert main(["--post-now", "--dry-run", "--seed", "9"]) == 0
    assert main(["status"]) == 0
    captured = capsys.readouterr()

    with sqlite3.connect(data_dir / "kavi.db") as connection:
        database = "\n".join(connection.iterdump())
    assert "token *** is not allowed" in database and "bad password ***" in database
    assert "Invalid token ***" in database
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
