"""Benchmark the offline chain: per-stage wall time over N seeds and the process's peak memory.

Usage: python bench/bench_offline.py --seeds 10 --size 1024 [--engine ink --stylist ink]
(prints JSON; the default engines are the default offline hand, ink and its stylist)
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

if TYPE_CHECKING:
    from bot.chain import Chain


def cli_help_seconds(runs: int = 5) -> float:
    """Median wall time of `python -m bot --help` in a fresh process."""
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run([sys.executable, "-m", "bot", "--help"], check=True, capture_output=True)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def offline_chain(
    data_dir: Path, size: int, image_engine: str = "ink", style_engine: str = "ink"
) -> Chain:
    """The offline chain (grammar poem, then the named painter and stylist) at `size` px."""
    from bot.chain import Chain
    from bot.settings import load_settings

    settings = load_settings(
        data_dir=data_dir,
        image_size=size,
        poem_engine="grammar",
        image_engine=image_engine,
        style_engine=style_engine,
    )
    return Chain(settings)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--first-seed", type=int, default=0)
    parser.add_argument("--size", type=int, default=1024)
    parser.add_argument("--engine", default="ink", help="the painter (ink, procedural)")
    parser.add_argument("--stylist", default="ink", help="the mood engine (ink, classic)")
    args = parser.parse_args()

    help_s = cli_help_seconds()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    with tempfile.TemporaryDirectory() as data_dir:
        chain = offline_chain(Path(data_dir), args.size, args.engine, args.stylist)
        start = time.perf_counter()
        chain.run(seed=10_000)  # warm-up: imports and the pronouncing dictionary
        warmup_s = time.perf_counter() - start
        stages: dict[str, list[float]] = {"poem_s": [], "image_s": [], "mood_s": []}
        totals = []
        for seed in range(args.first_seed, args.first_seed + args.seeds):
            start = time.perf_counter()
            result = chain.run(seed=seed)
            totals.append(time.perf_counter() - start)
            for key in stages:
                stages[key].append(result.artwork.timings[key])
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    report = {
        "engines": f"grammar, {args.engine}, {args.stylist}",
        "size_px": args.size,
        "seeds": args.seeds,
        "cpu_count": os.cpu_count(),
        "first_artwork_s (cold: imports, dictionary)": round(warmup_s, 3),
        "per_artwork_s": {
            "median": round(statistics.median(totals), 3),
            "mean": round(statistics.mean(totals), 3),
            "max": round(max(totals), 3),
        },
        "per_stage_median_s": {k: round(statistics.median(v), 4) for k, v in stages.items()},
        "peak_rss_mb": round(peak_mb, 1),
        "cli_help_s": round(help_s, 3),
    }
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
