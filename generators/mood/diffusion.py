"""The `diffusion` stylist: img2img repaint in the mood's words, then colour transfer."""

from __future__ import annotations

import logging
import math
from pathlib import Path
from typing import TYPE_CHECKING, Any

from generators.errors import GenerationError
from generators.image.diffusion import (
    check_diffusion_arguments,
    generation_resolution,
    latent_multiple,
    load_image2image,
)
from generators.image.quality import ensure_usable, image_problem
from generators.models import DEFAULT_IMAGE_MODEL
from generators.mood.base import Stylization
from generators.mood.colour import transfer_to_mood
from generators.mood.moods import pick_style_image
from generators.torch_runtime import cpu_generator, retry_on_oom

if TYPE_CHECKING:
    from PIL.Image import Image

    from generators.mood.moods import Mood
    from generators.registry import EngineOptions

log = logging.getLogger(__name__)

DEFAULT_STRENGTH = 0.35
DEFAULT_TRANSFER_STRENGTH = 0.6
DEFAULT_STEPS = 2
DEFAULT_MAX_ATTEMPTS = 3


class DiffusionStylist:
    """Repaints an image with the mood's prompt (img2img on the painter's resident pipeline)."""

    name = "diffusion"

    def __init__(
        self,
        model: str,
        *,
        device: str = "auto",
        dtype: str = "auto",
        strength: float = DEFAULT_STRENGTH,
        transfer_strength: float = DEFAULT_TRANSFER_STRENGTH,
        steps: int = DEFAULT_STEPS,
        guidance: float = 0.0,
        tiny_vae: str | None = "auto",
        compile: bool = False,
        resolution: int | None = None,
        max_attempts: int = DEFAULT_MAX_ATTEMPTS,
    ) -> None:
        check_diffusion_arguments(model, steps, guidance, resolution, max_attempts)
        if not 0.0 <= strength <= 1.0:
            raise ValueError(f"`strength` must be between 0 and 1, got {strength}")
        if not 0.0 <= transfer_strength <= 1.0:
            raise ValueError(
                f"`transfer_strength` must be between 0 and 1, got {transfer_strength}"
            )
        self.model = str(model).strip()
        self.device = device
        self.dtype = dtype
        self.strength = strength
        self.transfer_strength = transfer_strength
        self.steps = steps
        self.guidance = guidance
        self.tiny_vae = tiny_vae
        self.compile = compile
        self.resolution = resolution
        self.max_attempts = max_attempts

    @classmethod
    def from_options(cls, options: EngineOptions) -> DiffusionStylist:
        """Build from registry options (params: strength, transfer_strength, steps, tiny_vae...)."""
        known = {
            "strength",
            "transfer_strength",
            "steps",
            "guidance",
            "tiny_vae",
            "compile",
            "resolution",
            "max_attempts",
        }
        params = options.checked_params(known, "diffusion stylist")
        resolution = params.get("resolution")
        return cls(
            options.model or DEFAULT_IMAGE_MODEL,
            device=options.device,
            dtype=options.dtype,
            strength=float(params.get("strength", DEFAULT_STRENGTH)),
            transfer_strength=float(params.get("transfer_strength", DEFAULT_TRANSFER_STRENGTH)),
            steps=int(params.get("steps", DEFAULT_STEPS)),
            guidance=float(params.get("guidance", 0.0)),
            tiny_vae=params.get("tiny_vae", "auto"),
            compile=bool(params.get("compile", False)),
            resolution=int(resolution) if resolution is not None else None,
            max_attempts=int(params.get("max_attempts", DEFAULT_MAX_ATTEMPTS)),
        )

    def pipeline(self) -> Any:
        """The resident img2img pipeline, built from the text-to-image pipeline's components."""
        return load_image2image(
            self.model,
            device=self.device,
            dtype=self.dtype,
            tiny_vae=self.tiny_vae,
            compile=self.compile,
        )

    def stylize(
        self, image: Image, mood: Mood, *, seed: int, style_dir: Path | None = None
    ) -> Stylization:
        """Repaint `image` in `mood` (skipped at strength 0), then transfer the mood's colours."""
        from PIL import Image as PILImage

        if not isinstance(image, PILImage.Image):
            raise ValueError(f"`image` must be a PIL image, got {type(image).__name__}")
        style_image = pick_style_image(style_dir, mood.name, seed)
        prompt = f"{mood.prompt}, painting"
        repainted = image.convert("RGB")
        if self.strength > 0:
            repainted = self._repaint(repainted, prompt, seed)
        result = transfer_to_mood(
            repainted, mood, style_image=style_image, strength=self.transfer_strength
        )
        ensure_usable(result, what="the diffusion stylist")
        return Stylization(
            image=result,
            mood=mood.name,
            engine=self.name,
            model=self.model,
            style_reference=style_image,
            prompt=prompt,
        )

    def _repaint(self, image: Image, prompt: str, seed: int) -> Image:
        from PIL import Image as PILImage

        pipe = self.pipeline()
        side = generation_resolution(pipe, max(image.size), self.resolution)
        # img2img runs int(steps * strength) denoising steps; keep at least one.
        steps = max(self.steps, math.ceil(1.0 / self.strength))
        problem = "no attempt made"
        for attempt in range(self.max_attempts):
            attempt_seed = seed + attempt
            out = retry_on_oom(
                lambda s, a=attempt_seed: self._render(pipe, image, prompt, s, steps, a),  # type: ignore[misc]
                resolution=side,
                device=str(pipe.device),
                what="the diffusion stylist",
                multiple=latent_multiple(pipe),
            )
            found = image_problem(out)
            if found is None:
                return out.convert("RGB").resize(image.size, PILImage.Resampling.LANCZOS)
            problem = found
            log.warning("img2img output for seed %d rejected (%s); retrying", attempt_seed, problem)
        raise GenerationError(
            f"the {self.model} model repainted no usable image in {self.max_attempts} seeds "
            f"(last: {problem})"
        )

    def _render(
        self, pipe: Any, image: Image, prompt: str, side: int, steps: int, seed: int
    ) -> Image:
        import torch
        from PIL import Image as PILImage

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
                strength=self.strength,
                num_inference_steps=steps,
                guidance_scale=self.guidance,
                generator=cpu_generator(seed),
                output_type="pil",
            )
        return result.images[0]
