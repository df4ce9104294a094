"""Benchmark LoRA training (`kavi style train --backend lora`) on a full-size random-weight
Stable Diffusion 2.x pipeline (SD-Turbo's shapes: an 865M-parameter UNet, the SD VAE, a
23-layer 1024-wide CLIP text encoder), through the real training code.

Usage: python bench/bench_lora.py --resolution 512 --steps 3 [--precision no|bf16] [--rank 16]
       (prints JSON: seconds per step after the first, images/s, peak memory; the folder of
       random weights is built once under --cache and reused)
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--resolution", type=int, default=512)
    parser.add_argument("--steps", type=int, default=3)
    parser.add_argument("--batch", type=int, default=1)
    parser.add_argument("--rank", type=int, default=16)
    parser.add_argument("--precision", choices=("no", "bf16", "fp16"), default="no")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--gradient-checkpointing", action="store_true")
    parser.add_argument("--cache", type=Path, default=Path(tempfile.gettempdir()) / "kavi-sd2")
    args = parser.parse_args()

    import torch

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
    with tempfile.TemporaryDirectory() as scratch:
        root = Path(scratch)
        source = ink_collection(root / "ink", max(4, args.batch), args.resolution)
        layout = prepare_style(source, root / "styles", "bench", resolution=args.resolution).layout
        options = LoraOptions(
            model=str(folder),
            resolution=args.resolution,
            steps=args.steps,
            batch_size=args.batch,
            rank=args.rank,
            checkpoint_every=10**9,
            sample_every=10**9,
            precision=args.precision,
            device=args.device,
            gradient_checkpointing=args.gradient_checkpointing,
        )
        # Sampling and checkpointing fall on the last step; time the steps from the log.
        started = time.perf_counter()
        train_lora(layout, options, reporter=_Quiet())
        total = time.perf_counter() - started
        seconds = [r["seconds"] for r in read_log(layout.lora.loss_log)]
    per_step = [b - a for a, b in zip(seconds, seconds[1:], strict=False)]
    result: dict[str, Any] = {
        "machine": platform.machine(),
        "threads": torch.get_num_threads(),
        "cuda": torch.cuda.is_available(),
        "resolution": args.resolution,
        "batch": args.batch,
        "rank": args.rank,
        "precision": args.precision,
        "gradient_checkpointing": args.gradient_checkpointing,
        "weights_build_s": round(built, 1),
        "first_step_s": round(seconds[0], 2) if seconds else None,
        "step_s": {
            "min": round(min(per_step), 2),
            "median": round(sorted(per_step)[len(per_step) // 2], 2),
            "max": round(max(per_step), 2),
        }
        if per_step
        else None,
        "images_per_s": round(args.batch / (sorted(per_step)[len(per_step) // 2]), 3)
        if per_step
        else None,
        "run_s_including_load_sample_and_save": round(total, 1),
        "peak_rss_gib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20, 2),
    }
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
