"""Benchmark the gallery's server time on small archives and on a large one.

Builds DATA_DIRs through the storage layer (bench_startup's `build_archive`: rows inserted
with `storage.bulk`, each naming a real small PNG): one with a single artwork (the "empty"
archive, so an artwork page exists), one with 100 (full pages) and one with `--artworks`
(100,000 by default). Each page is asked for `--requests` times after a warm-up, straight
through the ASGI interface in one event loop (no sockets, no test-client threads), and the
median time from request to full response is reported, with the ratios of the large archive
to the small ones. Target: at most 50 ms a page at 100,000, ratio to empty at most 1.5.

Usage: python bench/bench_web.py [--artworks 100000] [--requests 50] [--workdir DIR]
(`--workdir` keeps the archives there and reuses them on the next run.)
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_startup import build_archive  # noqa: E402

PAGES = ("/", "/artworks/{id}", "/api/artworks", "/?before={id}", "/?month={month}")


async def _medians(app: object, urls: dict[str, str], requests: int) -> dict[str, float]:
    import httpx

    medians: dict[str, float] = {}
    transport = httpx.ASGITransport(app=app)  # type: ignore[arg-type]
    async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
        for name, url in urls.items():
            warm = await client.get(url)
            assert warm.status_code == 200, (url, warm.status_code)
            times = []
            for _ in range(requests):
                started = time.perf_counter()
                response = await client.get(url)
                times.append(time.perf_counter() - started)
                assert response.status_code == 200
            medians[name] = statistics.median(times) * 1000
    return medians


def page_times(data_dir: Path, requests: int) -> dict[str, float]:
    """Median milliseconds per page, over `requests` requests each."""
    from bot.settings import load_settings
    from bot.web.app import create_app
    from storage.db import Database
    from storage.gallery import archive_span, gallery_page

    settings = load_settings(data_dir=data_dir, public_base_url="https://kavi.example.org")
    db = Database.open_read_only(settings.resolved_database_url)
    newest = gallery_page(db, size=1).artworks[0].id or 1
    span = archive_span(db)
    db.close()
    assert span is not None
    middle, month = max(newest // 2, 1), f"{span[1]:%Y-%m}"
    urls = {p: p.format(id=middle, month=month) for p in PAGES}
    return asyncio.run(_medians(create_app(settings), urls, requests))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--artworks", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=50)
    parser.add_argument("--workdir", type=Path, help="keep the archives here (and reuse them)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="kavi-bench-web-") as tmp:
        root = args.workdir or Path(tmp)
        sizes = (1, 100, args.artworks)
        results = {}
        for size in sizes:
            folder = root / f"archive-{size}"
            if not (folder / "kavi.db").is_file():
                print(f"built {size:,} artworks in {build_archive(folder, size):.0f} s", flush=True)
            results[size] = page_times(folder, args.requests)
    few, some, many = (results[s] for s in sizes)
    print(f"median server time of {args.requests} requests (ms)")
    header = "".join(f"{f'{s:,} art.':>12}" for s in sizes)
    print(f"{'page':<18}{header}{f'{sizes[2]:,}/1':>12}{f'{sizes[2]:,}/100':>14}")
    for name in PAGES:
        cells = "".join(f"{results[s][name]:>12.1f}" for s in sizes)
        print(f"{name:<18}{cells}{many[name] / few[name]:>12.2f}{many[name] / some[name]:>14.2f}")


if __name__ == "__main__":
    main()
