"""Make docs/web/home.png and docs/web/artwork.png: the gallery over a few real artworks.

Makes `--artworks` artworks with the offline engines (dry runs, nothing posted) in a temp
DATA_DIR, serves the gallery in-process and photographs two pages with Debian's chromium.

Usage: python bench/web_screenshots.py [--artworks 8] [--out docs/web]
"""

from __future__ import annotations

import argparse
import os
import socket
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--artworks", type=int, default=8)
    parser.add_argument("--out", type=Path, default=Path("docs/web"))
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="kavi-shots-") as tmp:
        os.environ.update({"DATA_DIR": tmp, "IMAGE_SIZE": "512", "HF_HUB_OFFLINE": "1"})
        import uvicorn
        from playwright.sync_api import sync_playwright

        from bot.service import Kavi
        from bot.settings import load_settings
        from bot.web.app import create_app

        settings = load_settings()
        kavi = Kavi(settings)
        for seed in range(1, args.artworks + 1):
            kavi.post_now(dry_run=True, seed=seed * 7)
        kavi.close()
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{sock.getsockname()[1]}"
        server = uvicorn.Server(uvicorn.Config(create_app(settings), log_level="warning"))
        thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
        thread.start()
        while not server.started:
            if not thread.is_alive():
                raise SystemExit("the gallery server did not start")
            time.sleep(0.01)
        args.out.mkdir(parents=True, exist_ok=True)
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path="/usr/bin/chromium")
            # CSP bypassed only so the wait below can run its check in the page.
            page = browser.new_page(viewport={"width": 1200, "height": 900}, bypass_csp=True)
            for name, path in (("home", "/"), ("artwork", f"/artworks/{args.artworks - 2}")):
                page.goto(url + path)
                page.wait_for_function(
                    "Array.from(document.images).every(i => i.complete && i.naturalWidth > 0)"
                )
                page.screenshot(path=str(args.out / f"{name}.png"))
                print(f"wrote {args.out / f'{name}.png'}")
            browser.close()
        server.should_exit = True
        thread.join()


if __name__ == "__main__":
    main()
