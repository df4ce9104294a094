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


async def _medians(
    apps: dict[int, object], urls: dict[int, dict[str, str]], requests: int
) -> dict[int, dict[str, tuple[float, float]]]:
    """(wall, CPU) median ms per archive and page; rounds interleave archives and pages, so a
    busy moment of the machine falls on all of them alike."""
    import httpx

    clients = {
        size: httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://bench")  # type: ignore[arg-type]
        for size, app in apps.items()
    }
    wall: dict[tuple[int, str], list[float]] = {}
    cpu: dict[tuple[int, str], list[float]] = {}
    for round_ in range(requests + 1):
        for size, client in clients.items():
            for name, url in urls[size].items():
                started, started_cpu = time.perf_counter(), time.process_time()
                response = await client.get(url)
                took, took_cpu = time.perf_counter() - started, time.process_time() - started_cpu
                assert response.status_code == 200, (size, url, response.status_code)
                if round_:  # the first round warms up
                    wall.setdefault((size, name), []).append(took * 1000)
                    cpu.setdefault((size, name), []).append(took_cpu * 1000)
    for client in clients.values():
        await client.aclose()
    return {
        size: {
            name: (statistics.median(wall[size, name]), statistics.median(cpu[size, name]))
            for name in urls[size]
        }
        for size in apps
    }


def prepare(data_dir: Path) -> tuple[object, dict[str, str]]:
    """The gallery app over `data_dir`, and the URL of each page for that archive."""
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
    return create_app(settings), {p: p.format(id=middle, month=month) for p in PAGES}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--artworks", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=50)
    parser.add_argument("--workdir", type=Path, help="keep the archives here (and reuse them)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="kavi-bench-web-") as tmp:
        root = args.workdir or Path(tmp)
        sizes = (1, 100, args.artworks)
        apps, urls = {}, {}
        for size in sizes:
            folder = root / f"archive-{size}"
            if not (folder / "kavi.db").is_file():
                print(f"built {size:,} artworks in {build_archive(folder, size):.0f} s", flush=True)
            apps[size], urls[size] = prepare(folder)
        results = asyncio.run(_medians(apps, urls, args.requests))
    for kind, index in (("wall", 0), ("CPU", 1)):
        print(f"median server {kind} time of {args.requests} requests (ms)")
        header = "".join(f"{f'{s:,} art.':>13}" for s in sizes)
        print(f"{'page':<18}{header}{f'{sizes[2]:,}/1':>13}{f'{sizes[2]:,}/100':>15}")
        for name in PAGES:
            row = [results[s][name][index] for s in sizes]
            cells = "".join(f"{v:>13.1f}" for v in row)
            print(f"{name:<18}{cells}{row[2] / row[0]:>13.2f}{row[2] / row[1]:>15.2f}")


if __name__ == "__main__":
    main()
