"""The `diffusion` painter: diffusers text-to-image (SD-Turbo class), loaded once, kept resident."""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from generators.errors import GenerationError
from generators.image.base import Painting
from generators.image.quality import image_problem
from generators.image.scene import scene_from_poem
from generators.models import (
    DEFAULT_IMAGE_MODEL,
    DEFAULT_TINY_VAE,
    TINY_VAE_OFF,
    local_model_path,
    weights_on_disk,
)
from generators.torch_runtime import (
    cpu_generator,
    dtype_name,
    resolve_device,
    resolve_dtype,
    retry_on_oom,
)

if TYPE_CHECKING:
    from PIL.Image import Image

    from generators.poem.base import Poem
    from generators.registry import EngineOptions

log = logging.getLogger(__name__)

DEFAULT_STEPS = 2
DEFAULT_STYLE_WORDS = "ukiyo-e inspired painting, soft washes of colour, delicate brushwork, serene"
# How many seeds a painter tries before giving up on black or blank output.
DEFAULT_MAX_ATTEMPTS = 3


@dataclass(frozen=True)
class PipelineKey:
    """What makes two loaded pipelines interchangeable: the weights, where they run, and how."""

    model: str
    device: str
    dtype: str
    tiny_vae: str | None


_PIPELINES: dict[PipelineKey, Any] = {}
_IMG2IMG: dict[PipelineKey, Any] = {}
_LOCK = threading.RLock()


def resolve_tiny_vae(tiny_vae: str | None, device: str) -> str | None:
    """Which tiny VAE to load: `auto` is TAESD on CPU when it is on disk; None is the full VAE."""
    if tiny_vae is None or str(tiny_vae).strip().lower() in TINY_VAE_OFF:
        return None
    choice = str(tiny_vae).strip()
    if choice.lower() != "auto":
        return choice
    if not device.startswith("cpu"):
        return None
    available, reason = weights_on_disk(DEFAULT_TINY_VAE, kind="vae")
    if available:
        return DEFAULT_TINY_VAE
    log.info("using the full VAE decoder on CPU (slow): tiny VAE %s", reason)
    return None


def load_text2image(
    model: str, *, device: str, dtype: str, tiny_vae: str | None, compile: bool = False
) -> Any:
    """The process-wide text-to-image pipeline for these settings, loading it on first use."""
    resolved_device = resolve_device(device)
    resolved_dtype = dtype_name(resolve_dtype(dtype, resolved_device))
    key = PipelineKey(
        model.strip(), resolved_device, resolved_dtype, resolve_tiny_vae(tiny_vae, resolved_device)
    )
    with _LOCK:
        pipe = _PIPELINES.get(key)
        if pipe is None:
            pipe = _load_pipeline(key)
            _PIPELINES[key] = pipe
        if compile and not getattr(pipe, "_kavi_compiled", False):
            import torch

            pipe.unet = torch.compile(pipe.unet)
            pipe._kavi_compiled = True
        return pipe


def load_image2image(
    model: str, *, device: str, dtype: str, tiny_vae: str | None, compile: bool = False
) -> Any:
    """An img2img pipeline sharing the text-to-image pipeline's components (no second copy)."""
    from diffusers import AutoPipelineForImage2Image

    text2image = load_text2image(
        model, device=device, dtype=dtype, tiny_vae=tiny_vae, compile=compile
    )
    with _LOCK:
        key = next(k for k, v in _PIPELINES.items() if v is text2image)
        pipe = _IMG2IMG.get(key)
        if pipe is None or pipe.unet is not text2image.unet:
            pipe = AutoPipelineForImage2Image.from_pipe(text2image)
            pipe.set_progress_bar_config(disable=True)
            _IMG2IMG[key] = pipe
        return pipe


def clear_pipeline_cache() -> None:
    """Forget the loaded pipelines (tests and benchmarks; the service keeps them resident)."""
    with _LOCK:
        _PIPELINES.clear()
        _IMG2IMG.clear()


