"""Sampling a trained style: load the EMA generator from a checkpoint, draw images, make grids."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np

from generators.style.checkpoint import Checkpoint, load_weights
from generators.style.model import GanArchitecture

if TYPE_CHECKING:
    import torch
    from PIL.Image import Image

    from generators.style.model import Generator


def load_generator(checkpoint: Checkpoint, device: str = "cpu") -> Generator:
    """The checkpoint's EMA generator, on `device`, in eval mode."""
    from generators.style.model import Generator

    arch = GanArchitecture(**checkpoint.state["architecture"])
    generator = Generator(arch)
    generator.load_state_dict(load_weights(checkpoint.ema_weights))
    return generator.to(device).eval()


def latents(count: int, latent: int, seed: int) -> torch.Tensor:
    """`count` latent vectors drawn from a CPU generator seeded with `seed` (same on any device)."""
    import torch

    generator = torch.Generator("cpu").manual_seed(int(seed))
    return torch.randn(count, latent, generator=generator)


def to_images(batch: torch.Tensor) -> list[Image]:
    """A batch in [-1, 1] (N, 3, H, W) as RGB Pillow images."""
    from PIL import Image as PILImage

    pixels = ((batch.detach().float().clamp(-1, 1) + 1) * 127.5).round().to("cpu")
    array = pixels.permute(0, 2, 3, 1).numpy().astype(np.uint8)
    return [PILImage.fromarray(a, "RGB") for a in array]


def generate(generator: Generator, z: torch.Tensor, *, seed: int) -> list[Image]:
    """Images for latents `z`; the generator's noise is drawn from `seed`, so it repeats."""
    import torch

    device = next(generator.parameters()).device
    with torch.random.fork_rng(devices=[]), torch.inference_mode():
        torch.manual_seed(int(seed))
        return to_images(generator(z.to(device)))


def sample(checkpoint: Checkpoint, count: int, *, seed: int, device: str = "cpu") -> list[Image]:
    """`count` images from the checkpoint's EMA generator, reproducibly for `seed`."""
    if count < 1:
        raise ValueError(f"`count` must be at least 1, got {count}")
    generator = load_generator(checkpoint, device)
    z = latents(count, generator.arch.latent, seed)
    return generate(generator, z, seed=seed)


def grid(images: list[Image], *, columns: int | None = None, gap: int = 2) -> Image:
    """The images in a near-square grid on a white ground."""
    from PIL import Image as PILImage

    if not images:
        raise ValueError("`images` must hold at least one image")
    columns = columns or math.ceil(math.sqrt(len(images)))
    rows = math.ceil(len(images) / columns)
    width, height = images[0].size
    sheet = PILImage.new(
        "RGB", (columns * (width + gap) + gap, rows * (height + gap) + gap), (255, 255, 255)
    )
    for index, image in enumerate(images):
        row, column = divmod(index, columns)
        sheet.paste(image, (gap + column * (width + gap), gap + row * (height + gap)))
    return sheet
