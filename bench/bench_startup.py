"""Benchmark what each command costs to start, on an empty archive and on a large one.

Builds two DATA_DIRs in a temp folder: one migrated and empty, one holding `--artworks`
artworks (100,000 by default) inserted through `storage.bulk`, each row naming a real small
PNG (and its painting) under artworks/YYYY/MM/ with the file's mtime at the row's creation
time, a Twitter post per artwork (1 in 100 failed) and a finished run per artwork. Then it
runs each command in a fresh process, interleaved (command by command, empty then large,
`--repeats` rounds), and reports the CPU seconds (user + sys) of each child process.

The engines are left at `auto` with an empty HF_HOME, so they resolve to the offline ones a
new user without downloaded models gets; no publisher is enabled (the `make preview` path).
KAVI_CACHE_DIR starts empty, so the first dry run also builds the syllable cache.
Each dry run adds one artwork, so the "empty" archive holds up to `--repeats` artworks.

Usage: python bench/bench_startup.py [--artworks 100000] [--repeats 5] [--seed 7]
"""

from __future__ import annotations

import argparse
import io
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def tiny_png(seed: int) -> bytes:
    """A real 16x16 PNG (the archive's rows need files to exist, not to be large)."""
    import numpy as np
    from PIL import Image

    pixels = np.random.default_rng(seed).integers(0, 255, (16, 16, 3), dtype=np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="PNG")
    return buffer.getvalue()


def _created_times(count: int, now: datetime) -> Iterator[datetime]:
    """`count` creation times, oldest first, about one every 2.5 hours up to an hour ago."""
    step = timedelta(hours=2.5)
    start = now - timedelta(hours=1) - step * count
    for index in range(count):
        yield start + step * (index + 1)


def build_archive(data_dir: Path, artworks: int) -> float:
    """Create a migrated archive with `artworks` rows and files; return the seconds it took."""
    from core.artwork import Artwork
    from storage.bulk import ArchivedPost, ArchivedRun, insert_artworks, insert_posts, insert_runs
    from storage.db import Database
    from storage.files import sha256_hex
    from storage.models import PostState, RunStatus
    from storage.repository import ARTWORK_DIR

    started = time.perf_counter()
    data_dir.mkdir(parents=True, exist_ok=True)
    db = Database.open(f"sqlite:///{data_dir / 'kavi.db'}")
    if artworks == 0:
        db.close()
        return time.perf_counter() - started
    image, painting = tiny_png(1), tiny_png(2)
    digest = sha256_hex(image)
    now = datetime.now(UTC)
    made: list[Artwork] = []
    folders: set[Path] = set()
    for index, created in enumerate(_created_times(artworks, now)):
        folder = Path(ARTWORK_DIR) / f"{created:%Y}" / f"{created:%m}"
        if folder not in folders:
            (data_dir / folder).mkdir(parents=True, exist_ok=True)
            folders.add(folder)
        stem = f"{created:%Y%m%dT%H%M%S}-seed{index}-{index % 0xFFFFFF:06x}"
        image_path, painting_path = folder / f"{stem}.png", folder / f"{stem}-painting.png"
        stamp = created.timestamp()
        for relative, data in ((image_path, image), (painting_path, painting)):
            target = data_dir / relative
            target.write_bytes(data)
            os.utime(target, (stamp, stamp))
        made.append(
            Artwork(
                seed=index,
                poem="frost on the stone well\nthe heron waits by the reeds\nmorning light returns",
                poem_engine="grammar",
                prompt="a heron by a stone well at dawn",
                image_engine="procedural",
                mood="calm",
                style_engine="classic",
                caption="frost on the stone well\n\n#haiku #kavi",
                alt_text="A painting of a heron by a stone well at dawn.",
                season="winter",
                image_path=image_path,
                painting_path=painting_path,
                image_sha256=digest,
                width=16,
                height=16,
                timings={"poem_s": 0.01, "image_s": 0.2, "mood_s": 0.05},
                created_at=created,
            )
        )
    ids = insert_artworks(db, made)
    insert_posts(
        db,
        (
            ArchivedPost(
                artwork_id=artwork_id,
                platform="twitter",
                state=PostState.FAILED if artwork_id % 100 == 0 else PostState.POSTED,
                attempts=3 if artwork_id % 100 == 0 else 1,
                created_at=artwork.created_at or now,
                remote_id=None if artwork_id % 100 == 0 else str(10**18 + artwork_id),
                last_error="403 Forbidden: duplicate content" if artwork_id % 100 == 0 else None,
                posted_at=None if artwork_id % 100 == 0 else artwork.created_at,
            )
            for artwork_id, artwork in zip(ids, made, strict=True)
        ),
    )
    insert_runs(
        db,
        (
            ArchivedRun(
                trigger="scheduled",
                dry_run=False,
                local_date=(artwork.created_at or now).date(),
                status=RunStatus.SUCCEEDED,
                started_at=artwork.created_at or now,
                finished_at=artwork.created_at or now,
                artwork_id=artwork_id,
            )
            for artwork_id, artwork in zip(ids, made, strict=True)
        ),
    )
    db.close()
    return time.perf_counter() - started


