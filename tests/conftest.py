"""Shared fixtures: no test may reach the real network; each test gets its own DATA_DIR."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from pytest_socket import disable_socket, enable_socket


@pytest.fixture(autouse=True)
def _forbid_network() -> Iterator[None]:
    # Unix sockets stay allowed (asyncio self-pipes); any inet socket raises SocketBlockedError.
    disable_socket(allow_unix_socket=True)
    yield
    enable_socket()


@pytest.fixture(autouse=True)
def _isolated_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Settings read the environment and .env: keep the developer's own out of the tests.
    import os

    from bot.settings import environment_variables

    for name in {*environment_variables(), *(n for n in os.environ if n.startswith("KAVI_"))}:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    # Derived caches (the syllable tables) go to the test's folder, never the user's.
    monkeypatch.setenv("KAVI_CACHE_DIR", str(tmp_path / "kavi-cache"))
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf-home"))
    monkeypatch.chdir(tmp_path)
