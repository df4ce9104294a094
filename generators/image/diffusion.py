"""The `diffusion` painter: diffusers text-to-image (SD-Turbo class), loaded once, kept resident."""

from __future__ import annotations

import dataclasses
import json
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from core.errors import ConfigError
from generators.errors import GenerationError
from generators.image.base import Painting
from generators.models import (
    DEFAULT_IMAGE_MODEL,
    DEFAULT_TINY_VAE,
    TINY_VAE_OFF,
    ModelEngine,
    ModelOptions,
    OptionError,
    local_model_path,
    pipeline_family,
    weights_on_disk,
)

if TYPE_CHECKING:
    from PIL.Image import Image

    from generators.poem.base import Poem
    from generators.style.lora import LoraWeights
    from generators.style.novelty import TrainingIndex

log = logging.getLogger(__name__)

DEFAULT_STEPS = 2
# The ink painter's art direction, so that a GPU host's artworks look like the same artist's.
DEFAULT_STYLE_WORDS = "ink wash painting on washi paper, sumi-e, haiga"
# The tiny decoders (TAESD family) by the pipelines whose latents they decode: SD 1.x/2.x and
# SD-Turbo share one latent space, SDXL and SDXL-Turbo another; a wrong pairing paints noise.
TINY_VAE_FAMILIES = {
    DEFAULT_TINY_VAE: "sd",
    "madebyollin/taesdxl": "sdxl",
    "madebyollin/taesd3": "sd3",
    "madebyollin/taef1": "flux",
}
TINY_VAE_FOR_FAMILY = {family: model for model, family in TINY_VAE_FAMILIES.items()}
# How many seeds a painter tries before giving up on black or blank output.
DEFAULT_MAX_ATTEMPTS = 3


@dataclass(frozen=True)
class DiffusionOptions(ModelOptions):
    """What the painter and the stylist share: the image model and how to run it."""

    model: str = DEFAULT_IMAGE_MODEL
    steps: int = DEFAULT_STEPS
    guidance: float = 0.0
    # A tiny VAE's id or folder, `auto` (TAESD on CPU when on disk) or None for the full VAE.
    tiny_vae: str | None = "auto"
    compile: bool = False
    resolution: int | None = None
    max_attempts: int = DEFAULT_MAX_ATTEMPTS
    # A LoRA Kavi trained (`kavi style train NAME --backend lora`: the style's folder), a LoRA
    # checkpoint folder or a .safetensors file; fused into the model at `lora_scale`.
    lora: str = ""
    lora_scale: float = 1.0

    def __post_init__(self) -> None:
        super().__post_init__()
        if not 0 <= self.lora_scale <= 4:
            raise OptionError("lora_scale", f"must be between 0 and 4, got {self.lora_scale}")
        if self.lora.strip():
            from generators.style.layout import StyleError
            from generators.style.lora import find_lora

            try:
                find_lora(self.lora.strip())
            except StyleError as exc:
                raise OptionError("lora", str(exc)) from None
        if not 1 <= self.steps <= 100:
            raise OptionError("steps", f"must be between 1 and 100, got {self.steps}")
        if self.guidance < 0:
            raise OptionError("guidance", f"must be 0 or more, got {self.guidance}")
        if self.resolution is not None and self.resolution < 8:
            raise OptionError("resolution", f"must be at least 8 pixels, got {self.resolution}")
        if self.max_attempts < 1:
            raise OptionError("max_attempts", f"must be at least 1, got {self.max_attempts}")


@dataclass(frozen=True)
class DiffusionPainterOptions(DiffusionOptions):
    """The diffusion painter's options: the shared ones, the art-style words, and (with a LoRA
    Kavi trained) the descriptor its never-post-a-copy check measures with."""

    style_words: str = DEFAULT_STYLE_WORDS
    descriptor: str = "auto"

    def __post_init__(self) -> None:
        super().__post_init__()
        object.__setattr__(self, "style_words", self.style_words.strip())
        if self.lora.strip():
            from generators.style.descriptors import descriptor_problem

            problem = descriptor_problem(self.descriptor)
            if problem:
                raise OptionError("descriptor", f"{problem}; or use auto or perceptual")


