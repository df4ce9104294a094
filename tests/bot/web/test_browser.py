"""The gallery in a real browser: Playwright driving Debian's chromium against a live server.

Pages are opened with the Content-Security-Policy bypassed, so "no script runs" is a test
of the escaping itself, not of the header that backs it up.

The server is uvicorn in this process, on a free port of 127.0.0.1, in a thread; the tests
wait for it to say it started (a bounded wait on a flag), never for a fixed time.
"""

from __future__ import annotations

import socket
import threading
import time
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from pytest_socket import enable_socket, socket_allow_hosts

from bot.web.app import create_app
from tests.bot.web.conftest import ADMIN_TOKEN, SCRIPT, Archive, build_archive, gallery_settings
from tests.fakes import ScriptedPublisher

CHROMIUM = Path("/usr/bin/chromium")
START_TIMEOUT_S = 60.0

pytestmark = pytest.mark.skipif(
    not CHROMIUM.is_file(),
    reason="the browser tests need Debian's chromium at /usr/bin/chromium "
    "(apt-get install -y chromium; .ci/run installs it)",
)


@pytest.fixture
def localhost_only() -> Iterator[None]:
    """Sockets to 127.0.0.1 only: the server and the browser talk, nothing leaves the machine."""
    enable_socket()
    socket_allow_hosts(["127.0.0.1"], allow_unix_socket=True)
    yield


class LiveServer:
    """uvicorn serving `app` on a free local port, in a thread of this process."""

    def __init__(self, app: Any) -> None:
        self.socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.socket.bind(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.socket.getsockname()[1]}"
        config = uvicorn.Config(app, log_level="warning", lifespan="off")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(
            target=self.server.run, kwargs={"sockets": [self.socket]}, daemon=True
        )

    def __enter__(self) -> LiveServer:
        self.thread.start()
        deadline = time.monotonic() + START_TIMEOUT_S
        # A bounded wait on uvicorn's own flag; a failed start ends the thread instead.
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the gallery server did not start")
            time.sleep(0.01)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=START_TIMEOUT_S)
        self.socket.close()


@pytest.fixture
def browser(localhost_only: None) -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM),
            args=["--no-sandbox", "--disable-background-networking", "--disable-component-update"],
        )
        yield browser
        browser.close()


@pytest.fixture
def twitter() -> ScriptedPublisher:
    return ScriptedPublisher("twitter")


@pytest.fixture
def live(
    archive: Archive, twitter: ScriptedPublisher, localhost_only: None
) -> Iterator[LiveServer]:
    app = create_app(gallery_settings(archive.data_dir), publishers={"twitter": twitter})
    with LiveServer(app) as server:
        yield server


def test_grid_pages_and_filters(browser: Any, live: LiveServer, archive: Archive) -> None:
    page = browser.new_page(bypass_csp=True)
    page.goto(live.url + "/")
    cards = page.locator("li.card")
    assert cards.count() == 24
    assert cards.first.get_attribute("data-id") == str(archive.ids[-1])
    # Thumbnails decode: each image in view has real pixels.
    page.wait_for_function("Array.from(document.images).slice(0, 4).every(i => i.complete)")
    assert page.evaluate("document.images[0].naturalWidth") > 0
    page.click("a.older")
    page.wait_for_url("**/?before=*")
    assert page.locator("li.card").first.get_attribute("data-id") == str(archive.ids[-25])
    page.click("a.newer")
    page.wait_for_url("**/?after=*")
    assert page.locator("li.card").first.get_attribute("data-id") == str(archive.ids[-1])
    page.select_option("#mood", "fear")
    page.fill("#month", "2026-03")
    page.click("form.filters button")
    page.wait_for_url("**/?mood=fear&month=2026-03")
    moods = page.locator("li.card .mood").all_inner_texts()
    dates = page.locator("li.card time").all_inner_texts()
    assert moods and set(moods) == {"fear"} and all(d.startswith("2026-03") for d in dates)


def test_artwork_page_shows_poem_and_decoded_image_and_runs_no_script(
    browser: Any, live: LiveServer, archive: Archive
) -> None:
    page = browser.new_page(bypass_csp=True)
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(f"{live.url}/artworks/{archive.ids[-1]}")
    page.wait_for_function("document.getElementById('painting').complete")
    assert page.evaluate("document.getElementById('painting').naturalWidth") == 48
    poem = page.inner_text("#poem")
    # The poem's markup is shown as the words it is, and nothing in it ran.
    assert SCRIPT in poem and '<b>the</b> "reeds" & stones' in poem
    assert page.evaluate("document.querySelectorAll('script').length") == 0
    assert page.evaluate("window.__pwned === undefined")
    assert page.title() != "pwned" and not errors
    alt = page.get_attribute("#painting", "alt")
    assert alt is not None and SCRIPT in alt
    page.click("a.older")
    page.wait_for_url(f"**/artworks/{archive.ids[-2]}")
    assert "moon on the water 58" in page.inner_text("#poem")
    page.goto(live.url + "/")
    assert page.evaluate("window.__pwned === undefined")
    assert page.evaluate("document.querySelectorAll('script').length") == 0


def test_feed_is_well_formed_xml(browser: Any, live: LiveServer) -> None:
    page = browser.new_page(bypass_csp=True)
    response = page.goto(live.url + "/feed.xml")
    assert response is not None and response.ok
    feed = ET.fromstring(response.body())
    assert feed.tag == "{http://www.w3.org/2005/Atom}feed"
    assert len(feed.findall("{http://www.w3.org/2005/Atom}entry")) == 30


def test_admin_refuses_without_the_token_and_retries_with_it(
    browser: Any, live: LiveServer, archive: Archive, twitter: ScriptedPublisher
) -> None:
    page = browser.new_page(bypass_csp=True)
    refused = page.goto(live.url + "/admin")
    assert refused is not None and refused.status == 401
    page.fill("input[name=token]", "not-the-token-at-all")
    page.click("form.login button")
    assert "not the admin token" in page.inner_text("main")
    page.fill("input[name=token]", ADMIN_TOKEN)
    page.click("form.login button")
    page.wait_for_url("**/admin")
    assert "Needing attention" in page.inner_text("main")
    failed = archive.ids[1]
    row = page.locator("table.attention tr", has_text=f"{failed}").first
    row.locator("button.retry").click()
    page.wait_for_url("**/admin/retry")
    assert "posted" in page.inner_text("ul.outcomes")
    assert len(twitter.published) == 1
    assert ADMIN_TOKEN not in page.content()


def test_empty_gallery_loads(browser: Any, data_dir: Path, localhost_only: None) -> None:
    build_archive(data_dir, 0)
    with LiveServer(create_app(gallery_settings(data_dir))) as server:
        page = browser.new_page(bypass_csp=True)
        page.goto(server.url + "/")
        assert "No artworks yet" in page.inner_text("main")