def child_env(data_dir: Path, hf_home: Path) -> dict[str, str]:
    # Settings a developer's shell may hold would change what the commands do.
    from bot.settings import environment_variables

    scrubbed = set(environment_variables())
    env = {
        name: value
        for name, value in os.environ.items()
        if name not in scrubbed and not name.startswith("KAVI_")
    }
    env.update(DATA_DIR=str(data_dir), HF_HOME=str(hf_home), HF_HUB_OFFLINE="1")
    # Its own syllable cache: the first dry run builds it (that run is the max), as after install.
    env["KAVI_CACHE_DIR"] = str(hf_home.parent / "kavi-cache")
    return env


def cpu_seconds(argv: Sequence[str], env: dict[str, str], cwd: Path) -> tuple[float, float]:
    """Run one command to completion; return its (CPU seconds, wall seconds)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    done = subprocess.run(argv, env=env, cwd=cwd, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    # `--help` with no command exits 2 by design; anything else must succeed.
    if done.returncode not in (0, 2) or (done.returncode == 2 and "--help" not in argv):
        raise SystemExit(
            f"{' '.join(argv)} exited {done.returncode}:\n{done.stdout}\n{done.stderr}"
        )
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return cpu, wall


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--artworks", type=int, default=100_000)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--seed", type=int, default=7, help="seed of the dry runs")
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    args = parser.parse_args()
    if args.artworks < 1 or args.repeats < 1:
        parser.error("--artworks and --repeats must be at least 1")

    commands = {
        "--post-now --dry-run": ["--post-now", "--dry-run", "--seed", str(args.seed)],
        "history": ["history"],
        "status": ["status"],
        "--help": ["--help"],
    }
    with tempfile.TemporaryDirectory(prefix="kavi-bench-") as temp:
        root = Path(temp)
        hf_home = root / "hf-home"
        hf_home.mkdir()
        archives = {"empty": root / "empty", f"{args.artworks // 1000}k": root / "large"}
        built = {
            name: build_archive(path, 0 if name == "empty" else args.artworks)
            for name, path in archives.items()
        }
        for name, seconds in built.items():
            print(f"built {name} archive in {seconds:.1f} s", file=sys.stderr)
        samples: dict[tuple[str, str], list[float]] = {}
        walls: dict[tuple[str, str], list[float]] = {}
        for _ in range(args.repeats):
            for label, extra in commands.items():
                for name, path in archives.items():
                    argv = [sys.executable, "-m", "bot", *extra]
                    cpu, wall = cpu_seconds(argv, child_env(path, hf_home), cwd=root)
                    samples.setdefault((label, name), []).append(cpu)
                    walls.setdefault((label, name), []).append(wall)
    report(commands, list(archives), samples, walls, args)


def report(
    commands: dict[str, list[str]],
    archives: list[str],
    samples: dict[tuple[str, str], list[float]],
    walls: dict[tuple[str, str], list[float]],
    args: argparse.Namespace,
) -> None:
    print(
        f"CPU seconds (user+sys) per command, {args.repeats} runs each, "
        f"{os.cpu_count()} CPUs, Python {sys.version.split()[0]}"
    )
    header = f"{'command':<22} {'archive':<7} {'min':>6} {'median':>7} {'max':>6} {'wall med':>9}"
    print(header)
    print("-" * len(header))
    figures: dict[str, dict[str, dict[str, float]]] = {}
    for label in commands:
        for name in archives:
            cpu = samples[(label, name)]
            row = {
                "min": min(cpu),
                "median": statistics.median(cpu),
                "max": max(cpu),
                "wall_median": statistics.median(walls[(label, name)]),
            }
            figures.setdefault(label, {})[name] = row
            print(
                f"{label:<22} {name:<7} {row['min']:>6.2f} {row['median']:>7.2f} "
                f"{row['max']:>6.2f} {row['wall_median']:>9.2f}"
            )
        empty, large = (figures[label][name]["median"] for name in archives)
        print(f"{'':<22} ratio {archives[1]}/empty of medians: {large / empty:.2f}")
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