@dataclass(frozen=True)
class PipelineKey:
    """What makes two loaded pipelines interchangeable: the weights, where they run, and how."""

    model: str
    device: str
    dtype: str
    tiny_vae: str | None
    # The LoRA file fused into the denoiser, by path and sha256, and its scale.
    lora: tuple[str, str, float] | None = None


_PIPELINES: dict[PipelineKey, Any] = {}
_IMG2IMG: dict[PipelineKey, Any] = {}
_LOCK = threading.RLock()


def resolve_tiny_vae(tiny_vae: str | None, device: str, family: str | None = "sd") -> str | None:
    """Which tiny VAE to load: `auto` is the family's TAESD on CPU when on disk; None: full VAE."""
    if tiny_vae is None or str(tiny_vae).strip().lower() in TINY_VAE_OFF:
        return None
    choice = str(tiny_vae).strip()
    if choice.lower() != "auto":
        return choice
    if not device.startswith("cpu"):
        return None
    default = TINY_VAE_FOR_FAMILY.get(family or "")
    if default is None:
        log.info("using the full VAE decoder: no tiny VAE is known for this model's family")
        return None
    available, reason = weights_on_disk(default, kind="vae")
    if available:
        return default
    log.info("using the full VAE decoder on CPU (slow): tiny VAE %s", reason)
    return None


def check_tiny_vae(tiny_vae: str, tiny_folder: Path, model: str, model_folder: Path) -> None:
    """ConfigError unless the tiny VAE decodes this pipeline's latents (same family, channels)."""
    family = pipeline_family(model_folder)
    tiny_family = TINY_VAE_FAMILIES.get(tiny_vae.strip().lower())
    fix = (
        f"set TINY_VAE={TINY_VAE_FOR_FAMILY[family]}, auto or none"
        if family in TINY_VAE_FOR_FAMILY
        else "set TINY_VAE=none (the full VAE)"
    )
    if family and tiny_family and family != tiny_family:
        raise ConfigError(
            f"TINY_VAE={tiny_vae} decodes {tiny_family} latents but {model} is in the {family} "
            f"family: its images would be noise; {fix}"
        )
    tiny_channels = _latent_channels(tiny_folder / "config.json")
    model_channels = _latent_channels(model_folder / "vae" / "config.json")
    if tiny_channels and model_channels and tiny_channels != model_channels:
        raise ConfigError(
            f"TINY_VAE={tiny_vae} has {tiny_channels} latent channels but {model}'s VAE has "
            f"{model_channels}: it cannot decode this model; {fix}"
        )


def _latent_channels(config: Path) -> int | None:
    try:
        value = json.loads(config.read_text(encoding="utf-8")).get("latent_channels")
    except (OSError, ValueError, AttributeError):
        return None
    return int(value) if isinstance(value, int) else None


def load_text2image(options: DiffusionOptions) -> Any:
    """The process-wide text-to-image pipeline for these options, loading it on first use."""
    return _resident(options)[1]


def _resident(options: DiffusionOptions) -> tuple[PipelineKey, Any]:
    """The resident pipeline for these options and the key it is kept under."""
    from generators.torch_runtime import dtype_name, resolve_device, resolve_dtype

    resolved_device = resolve_device(options.device)
    resolved_dtype = dtype_name(resolve_dtype(options.dtype, resolved_device))
    folder = local_model_path(options.model, kind="diffusion")
    family = pipeline_family(folder)
    lora = applied_lora(options)
    if lora is not None and family != "sd":
        raise ConfigError(
            f"LORA: {lora.name} is a LoRA of a Stable Diffusion 1.x/2.x UNet, and "
            f"IMAGE_MODEL={options.model} is {family or 'of an unknown family'}: it cannot "
            "take it; set IMAGE_MODEL to the model the LoRA was trained on"
            + (f" ({lora.base_model})" if lora.base_model else "")
            + " or unset LORA"
        )
    key = PipelineKey(
        options.model,
        resolved_device,
        resolved_dtype,
        resolve_tiny_vae(options.tiny_vae, resolved_device, family),
        (str(lora.path), lora.sha256, options.lora_scale) if lora else None,
    )
    with _LOCK:
        pipe = _PIPELINES.get(key)
        if pipe is None:
            # A newer LoRA checkpoint replaces the older one's pipeline: never two resident.
            for stale in [k for k in _PIPELINES if dataclasses.replace(k, lora=key.lora) == key]:
                _PIPELINES.pop(stale)
                _IMG2IMG.pop(stale, None)
            if lora is not None and lora.base_model and lora.base_model != options.model:
                log.warning(
                    "LoRA %s was trained on %s, not on IMAGE_MODEL=%s: it may paint poorly",
                    lora.name,
                    lora.base_model,
                    options.model,
                )
            pipe = _load_pipeline(key, lora)
            _PIPELINES[key] = pipe
        if options.compile and not getattr(pipe, "_kavi_compiled", False):
            import torch

            name = "unet" if getattr(pipe, "unet", None) is not None else "transformer"
            setattr(pipe, name, torch.compile(getattr(pipe, name)))
            pipe._kavi_compiled = True
        return key, pipe


