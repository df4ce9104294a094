"""The whole chain as configured (models from disk), in one process: cold start, then warm runs.

    python bench/bench_chain.py --repeats 5                    # what .env / the environment say
    IMAGE_MODEL=/models/x POEM_MODEL=/models/y python bench/bench_chain.py --repeats 3

Run it on the host it is about (in the GPU image: `docker compose run --rm --entrypoint
python bot bench/bench_chain.py`). It times haiku -> final image: the first run (loading the
models: the cold start) and `--repeats` warm runs (min/median/max), per stage, with the peak
GPU memory on CUDA, and names the engines, device and precision each artwork recorded.
Nothing is stored, posted or downloaded. Prints JSON.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def _spread(values: list[float]) -> dict[str, float]:
    return {
        "min": round(min(values), 3),
        "median": round(statistics.median(values), 3),
        "max": round(max(values), 3),
    }


def measure(repeats: int, *, seed: int = 1) -> dict[str, Any]:
    """One cold run and `repeats` warm runs of the configured chain; timings and what ran."""
    from bot.chain import Chain
    from bot.settings import load_settings

    settings = load_settings()
    started = time.perf_counter()
    chain = Chain(settings)
    first = chain.run(seed=seed)
    cold_s = time.perf_counter() - started
    cuda = first.artwork.device is not None and first.artwork.device.startswith("cuda")
    if cuda:
        import torch

        torch.cuda.reset_peak_memory_stats()
    totals: list[float] = []
    stages: dict[str, list[float]] = {}
    fallbacks = int(first.artwork.poem_fallback)
    for repeat in range(repeats):
        begun = time.perf_counter()
        artwork = chain.run(seed=seed + 1 + repeat).artwork
        totals.append(time.perf_counter() - begun)
        fallbacks += artwork.poem_fallback
        for name, seconds in artwork.timings.items():
            stages.setdefault(name, []).append(seconds)
    result: dict[str, Any] = {
        "engines": {c.stage: f"{c.name} ({c.model or 'offline'})" for c in chain.choices.values()},
        "device": first.artwork.device,
        "precision": first.artwork.precision,
        "size": settings.image_size,
        "image_render": first.artwork.engine_notes.get("image_render", "native"),
        "cold_start_s": round(cold_s, 3),
        "warm_repeats": repeats,
        "warm_haiku_to_image_s": _spread(totals) if totals else None,
        "warm_stage_s": {name: _spread(values) for name, values in stages.items()},
        "poems_from_the_fallback": f"{fallbacks} of {repeats + 1}",
    }
    if cuda:
        import torch

        result["peak_gpu_memory_gib"] = round(torch.cuda.max_memory_allocated() / 2**30, 2)
        result["gpu"] = torch.cuda.get_device_name()
    return result


def main(argv: list[str] | None = None) -> int:
    """Parse the arguments, measure, print JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5, help="warm runs after the cold one")
    parser.add_argument("--seed", type=int, default=1, help="seed of the cold run")
    args = parser.parse_args(argv)
    if args.repeats < 0:
        parser.error(f"--repeats must be 0 or more, got {args.repeats}")
    print(json.dumps(measure(args.repeats, seed=args.seed), indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
