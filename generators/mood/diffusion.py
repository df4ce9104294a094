"""The `diffusion` stylist: an img2img repaint lends its colour to the painting, then transfer."""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from generators.image.diffusion import (
    DiffusionOptions,
    call_options,
    generation_resolution,
    latent_multiple,
    load_image2image,
    recorded_model,
    render_usable,
)
from generators.models import ModelEngine, OptionError
from generators.mood.base import Stylization

if TYPE_CHECKING:
    from PIL.Image import Image

    from generators.mood.moods import Mood

DEFAULT_STRENGTH = 0.35
DEFAULT_TRANSFER_STRENGTH = 0.6


@dataclass(frozen=True)
class DiffusionStylistOptions(DiffusionOptions):
    """The diffusion stylist's options: the shared ones and how strongly to repaint and recolour."""

    strength: float = DEFAULT_STRENGTH
    transfer_strength: float = DEFAULT_TRANSFER_STRENGTH

    def __post_init__(self) -> None:
        super().__post_init__()
        for option in ("strength", "transfer_strength"):
            value = getattr(self, option)
            if not 0.0 <= value <= 1.0:
                raise OptionError(option, f"must be between 0 and 1, got {value}")


class DiffusionStylist(ModelEngine[DiffusionStylistOptions]):
    """Repaints an image with the mood's prompt (img2img on the painter's resident pipeline)."""

    name = "diffusion"

    def pipeline(self) -> Any:
        """The resident img2img pipeline, built from the text-to-image pipeline's components."""
        return load_image2image(self.options)

    def stylize(
        self, image: Image, mood: Mood, *, seed: int, style_dir: Path | None = None
    ) -> Stylization:
        """Repaint `image` in `mood` (skipped at strength 0), then transfer the mood's colours."""
        from PIL import Image as PILImage

        from generators.image.quality import ensure_usable
        from generators.mood.colour import keep_lightness, transfer_to_mood
        from generators.mood.moods import pick_style_image

        if not isinstance(image, PILImage.Image):
            raise ValueError(f"`image` must be a PIL image, got {type(image).__name__}")
        style_image = pick_style_image(style_dir, mood.name, seed)
        prompt = f"{mood.prompt}, painting"
        repainted = image.convert("RGB")
        if self.options.strength > 0:
            # The repaint brings the mood's colour; the painting keeps its values and strokes.
            repainted = keep_lightness(repainted, self._repaint(repainted, prompt, seed))
        result = transfer_to_mood(
            repainted, mood, style_image=style_image, strength=self.options.transfer_strength
        )
        ensure_usable(result, what="the diffusion stylist")
        return Stylization(
            image=result,
            mood=mood.name,
            engine=self.name,
            # The repaint used the resident pipeline (and any LoRA fused in it); strength 0
            # never loads it.
            model=(
                recorded_model(self.options, self.pipeline())
                if self.options.strength > 0
                else self.model
            ),
            style_reference=style_image,
            prompt=prompt,
        )

    def _repaint(self, image: Image, prompt: str, seed: int) -> Image:
        from PIL import Image as PILImage

        pipe = self.pipeline()
        # img2img runs int(steps * strength) denoising steps; keep at least one.
        steps = max(self.options.steps, math.ceil(1.0 / self.options.strength))
        out = render_usable(
            lambda side, attempt_seed: self._render(pipe, image, prompt, side, steps, attempt_seed),
            pipe,
            resolution=generation_resolution(pipe, max(image.size), self.options.resolution),
            seed=seed,
            options=self.options,
            what="the diffusion stylist",
        )
        return out.convert("RGB").resize(image.size, PILImage.Resampling.LANCZOS)

    def _render(
        self, pipe: Any, image: Image, prompt: str, side: int, steps: int, seed: int
    ) -> Image:
        import torch
        from PIL import Image as PILImage

        from generators.torch_runtime import cpu_generator

        multiple = latent_multiple(pipe)
        width, height = image.size
        scale = side / max(width, height)
        target = (
            max(multiple, round(width * scale / multiple) * multiple),
            max(multiple, round(height * scale / multiple) * multiple),
        )
        source = image.resize(target, PILImage.Resampling.LANCZOS)
        with torch.inference_mode():
            result = pipe(
                prompt=prompt,
                image=source,
                strength=self.options.strength,
                num_inference_steps=steps,
                guidance_scale=self.options.guidance,
                generator=cpu_generator(seed),
                output_type="pil",
                **call_options(pipe, target),
            )
        return result.images[0]