def fused_lora(pipe: Any) -> LoraWeights | None:
    """The LoRA fused into a resident pipeline (what its pictures were painted with), or None."""
    return getattr(pipe, "_kavi_lora", None)


def applied_lora(options: DiffusionOptions) -> LoraWeights | None:
    """The LoRA these options fuse into the model (its newest checkpoint now), or None."""
    if not options.lora.strip():
        return None
    from generators.style.layout import StyleError
    from generators.style.lora import find_lora

    try:
        return find_lora(options.lora.strip())
    except StyleError as exc:
        raise ConfigError(f"LORA: {exc}") from None


def recorded_model(options: DiffusionOptions, pipe: Any) -> str:
    """The model as an artwork records it: with the fused LoRA's name, step and sha256."""
    lora = fused_lora(pipe)
    if lora is None:
        return options.model
    return f"{options.model} + {lora.describe()} at scale {options.lora_scale:g}"


def load_image2image(options: DiffusionOptions) -> Any:
    """An img2img pipeline sharing the text-to-image pipeline's components (no second copy)."""
    from diffusers import AutoPipelineForImage2Image

    key, text2image = _resident(options)
    with _LOCK:
        pipe = _IMG2IMG.get(key)
        if pipe is None or denoiser(pipe) is not denoiser(text2image):
            pipe = AutoPipelineForImage2Image.from_pipe(text2image)
            pipe.set_progress_bar_config(disable=True)
            pipe._kavi_lora = fused_lora(text2image)
            _IMG2IMG[key] = pipe
        return pipe


def clear_pipeline_cache() -> None:
    """Forget the loaded pipelines (tests and benchmarks; the service keeps them resident)."""
    with _LOCK:
        _PIPELINES.clear()
        _IMG2IMG.clear()


def _load_pipeline(key: PipelineKey, lora: LoraWeights | None = None) -> Any:
    import torch
    from diffusers import AutoencoderTiny, AutoPipelineForText2Image

    folder = local_model_path(key.model, kind="diffusion")
    dtype = getattr(torch, key.dtype)
    components: dict[str, Any] = {}
    if key.tiny_vae is not None:
        vae_folder = local_model_path(key.tiny_vae, kind="vae")
        check_tiny_vae(key.tiny_vae, vae_folder, key.model, folder)
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
    if key.lora is not None and lora is not None:
        _fuse_lora(pipe, lora, key.lora[2])
    return pipe


def _fuse_lora(pipe: Any, lora: LoraWeights, scale: float) -> None:
    """Fuse the LoRA into the model's weights at `scale`, then drop its layers (no slow-down).

    diffusers only logs when a file holds no keys for the model: that is refused here, so an
    artwork never names a LoRA that changed nothing.
    """
    weights = lora.path
    log.info("fusing LoRA %s into the image model at scale %g", weights, scale)
    trained_on = f" (it was trained on {lora.base_model})" if lora.base_model else ""
    try:
        pipe.load_lora_weights(
            str(weights.parent), weight_name=weights.name, adapter_name="kavi_style"
        )
    except (OSError, ValueError, KeyError, RuntimeError) as exc:
        raise GenerationError(
            f"could not load the LoRA {weights} into the image model{trained_on}: {exc}; set "
            "IMAGE_MODEL to the model it was trained on, or unset LORA"
        ) from exc
    if "kavi_style" not in pipe.get_list_adapters().get("unet", []):
        raise GenerationError(
            f"the LoRA {weights} holds nothing for this model's UNet{trained_on}: it is not "
            "a diffusers-layout LoRA of it (a Kavi style's LoRA is its "
            "pytorch_lora_weights.safetensors); point LORA at the style or that file"
        )
    pipe.fuse_lora(lora_scale=scale, adapter_names=["kavi_style"])
    pipe.unload_lora_weights()
    pipe._kavi_lora = lora


