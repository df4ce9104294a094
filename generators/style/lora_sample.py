"""Sampling a style's LoRA: the diffusion model with the newest LoRA checkpoint fused in,
painting Kavi's fixed haiku scenes with the style's token (for `kavi style sample` and
`kavi style inspect --backend lora`)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from generators.image.diffusion import DiffusionOptions, call_options, load_text2image
from generators.style.lora import SAMPLE_PROMPTS

if TYPE_CHECKING:
    from PIL.Image import Image

    from generators.style.checkpoint import Checkpoint


def sample_lora(
    checkpoint: Checkpoint,
    count: int,
    *,
    seed: int,
    device: str = "auto",
    steps: int = 2,
    scale: float = 1.0,
) -> list[Image]:
    """`count` pictures of the fixed scenes through a LoRA checkpoint, seeds `seed` onward."""
    import torch

    from generators.torch_runtime import cpu_generator

    if count < 1:
        raise ValueError(f"`count` must be at least 1, got {count}")
    state = checkpoint.state
    options = DiffusionOptions(
        model=str(state["model"]),
        device=device,
        steps=steps,
        lora=str(checkpoint.path),
        lora_scale=scale,
    )
    pipe = load_text2image(options)
    side = int(state.get("resolution") or 512)
    images = []
    with torch.inference_mode():
        for number in range(count):
            prompt = f"{SAMPLE_PROMPTS[number % len(SAMPLE_PROMPTS)]}, {state['token']}"
            images.append(
                pipe(
                    prompt=prompt,
                    num_inference_steps=steps,
                    guidance_scale=0.0,
                    generator=cpu_generator(seed + number),
                    output_type="pil",
                    **call_options(pipe, (side, side)),
                )
                .images[0]
                .convert("RGB")
            )
    return images
