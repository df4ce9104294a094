"""`kavi web` as a user runs it: a process serving the archive read-only until stopped."""

from __future__ import annotations

import os
import signal
import socket
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from pytest_socket import enable_socket, socket_allow_hosts

from tests.bot.web.conftest import ADMIN_TOKEN, build_archive
from tests.processes import WatchedProcess


@pytest.fixture
def localhost_only() -> Iterator[None]:
    enable_socket()
    socket_allow_hosts(["127.0.0.1"], allow_unix_socket=True)
    yield


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def status_of(url: str, **headers: str) -> int:
    try:
        with urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=30) as r:
            return int(r.status)
    except urllib.error.HTTPError as error:
        return error.code


def test_kavi_web_serves_the_archive_and_never_logs_the_token(
    data_dir: Path, tmp_path: Path, localhost_only: None
) -> None:
    archive = build_archive(data_dir, 3)
    before = (data_dir / "kavi.db").read_bytes()
    port = free_port()
    env = {
        **os.environ,
        "DATA_DIR": str(data_dir),
        "WEB_PORT": str(port),
        "WEB_ADMIN_TOKEN": ADMIN_TOKEN,
    }
    server = WatchedProcess([sys.executable, "-m", "bot", "web"], env=env, cwd=tmp_path)
    try:
        server.wait_for_line("Uvicorn running")
        url = f"http://127.0.0.1:{port}"
        assert status_of(f"{url}/healthz") == 200
        assert status_of(f"{url}/artworks/{archive.ids[0]}") == 200
        assert status_of(f"{url}/admin") == 401
        assert status_of(f"{url}/admin", Authorization=f"Bearer {ADMIN_TOKEN}") == 200
    finally:
        output = server.stop()
    # A graceful stop: uvicorn finishes, then ends by the signal it was sent, as it does.
    assert "Finished server process" in output
    assert server.returncode in (0, -signal.SIGTERM), output
    assert "admin on" in output and ADMIN_TOKEN not in output
    # Read-only: the database file is byte for byte what it was.
    assert (data_dir / "kavi.db").read_bytes() == before