def _use_sdpa(pipe: Any) -> None:
    """Run attention through torch's fused scaled_dot_product_attention where the model allows."""
    from diffusers.models.attention_processor import AttnProcessor, AttnProcessor2_0

    for name in ("unet", "vae"):
        module = getattr(pipe, name, None)
        processors = getattr(module, "attn_processors", None)
        plain = (AttnProcessor, AttnProcessor2_0)
        if module is not None and processors and all(type(p) in plain for p in processors.values()):
            module.set_attn_processor(AttnProcessor2_0())


def denoiser(pipe: Any) -> Any:
    """The pipeline's denoising network: a UNet (SD, SDXL) or a transformer (FLUX, SD3)."""
    unet = getattr(pipe, "unet", None)
    return unet if unet is not None else pipe.transformer


def native_resolution(pipe: Any) -> int:
    """The square side the model was trained to render (SD-Turbo 512, SDXL and FLUX 1024)."""
    unet = getattr(pipe, "unet", None)
    latent_side = unet.config.sample_size if unet is not None else pipe.default_sample_size
    return int(latent_side) * int(pipe.vae_scale_factor)


def generation_resolution(pipe: Any, size: int, resolution: int | None) -> int:
    """The square side to diffuse at: the model's native size (or `resolution`), at most `size`."""
    multiple = latent_multiple(pipe)
    wanted = min(size, resolution or native_resolution(pipe))
    return max(multiple, wanted // multiple * multiple)


def latent_multiple(pipe: Any) -> int:
    """Pixel sides must be a multiple of this so the denoiser sees whole latents (or patches)."""
    unet = getattr(pipe, "unet", None)
    if unet is None:
        # Transformers take latents in patches (FLUX packs 2x2): two patches' worth is safe.
        patch = int(getattr(pipe.transformer.config, "patch_size", 1) or 1)
        return int(pipe.vae_scale_factor) * 2 * patch
    levels = len(unet.config.block_out_channels) - 1
    return int(pipe.vae_scale_factor) * 2**levels


def call_options(pipe: Any, size: tuple[int, int]) -> dict[str, Any]:
    """The keyword arguments this pipeline takes beyond the common ones: size, text length.

    SD's img2img takes its size from the image; FLUX's must be told (`size` is width, height).
    """
    import inspect

    accepted = inspect.signature(pipe.__call__).parameters
    extra: dict[str, Any] = {}
    if "height" in accepted:
        extra.update(width=size[0], height=size[1])
    if "max_sequence_length" in accepted:
        # FLUX.1-schnell was distilled with 256 T5 tokens; a haiku's prompt needs far fewer.
        extra["max_sequence_length"] = 256
    return extra


def render_usable(
    render: Callable[[int, int], Image],
    pipe: Any,
    *,
    resolution: int,
    seed: int,
    options: DiffusionOptions,
    what: str,
    check: Callable[[Image], str | None] | None = None,
) -> Image:
    """`render(side, seed)` on seed, seed + 1, ... until an image is neither black nor blank
    (nor what `check`, when given, finds a problem with).

    Each attempt renders smaller on an out-of-memory error (`retry_on_oom`); after
    `options.max_attempts` unusable images, GenerationError names the last problem.
    """
    from generators.image.quality import image_problem
    from generators.torch_runtime import retry_on_oom

    problem = "no attempt made"
    for attempt_seed in range(seed, seed + options.max_attempts):
        image = retry_on_oom(
            lambda side, s=attempt_seed: render(side, s),  # type: ignore[misc]
            resolution=resolution,
            device=str(pipe.device),
            what=what,
            multiple=latent_multiple(pipe),
        )
        found = image_problem(image) or (check(image) if check else None)
        if found is None:
            return image
        problem = found
        log.warning(
            "%s: the image for seed %d was rejected (%s); trying seed %d",
            what,
            attempt_seed,
            problem,
            attempt_seed + 1,
        )
    raise GenerationError(
        f"{what}: the {options.model} model made no usable image in {options.max_attempts} seeds "
        f"(last: {problem})"
    )


class DiffusionPainter(ModelEngine[DiffusionPainterOptions]):
    """Paints the poem's scene with a diffusers text-to-image model, seeded, checked for blanks."""

    name = "diffusion"

    def __init__(self, options: DiffusionPainterOptions) -> None:
        super().__init__(options)
        self._index: tuple[tuple[str, int], TrainingIndex] | None = None
        self._index_lock = threading.Lock()

    def pipeline(self) -> Any:
        """The resident text-to-image pipeline this painter uses (loaded on first call)."""
        return load_text2image(self.options)

    def prompt_for(self, poem: Poem, lora: LoraWeights | None = None) -> str:
        """The prompt: the ink painter's scene record (season included), then the art direction;
        with a LoRA Kavi trained, its style's token in place of the art direction."""
        from generators.image.scene import scene_from_poem

        scene_prompt = scene_from_poem(poem).prompt
        style_words = lora.token if lora and lora.token else self.options.style_words
        return f"{scene_prompt}, {style_words}" if style_words else scene_prompt

    def paint(self, poem: Poem, *, size: int, seed: int) -> Painting:
        """Paint the poem at `size` px square; a black or blank image is redone on the next seed."""
        from PIL import Image as PILImage

        from generators.image.scene import scene_from_poem

        if not isinstance(size, int) or size < 8:
            raise ValueError(f"`size` must be an integer of at least 8 pixels, got {size!r}")
        pipe = self.pipeline()
        # What the resident pipeline has fused, read once: the prompt and record agree with it.
        lora = fused_lora(pipe)
        prompt = self.prompt_for(poem, lora)
        image = render_usable(
            lambda side, attempt_seed: self._render(pipe, prompt, side, attempt_seed),
            pipe,
            resolution=generation_resolution(pipe, size, self.options.resolution),
            seed=seed,
            options=self.options,
            what="the diffusion painter",
            check=self._copy_check(lora),
        )
        image = image.convert("RGB")
        rendered = image.width
        if image.size != (size, size):
            image = image.resize((size, size), PILImage.Resampling.LANCZOS)
        return Painting(
            image=image,
            prompt=prompt,
            engine=self.name,
            model=recorded_model(self.options, pipe),
            description=scene_from_poem(poem).describe(),
            # Recorded, so that an enlarged render is never passed off as a native one.
            rendered_size=rendered if rendered != size else None,
        )

    def _copy_check(self, lora: LoraWeights | None) -> Callable[[Image], str | None] | None:
        """With a LoRA Kavi trained, a check that refuses a near copy of one of its images."""
        if lora is None or lora.style_root is None:
            return None
        index = self._style_index(lora.style_root)

        def copied(image: Image) -> str | None:
            found = index.nearest(image, count=1)
            if not found.memorised:
                return None
            return (
                f"a near copy of training image {found.neighbours[0].file} of style "
                f"{lora.name} (distance {found.nearest:.4f} < {index.threshold:.4f})"
            )

        return copied

    def _style_index(self, root: Path) -> TrainingIndex:
        """The style's training images described (kept between paintings while unchanged)."""
        from generators.style.descriptors import resolve_descriptor
        from generators.style.layout import StyleLayout
        from generators.style.novelty import build_index

        layout = StyleLayout(root)
        key = (str(root), layout.manifest.stat().st_mtime_ns)
        with self._index_lock:
            if self._index is None or self._index[0] != key:
                chosen = resolve_descriptor(self.options.descriptor, device=self.options.device)
                self._index = (key, build_index(layout, chosen.descriptor))
            return self._index[1]

    def _render(self, pipe: Any, prompt: str, side: int, seed: int) -> Image:
        import torch

        from generators.torch_runtime import cpu_generator

        with torch.inference_mode():
            result = pipe(
                prompt=prompt,
                num_inference_steps=self.options.steps,
                guidance_scale=self.options.guidance,
                generator=cpu_generator(seed),
                output_type="pil",
                **call_options(pipe, (side, side)),
            )
        flagged = getattr(result, "nsfw_content_detected", None)
        if flagged and flagged[0]:
            log.info("the safety checker blanked the image for seed %d", seed)
        return result.images[0]
