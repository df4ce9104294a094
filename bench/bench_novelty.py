"""Never repeat, measured: the near-duplicate check at an empty and a 100,000-artwork archive,
the time per draft, and what a year of daily artworks looks like after the check.

Usage: python bench/bench_novelty.py [--artworks 100000] [--queries 50] [--year 365]

Prints JSON:
- check_ms: `nearest_work` (poem keys through the index, every image hash compared) at 0
  and at `--artworks` artworks, min/median/max of `--queries` checks after the first (the
  first, which reads every hash once per process, is reported apart), the two archives
  interleaved query by query;
- draft_s: one draft at 1024 px (chain, descriptors, check at the big archive);
- year: `--year` artworks made one a day through the redraw rule (256 px, seeds 0..N-1):
  redraws, and the nearest pair of what would be posted (largest poem share, fewest
  image bits), next to the same figures with no check.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def build(db_url: str, artworks: int, poems: list[str]) -> None:
    """A migrated archive of `artworks` rows with descriptors (poems cycled, random hashes)."""
    from core.artwork import Artwork
    from generators.novelty import poem_keys
    from storage.bulk import insert_artworks
    from storage.db import Database

    db = Database.open(db_url)
    rng = np.random.default_rng(7)
    hashes = rng.integers(-(2**63), 2**63 - 1, size=artworks, dtype=np.int64)
    keys = [poem_keys(p) for p in poems]
    start = datetime.now(UTC) - timedelta(days=artworks)
    insert_artworks(
        db,
        (
            Artwork(
                seed=i,
                poem=poems[i % len(poems)],
                poem_engine="grammar",
                prompt="",
                image_engine="ink",
                mood="neutral",
                style_engine="ink",
                caption="",
                alt_text="",
                image_path=Path(f"artworks/x/{i}.png"),
                image_sha256="0" * 64,
                created_at=start + timedelta(days=i),
                image_phash=int(hashes[i]),
                poem_keys=keys[i % len(poems)],
            )
            for i in range(artworks)
        ),
    )
    db.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--artworks", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=51)
    parser.add_argument("--year", type=int, default=365)
    parser.add_argument("--distinct-poems", type=int, default=20_000)
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from bot.chain import Chain
    from bot.service import Kavi
    from bot.settings import load_settings
    from generators.novelty import image_hash, poem_keys
    from generators.poem.grammar import GrammarPoemWriter
    from storage.db import Database
    from storage.novelty import hash_distances, nearest_work
    from storage.repository import store_artwork

    writer = GrammarPoemWriter()
    poems = [writer.write(seed=s).text for s in range(args.distinct_poems)]
    report: dict[str, object] = {"archive_artworks": args.artworks, "cpu_count": os.cpu_count()}
    with tempfile.TemporaryDirectory() as tmp:
        urls = {0: f"sqlite:///{tmp}/empty.db", args.artworks: f"sqlite:///{tmp}/big.db"}
        build(urls[0], 0, poems)
        started = time.perf_counter()
        build(urls[args.artworks], args.artworks, poems)
        report["build_s"] = round(time.perf_counter() - started, 1)
        dbs = {n: Database.open(url) for n, url in urls.items()}
        rng = np.random.default_rng(11)
        times: dict[int, list[float]] = {n: [] for n in dbs}
        for q in range(args.queries):
            keys = poem_keys(writer.write(seed=10**6 + q).text)
            phash = int(rng.integers(-(2**63), 2**63 - 1, dtype=np.int64))
            for n, db in dbs.items():  # interleaved: both archives see the same load
                start = time.perf_counter()
                nearest_work(db, image_phash=phash, keys=keys)
                times[n].append((time.perf_counter() - start) * 1000)
        # The first check in a process reads every hash from its index; later ones only the
        # rows added since (see storage/novelty.py).
        report["first_check_ms (cold)"] = {str(n): round(t[0], 2) for n, t in times.items()}
        report["check_ms"] = {
            str(n): {
                "min": round(min(t[1:]), 2),
                "median": round(statistics.median(t[1:]), 2),
                "max": round(max(t[1:]), 2),
            }
            for n, t in times.items()
        }
        chain = Chain(load_settings(data_dir=Path(tmp) / "d", image_size=1024))
        draft_times = []
        for seed in range(3):
            start = time.perf_counter()
            result = chain.run(seed=seed)
            nearest_work(
                dbs[args.artworks],
                image_phash=image_hash(result.image),
                keys=poem_keys(result.artwork.poem),
            )
            draft_times.append(time.perf_counter() - start)
        report["draft_s_1024px"] = {
            "min": round(min(draft_times), 3),
            "median": round(statistics.median(draft_times), 3),
        }
        for db in dbs.values():
            db.close()

        year_dir = Path(tmp) / "year"
        kavi = Kavi(load_settings(data_dir=year_dir, image_size=256))
        plain, posted, redraws = [], [], 0
        for seed in range(args.year):
            first = kavi.chain.run(seed=seed)
            plain.append((poem_keys(first.artwork.poem), image_hash(first.image)))
            result = kavi._novel(seed, None, redraw=True)  # the rule create_artwork applies
            artwork = result.artwork
            redraws += int(artwork.curation["novelty"]["redraws"])
            store_artwork(kavi.db, kavi.store, artwork, result.image)
            posted.append((artwork.poem_keys, artwork.image_phash))
        kavi.close()

    def nearest_pair(items: list[tuple[tuple[int, ...], int | None]]) -> dict[str, object]:
        hashes = np.array([h for _, h in items], dtype=np.int64)
        fewest = min(
            int(hash_distances(int(hashes[i]), hashes[i + 1 :]).min())
            for i in range(len(hashes) - 1)
        )
        share = max(
            len(set(a) & set(b)) / max(len(set(a)), 1)
            for (a, _), (b, _) in itertools.permutations(items, 2)
        )
        return {"fewest_image_bits": fewest, "largest_poem_share": round(share, 3)}

    report["year"] = {
        "artworks": args.year,
        "redraws": redraws,
        "posted": nearest_pair(posted),
        "without_the_check": nearest_pair(plain),
    }
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
