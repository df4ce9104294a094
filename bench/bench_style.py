"""Benchmark the style GAN on this machine: training steps/s and images/s per resolution, the
process's peak memory, and the time to sample one image at a larger resolution.

Usage: python bench/bench_style.py --resolutions 64 128 --width 32 --batch 8 --steps 6 [--threads 1]
       (prints JSON; trains on a small collection of Kavi's own ink paintings, made here)
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


def ink_collection(folder: Path, count: int, size: int) -> Path:
    """`count` ink paintings of grammar poems, `size` px, in `folder`."""
    from generators.image.ink import InkPainter
    from generators.poem.grammar import GrammarPoemWriter

    folder.mkdir(parents=True, exist_ok=True)
    writer, painter = GrammarPoemWriter(), InkPainter()
    for seed in range(count):
        painter.paint(writer.write(seed=seed), size=size, seed=seed).image.save(
            folder / f"{seed:03d}.png"
        )
    return folder


def time_training(
    root: Path, resolution: int, *, width: int, latent: int, batch: int, steps: int
) -> dict[str, Any]:
    """Train `steps` steps at `resolution`; the rate leaves out the first (warm-up) step."""
    from generators.style.model import GanArchitecture
    from generators.style.plot import read_log
    from generators.style.prepare import prepare_style
    from generators.style.train import TrainOptions, train_gan

    source = ink_collection(root / f"ink-{resolution}", max(batch, 16), max(64, resolution))
    report = prepare_style(source, root / "styles", f"bench{resolution}", resolution=resolution)
    layout = report.layout
    arch = GanArchitecture(resolution=resolution, latent=latent, gen_width=width, disc_width=width)
    options = TrainOptions(
        architecture=arch,
        steps=steps,
        batch_size=batch,
        checkpoint_every=10**9,
        sample_every=10**9,
        device="cpu",
    )
    quiet = _Quiet()
    train_gan(layout, options, reporter=quiet)
    seconds = [r["seconds"] for r in read_log(layout.loss_log)]
    per_step = (seconds[-1] - seconds[0]) / (len(seconds) - 1)
    return {
        "resolution": resolution,
        "width": width,
        "batch": batch,
        "steps_timed": len(seconds) - 1,
        "seconds_per_step": round(per_step, 3),
        "steps_per_s": round(1 / per_step, 3),
        "images_per_s": round(batch / per_step, 2),
    }


class _Quiet:
    def start(self, *, first_step: int, total: int) -> None:
        pass

    def step(self, step: int, losses: dict[str, float]) -> None:
        pass

    def message(self, text: str) -> None:
        pass

    def close(self) -> None:
        pass


def time_sampling(resolution: int, *, width: int, latent: int, runs: int = 3) -> dict[str, Any]:
    """Seconds to sample one image from a generator of `resolution` (random weights)."""
    import torch

    from generators.style.model import GanArchitecture, Generator
    from generators.style.sample import generate, latents

    arch = GanArchitecture(resolution=resolution, latent=latent, gen_width=width, disc_width=width)
    generator = Generator(arch).eval()
    generate(generator, latents(1, latent, 0), seed=0)  # warm-up
    times = []
    for seed in range(runs):
        start = time.perf_counter()
        generate(generator, latents(1, latent, seed), seed=seed)
        times.append(time.perf_counter() - start)
    parameters = sum(p.numel() for p in generator.parameters())
    return {
        "resolution": resolution,
        "width": width,
        "generator_parameters_m": round(parameters / 1e6, 2),
        "seconds_per_image": round(min(times), 3),
        "threads": torch.get_num_threads(),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--resolutions", type=int, nargs="+", default=[64, 128])
    parser.add_argument("--width", type=int, default=32)
    parser.add_argument("--latent", type=int, default=128)
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--steps", type=int, default=6)
    parser.add_argument("--sample-resolution", type=int, default=256)
    parser.add_argument(
        "--threads", type=int, help="torch CPU threads (default: torch's; 1 can be much faster)"
    )
    args = parser.parse_args()
    if args.threads:
        import torch

        torch.set_num_threads(args.threads)
    with tempfile.TemporaryDirectory() as folder:
        training = [
            time_training(
                Path(folder),
                resolution,
                width=args.width,
                latent=args.latent,
                batch=args.batch,
                steps=args.steps,
            )
            for resolution in args.resolutions
        ]
    sampling = time_sampling(args.sample_resolution, width=args.width, latent=args.latent)
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(
        json.dumps(
            {
                "machine": f"{platform.machine()} {platform.processor() or ''}".strip(),
                "training": training,
                "sampling": sampling,
                "peak_rss_mib": round(peak_kib / 1024, 1),
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
