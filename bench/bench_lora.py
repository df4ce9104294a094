"""Benchmark LoRA training (`kavi style train --backend lora`) on a full-size random-weight
Stable Diffusion 2.x pipeline (SD-Turbo's shapes: an 865M-parameter UNet, the SD VAE, a
23-layer 1024-wide CLIP text encoder), through the real training code.

Usage: python bench/bench_lora.py --resolution 512 --steps 3 --precisions no bf16 --rounds 2
       (prints JSON: seconds per step after the first for each precision, the runs interleaved
       round by round in one process and their ratio per round, images/s, peak memory; the
       folder of random weights is built once under --cache and reused)
"""

from __future__ import annotations

import argparse
import json
import platform
import resource
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


class _Quiet:
    def start(self, *, first_step: int, total: int) -> None: ...
    def step(self, step: int, losses: dict[str, float]) -> None: ...
    def message(self, text: str) -> None: ...
    def close(self) -> None: ...


def _spread(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)
    return {
        "min": round(ordered[0], 2),
        "median": round(ordered[len(ordered) // 2], 2),
        "max": round(ordered[-1], 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--resolution", type=int, default=512)
    parser.add_argument("--steps", type=int, default=3)
    parser.add_argument("--batch", type=int, default=1)
    parser.add_argument("--rank", type=int, default=16)
    parser.add_argument(
        "--precisions", nargs="+", choices=("no", "bf16", "fp16"), default=["no", "bf16"]
    )
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--gradient-checkpointing", action="store_true")
    parser.add_argument("--cache", type=Path, default=Path(tempfile.gettempdir()) / "kavi-sd2")
    args = parser.parse_args()

    import torch
    from accelerate.state import AcceleratorState

    from bench.bench_neural import build_full_sd
    from bench.bench_style import ink_collection
    from generators.style.lora import LoraOptions, train_lora
    from generators.style.plot import read_log
    from generators.style.prepare import prepare_style

    began = time.perf_counter()
    folder = args.cache
    if not (folder / "model_index.json").is_file():
        build_full_sd(folder)
    built = time.perf_counter() - began
    steps: dict[str, list[float]] = {p: [] for p in args.precisions}
    runs: dict[str, list[float]] = {p: [] for p in args.precisions}
    paired: list[float] = []
    with tempfile.TemporaryDirectory() as scratch:
        root = Path(scratch)
        source = ink_collection(root / "ink", max(4, args.batch), args.resolution)
        layout = prepare_style(source, root / "styles", "bench", resolution=args.resolution).layout
        for round_number in range(args.rounds):
            # The order turns each round, so neither precision always runs on a warmer machine.
            order = args.precisions[round_number % len(args.precisions) :]
            order += args.precisions[: round_number % len(args.precisions)]
            medians: dict[str, float] = {}
            for precision in order:
                # Accelerate keeps one state per process; each run here is a fresh one.
                AcceleratorState._reset_state(reset_partial_state=True)
                options = LoraOptions(
                    model=str(folder),
                    resolution=args.resolution,
                    steps=args.steps,
                    batch_size=args.batch,
                    rank=args.rank,
                    checkpoint_every=10**9,
                    sample_every=0,
                    precision=precision,
                    device=args.device,
                    gradient_checkpointing=args.gradient_checkpointing,
                )
                started = time.perf_counter()
                train_lora(layout, options, reporter=_Quiet(), fresh=True)
                runs[precision].append(time.perf_counter() - started)
                seconds = [r["seconds"] for r in read_log(layout.lora.loss_log)]
                # The first step warms caches and allocators; the rest are the steady rate.
                per_step = [b - a for a, b in zip(seconds, seconds[1:], strict=False)]
                steps[precision].extend(per_step)
                medians[precision] = sorted(per_step)[len(per_step) // 2]
            if len(args.precisions) == 2:
                first, second = args.precisions
                paired.append(medians[first] / medians[second])
    result: dict[str, Any] = {
        "machine": platform.machine(),
        "threads": torch.get_num_threads(),
        "cuda": torch.cuda.is_available(),
        "resolution": args.resolution,
        "batch": args.batch,
        "rank": args.rank,
        "steps_per_run": args.steps,
        "rounds": args.rounds,
        "gradient_checkpointing": args.gradient_checkpointing,
        "weights_build_s": round(built, 1),
        "step_s": {p: _spread(v) for p, v in steps.items() if v},
        "images_per_s_median": {
            p: round(args.batch / _spread(v)["median"], 4) for p, v in steps.items() if v
        },
        "run_s_including_load_and_save": {p: _spread(v) for p, v in runs.items()},
        "peak_rss_gib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20, 2),
    }
    if paired:
        first, second = args.precisions
        result[f"step_time_ratio_{first}_over_{second}_per_round"] = [round(r, 2) for r in paired]
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