def _load_pipeline(key: PipelineKey) -> Any:
    import torch
    from diffusers import AutoencoderTiny, AutoPipelineForText2Image

    folder = local_model_path(key.model, kind="diffusion")
    dtype = getattr(torch, key.dtype)
    components: dict[str, Any] = {}
    if key.tiny_vae is not None:
        vae_folder = local_model_path(key.tiny_vae, kind="vae")
        components["vae"] = AutoencoderTiny.from_pretrained(
            vae_folder, dtype=dtype, local_files_only=True
        )
    log.info(
        "loading image model from %s on %s (%s%s)",
        folder,
        key.device,
        key.dtype,
        f", tiny VAE {key.tiny_vae}" if key.tiny_vae else "",
    )
    try:
        pipe = AutoPipelineForText2Image.from_pretrained(
            folder, dtype=dtype, local_files_only=True, **components
        )
    except (OSError, ValueError) as exc:
        raise GenerationError(f"could not load the image model from {folder}: {exc}") from exc
    pipe.to(key.device)
    pipe.set_progress_bar_config(disable=True)
    _use_sdpa(pipe)
    return pipe


def _use_sdpa(pipe: Any) -> None:
    """Run attention through torch's fused scaled_dot_product_attention where the model allows."""
    from diffusers.models.attention_processor import AttnProcessor, AttnProcessor2_0

    for name in ("unet", "vae"):
        module = getattr(pipe, name, None)
        processors = getattr(module, "attn_processors", None)
        plain = (AttnProcessor, AttnProcessor2_0)
        if module is not None and processors and all(type(p) in plain for p in processors.values()):
            module.set_attn_processor(AttnProcessor2_0())


