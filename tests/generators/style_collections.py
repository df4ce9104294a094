"""Tiny curated collections made in code, for the style tests."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

# Tiny networks train fastest on one thread: on a shared 2-core machine, thread start-up and
# contention cost ten times the maths (measured: 4 steps in 8.3 s on two threads, 0.6 s on one).
ONE_THREAD_ENV = {"OMP_NUM_THREADS": "1"}


@pytest.fixture
def one_torch_thread() -> Iterator[None]:
    """Run torch on one thread for the test (tiny networks), then restore the count."""
    torch = pytest.importorskip("torch")
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def blobs(seed: int, size: int = 48) -> Image.Image:
    """A distinct picture per seed: a smooth random colour field with a dark disc."""
    rng = np.random.default_rng(seed)
    coarse = rng.integers(0, 256, (4, 4, 3), dtype=np.uint8)
    field = Image.fromarray(coarse, "RGB").resize((size, size), Image.Resampling.BICUBIC)
    pixels = np.asarray(field).copy()
    yy, xx = np.mgrid[0:size, 0:size]
    cy, cx, r = rng.integers(size // 4, 3 * size // 4, 2).tolist() + [size // 6]
    pixels[(yy - cy) ** 2 + (xx - cx) ** 2 < r * r] = (20, 20, 30)
    return Image.fromarray(pixels, "RGB")


def make_collection(folder: Path, count: int, *, size: int = 48, first_seed: int = 0) -> list[Path]:
    """`count` distinct PNG images in `folder`, named by seed."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for seed in range(first_seed, first_seed + count):
        path = folder / f"img-{seed:03d}.png"
        blobs(seed, size).save(path)
        paths.append(path)
    return paths