def generation_resolution(pipe: Any, size: int, resolution: int | None) -> int:
    """The square side to diffuse at: the model's native size (or `resolution`), at most `size`."""
    multiple = latent_multiple(pipe)
    native = int(pipe.unet.config.sample_size) * int(pipe.vae_scale_factor)
    wanted = min(size, resolution or native)
    return max(multiple, wanted // multiple * multiple)


def latent_multiple(pipe: Any) -> int:
    """Pixel sides must be a multiple of this so every UNet level sees whole latents."""
    levels = len(pipe.unet.config.block_out_channels) - 1
    return int(pipe.vae_scale_factor) * 2**levels


def check_diffusion_arguments(
    model: str, steps: int, guidance: float, resolution: int | None, max_attempts: int
) -> None:
    """Validate the arguments the painter and the stylist share; raise ValueError naming one."""
    if not model or not str(model).strip():
        raise ValueError("`model` must name a Hugging Face model id or a local folder")
    if not 1 <= steps <= 100:
        raise ValueError(f"`steps` must be between 1 and 100, got {steps}")
    if guidance < 0:
        raise ValueError(f"`guidance` must be 0 or more, got {guidance}")
    if resolution is not None and resolution < 8:
        raise ValueError(f"`resolution` must be at least 8 pixels, got {resolution}")
    if max_attempts < 1:
        raise ValueError(f"`max_attempts` must be at least 1, got {max_attempts}")


class DiffusionPainter:
    """Paints the poem's scene with a diffusers text-to-image model, seeded, checked for blanks."""

    name = "diffusion"

    def __init__(
        self,
        model: str,
        *,
        device: str = "auto",
        dtype: str = "auto",
        steps: int = DEFAULT_STEPS,
        guidance: float = 0.0,
        tiny_vae: str | None = "auto",
        compile: bool = False,
        style_words: str = DEFAULT_STYLE_WORDS,
        resolution: int | None = None,
        max_attempts: int = DEFAULT_MAX_ATTEMPTS,
    ) -> None:
        check_diffusion_arguments(model, steps, guidance, resolution, max_attempts)
        self.model = str(model).strip()
        self.device = device
        self.dtype = dtype
        self.steps = steps
        self.guidance = guidance
        self.tiny_vae = tiny_vae
        self.compile = compile
        self.style_words = style_words.strip()
        self.resolution = resolution
        self.max_attempts = max_attempts

    @classmethod
    def from_options(cls, options: EngineOptions) -> DiffusionPainter:
        """Build from registry options (params: steps, guidance, tiny_vae, compile, ...)."""
        known = {
            "steps",
            "guidance",
            "tiny_vae",
            "compile",
            "style_words",
            "resolution",
            "max_attempts",
        }
        params = options.checked_params(known, "diffusion painter")
        resolution = params.get("resolution")
        return cls(
            options.model or DEFAULT_IMAGE_MODEL,
            device=options.device,
            dtype=options.dtype,
            steps=int(params.get("steps", DEFAULT_STEPS)),
            guidance=float(params.get("guidance", 0.0)),
            tiny_vae=params.get("tiny_vae", "auto"),
            compile=bool(params.get("compile", False)),
            style_words=str(params.get("style_words", DEFAULT_STYLE_WORDS)),
            resolution=int(resolution) if resolution is not None else None,
            max_attempts=int(params.get("max_attempts", DEFAULT_MAX_ATTEMPTS)),
        )

    def pipeline(self) -> Any:
        """The resident text-to-image pipeline this painter uses (loaded on first call)."""
        return load_text2image(
            self.model,
            device=self.device,
            dtype=self.dtype,
            tiny_vae=self.tiny_vae,
            compile=self.compile,
        )

    def prompt_for(self, poem: Poem) -> str:
        """The text-to-image prompt: the poem's scene, then the art-style words."""
        scene_prompt = scene_from_poem(poem).prompt
        return f"{scene_prompt}, {self.style_words}" if self.style_words else scene_prompt

    def paint(self, poem: Poem, *, size: int, seed: int) -> Painting:
        """Paint the poem at `size` px square; a black or blank image is redone on the next seed."""
        from PIL import Image as PILImage

        if not isinstance(size, int) or size < 8:
            raise ValueError(f"`size` must be an integer of at least 8 pixels, got {size!r}")
        pipe = self.pipeline()
        prompt = self.prompt_for(poem)
        resolution = generation_resolution(pipe, size, self.resolution)
        problem = "no attempt made"
        for attempt in range(self.max_attempts):
            attempt_seed = seed + attempt
            image = retry_on_oom(
                lambda side, s=attempt_seed: self._render(pipe, prompt, side, s),  # type: ignore[misc]
                resolution=resolution,
                device=str(pipe.device),
                what="the diffusion painter",
                multiple=latent_multiple(pipe),
            )
            found = image_problem(image)
            if found is None:
                break
            problem = found
            log.warning(
                "diffusion image for seed %d rejected (%s); trying seed %d",
                attempt_seed,
                problem,
                attempt_seed + 1,
            )
        else:
            raise GenerationError(
                f"the {self.model} model made no usable image in {self.max_attempts} seeds "
                f"(last: {problem})"
            )
        image = image.convert("RGB")
        if image.size != (size, size):
            image = image.resize((size, size), PILImage.Resampling.LANCZOS)
        return Painting(
            image=image,
            prompt=prompt,
            engine=self.name,
            model=self.model,
            description=scene_from_poem(poem).describe(),
        )

    def _render(self, pipe: Any, prompt: str, side: int, seed: int) -> Image:
        import torch

        with torch.inference_mode():
            result = pipe(
                prompt=prompt,
                num_inference_steps=self.steps,
                guidance_scale=self.guidance,
                height=side,
                width=side,
                generator=cpu_generator(seed),
                output_type="pil",
            )
        flagged = getattr(result, "nsfw_content_detected", None)
        if flagged and flagged[0]:
            log.info("the safety checker blanked the image for seed %d", seed)
        return result.images[0]
