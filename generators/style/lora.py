"""Train a LoRA (peft) on the diffusion model on disk, so the diffusion painter paints in a style.

The base model's UNet, VAE and text encoder stay frozen; low-rank adapters on the UNet's
attention projections learn the collection, each image captioned by its sidecar text (kept by
`prepare`) or by a default caption, always ending with the style's token. The diffusion painter
then loads the adapter (`LORA=NAME`) and adds the token to the poem's prompt, so the poem still
chooses what is painted and the style how.

Like the GAN (generators.style.train), it runs under Accelerate (one CPU, one GPU, many
processes), and resuming is exact: each step's batch and random numbers come from
(run seed, step, process), and the checkpoint holds the adapter and the optimizer.
Supported bases: Stable Diffusion 1.x/2.x UNets (SD-Turbo included); SDXL and FLUX are
refused with a clear error.
"""

from __future__ import annotations

import functools
import json
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from generators.models import DEFAULT_IMAGE_MODEL
from generators.style.checkpoint import (
    Checkpoint,
    file_sha256,
    latest_checkpoint,
    load_optimizers,
    load_weights,
    write_checkpoint,
)
from generators.style.layout import StyleError, StyleLayout, atomic_path
from generators.style.plot import plot_losses, read_log
from generators.style.train import (
    PRECISIONS,
    ImageBank,
    PrintReporter,
    StepBook,
    TrainReporter,
    TrainResult,
    batch_indices,
    begin_result,
    check_resumable,
    finish_training,
    make_accelerator,
    open_run,
    restore_scaler,
    scaler_state,
    step_seed,
)

if TYPE_CHECKING:
    from PIL.Image import Image

log = logging.getLogger(__name__)

# What the diffusion painter loads (diffusers' own file name and key layout), and the same
# adapter in peft's layout, which resuming loads back into the UNet.
LORA_WEIGHTS = "pytorch_lora_weights.safetensors"
ADAPTER = "adapter.safetensors"
ADAPTER_NAME = "kavi_style"
# The attention projections of the UNet's transformer blocks: the usual LoRA targets for SD.
TARGET_MODULES = ("to_k", "to_q", "to_v", "to_out.0")
# Scenes from Kavi's haiku for the fixed sample grids, so progress is watched on its subjects.
SAMPLE_PROMPTS = (
    "an old pond, a frog leaps in",
    "the moon over a mountain temple",
    "cherry blossoms falling by a river",
    "a crow on a bare branch at dusk",
)
SAMPLE_SEEDS = 2


def style_token(name: str) -> str:
    """The words every caption ends with, which the painter adds to the poem's prompt."""
    return f"in the style of kavi-{name}"


def default_caption(name: str) -> str:
    """The caption of an image with no sidecar text."""
    return f"{style_token(name)}, a picture"


@dataclass(frozen=True)
class LoraOptions:
    """How to fine-tune: the base model, the adapter's rank, the schedule, saving and sampling."""

    model: str = DEFAULT_IMAGE_MODEL
    resolution: int | None = None
    steps: int = 1_000
    batch_size: int = 1
    lr: float = 1e-4
    rank: int = 16
    seed: int = 0
    checkpoint_every: int = 100
    # 0: no sample grids (each is a few full renders: minutes on a CPU at 512 px).
    sample_every: int = 100
    keep_checkpoints: int = 3
    sample_steps: int = 2
    sample_guidance: float = 0.0
    precision: str = "auto"
    device: str = "auto"
    gradient_checkpointing: bool = False
    max_grad_norm: float = 1.0

    def __post_init__(self) -> None:
        for name in (
            "steps",
            "batch_size",
            "rank",
            "checkpoint_every",
            "keep_checkpoints",
            "sample_steps",
        ):
            if getattr(self, name) < 1:
                raise ValueError(f"`{name}` must be at least 1, got {getattr(self, name)}")
        if self.sample_every < 0:
            raise ValueError(
                f"`sample_every` must be 0 (no grids) or more, got {self.sample_every}"
            )
        if not 0 < self.lr < 1:
            raise ValueError(f"`lr` must be between 0 and 1, got {self.lr}")
        if self.rank > 256:
            raise ValueError(f"`rank` must be at most 256, got {self.rank}")
        if self.resolution is not None and self.resolution < 8:
            raise ValueError(f"`resolution` must be at least 8, got {self.resolution}")
        if self.precision not in PRECISIONS:
            raise ValueError(f"`precision` must be one of {', '.join(PRECISIONS)}")
        if self.seed < 0:
            raise ValueError(f"`seed` must be 0 or more, got {self.seed}")
        if self.sample_guidance < 0:
            raise ValueError(f"`sample_guidance` must be 0 or more, got {self.sample_guidance}")
        if not self.model.strip():
            raise ValueError("`model` must name the diffusion model to fine-tune")

    def resumable_part(self) -> dict[str, Any]:
        """What must match between a checkpoint and the options that resume it."""
        return {
            "model": self.model,
            "resolution": self.resolution,
            "batch_size": self.batch_size,
            "lr": self.lr,
            "rank": self.rank,
            "seed": self.seed,
        }


@dataclass(frozen=True)
class LoraWeights:
    """A trained LoRA the painter can load: the file, its sha256, and what it was trained for."""

    path: Path
    sha256: str
    name: str
    token: str | None = None
    base_model: str | None = None
    step: int | None = None
    # The style folder it was trained from (its images are what a painting must not copy).
    style_root: Path | None = None

    def describe(self) -> str:
        """How an artwork records it: name, step and sha256, so the artwork stays reproducible."""
        step = f" step {self.step}" if self.step is not None else ""
        return f"LoRA {self.name}{step} sha256:{self.sha256}"


def find_lora(source: str | Path) -> LoraWeights:
    """The LoRA at `source`: a style folder (its newest LoRA checkpoint), a checkpoint folder,
    or a .safetensors file in diffusers' layout; StyleError saying what is missing."""
    path = Path(source).expanduser()
    if path.is_file():
        if path.suffix != ".safetensors":
            raise StyleError(f"LoRA {path} is not a .safetensors file")
        stat = path.stat()
        return LoraWeights(path, _hashed(str(path), stat.st_mtime_ns, stat.st_size), path.stem)
    if (path / "state.json").is_file() and (path / LORA_WEIGHTS).is_file():
        state = json.loads((path / "state.json").read_text(encoding="utf-8"))
        return _weights_of(Checkpoint(path, int(state.get("step", 0)), state))
    style = StyleLayout(path)
    if path.is_dir() and (style.lora.root.is_dir() or style.manifest.is_file()):
        found = latest_checkpoint(style.lora.checkpoints, LORA_WEIGHTS)
        if found is None:
            raise StyleError(
                f"style {style.name!r} has no trained LoRA in {style.lora.checkpoints}; run "
                f"`kavi style train {style.name} --backend lora` first"
            )
        return _weights_of(found)
    raise StyleError(
        f"no LoRA at {path}: name a style trained with `kavi style train NAME --backend lora`, "
        "a LoRA checkpoint folder, or a .safetensors file"
    )


@functools.lru_cache(maxsize=16)
def _hashed(path: str, mtime_ns: int, size: int) -> str:
    """The sha256 of a LoRA file, computed once per version of the file (path, mtime, size)."""
    return file_sha256(Path(path))


def _weights_of(checkpoint: Checkpoint) -> LoraWeights:
    state = checkpoint.state
    # DATA_DIR/styles/NAME/lora/checkpoints/step-N: the style is three folders up.
    root = checkpoint.path.parent.parent.parent
    return LoraWeights(
        checkpoint.path / LORA_WEIGHTS,
        checkpoint.sha256,
        str(state.get("style") or root.name),
        state.get("token"),
        state.get("model"),
        checkpoint.step,
        root if StyleLayout(root).manifest.is_file() else None,
    )


def captions_for(layout: StyleLayout) -> list[str]:
    """Each prepared image's caption (its sidecar text, else the default), with the token."""
    token = style_token(layout.name)
    captions = []
    for entry in layout.read_manifest()["images"]:
        text = str(entry.get("caption") or "").strip().rstrip(".,;")
        # The token first: CLIP reads 77 tokens, so a long caption loses its end, never it.
        captions.append(f"{token}, {text}" if text else default_caption(layout.name))
    return captions


def base_model_folder(model: str) -> Path:
    """The base model's folder on disk, checked to be a UNet pipeline LoRA training supports."""
    from generators.errors import GenerationError
    from generators.models import local_model_path, pipeline_family

    try:
        folder = local_model_path(model, kind="diffusion")
    except GenerationError as exc:
        raise StyleError(
            f"{exc}; LoRA training fine-tunes the diffusion model on disk: pull it first "
            "(`kavi models pull`) or name a local folder with --model"
        ) from None
    family = pipeline_family(folder)
    if family != "sd" or not (folder / "unet").is_dir():
        raise StyleError(
            f"LoRA training supports Stable Diffusion 1.x/2.x pipelines (SD-Turbo included); "
            f"{model} is {family or 'of an unknown family'}: choose such a model with --model"
        )
    channels = _unet_in_channels(folder)
    if channels not in (None, 4):
        raise StyleError(
            f"{model} has a UNet of {channels} input channels (an inpainting or editing "
            "model); LoRA training needs a text-to-image model: choose one with --model"
        )
    return folder


def _unet_in_channels(folder: Path) -> int | None:
    try:
        value = json.loads((folder / "unet" / "config.json").read_text("utf-8"))["in_channels"]
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return int(value) if isinstance(value, int) else None


@dataclass
class _Parts:
    """The frozen base model, on the training device, and the adapter being trained."""

    folder: Path
    unet: Any
    vae: Any
    text_encoder: Any
    tokenizer: Any
    scheduler: Any
    dtype: Any
    vae_scale: int
    native: int
    pipeline: Any = field(default=None)


def _load_parts(folder: Path, device: Any, mixed: str, options: LoraOptions) -> _Parts:
    import torch
    from diffusers import AutoencoderKL, DDPMScheduler, UNet2DConditionModel
    from diffusers.training_utils import cast_training_params
    from peft import LoraConfig
    from transformers import CLIPTextModel, CLIPTokenizer

    dtype = {"fp16": torch.float16, "bf16": torch.bfloat16}.get(mixed, torch.float32)
    load: dict[str, Any] = {"local_files_only": True}
    tokenizer = CLIPTokenizer.from_pretrained(folder, subfolder="tokenizer", **load)
    weights = {**load, "dtype": dtype}
    text_encoder = CLIPTextModel.from_pretrained(folder, subfolder="text_encoder", **weights)
    vae = AutoencoderKL.from_pretrained(folder, subfolder="vae", **weights)
    unet = UNet2DConditionModel.from_pretrained(folder, subfolder="unet", **weights)
    # The noise schedule the model was trained with, as a DDPM scheduler (adds noise by t).
    scheduler = DDPMScheduler.from_pretrained(folder, subfolder="scheduler", **load)
    for module in (unet, vae, text_encoder):
        module.requires_grad_(False)
        module.to(device)
    vae.eval()
    text_encoder.eval()
    unet.add_adapter(
        LoraConfig(
            r=options.rank,
            lora_alpha=options.rank,
            init_lora_weights="gaussian",
            target_modules=list(TARGET_MODULES),
        ),
        adapter_name=ADAPTER_NAME,
    )
    if dtype != torch.float32:
        # The adapter trains in full precision; the frozen base stays in half.
        cast_training_params(unet, dtype=torch.float32)
    if options.gradient_checkpointing:
        unet.enable_gradient_checkpointing()
    scale = 2 ** (len(vae.config.block_out_channels) - 1)
    native = int(unet.config.sample_size) * scale
    return _Parts(folder, unet, vae, text_encoder, tokenizer, scheduler, dtype, scale, native)


def training_resolution(options: LoraOptions, prepared: int, native: int, multiple: int) -> int:
    """The side to train at: asked, else the dataset's capped at the model's native size."""
    side = options.resolution or min(prepared, native)
    if side > prepared:
        raise StyleError(
            f"the dataset was prepared at {prepared} px, below the LoRA resolution {side}; "
            f"prepare it again with --resolution {side} or train at {prepared}"
        )
    if side % multiple:
        fits = max(multiple, side // multiple * multiple)
        raise StyleError(
            f"the LoRA resolution {side} px is not a multiple of {multiple} (the model's "
            f"latent grid); pass --resolution {fits}"
        )
    return side


def train_lora(
    layout: StyleLayout,
    options: LoraOptions,
    *,
    reporter: TrainReporter | None = None,
    fresh: bool = False,
) -> TrainResult:
    """Fine-tune (or resume fine-tuning) a LoRA of the base model on a prepared style."""
    import torch
    from peft.utils import get_peft_model_state_dict, set_peft_model_state_dict
    from torch.nn import functional as F

    reporter = reporter or PrintReporter()
    manifest = layout.read_manifest()
    folder = base_model_folder(options.model)
    run = layout.lora
    captions = captions_for(layout)

    accelerator = make_accelerator(options)
    main = accelerator.is_main_process
    world, rank = accelerator.num_processes, accelerator.process_index
    open_run(accelerator, run, fresh=fresh)

    torch.manual_seed(options.seed)
    parts = _load_parts(folder, accelerator.device, accelerator.mixed_precision, options)
    # Pixel sides must give whole latents at the UNet's deepest level.
    multiple = parts.vae_scale * 2 ** (len(parts.unet.config.block_out_channels) - 1)
    side = training_resolution(options, int(manifest["resolution"]), parts.native, multiple)
    options = _with_resolution(options, side)
    bank = ImageBank(layout.image_paths(), side)
    ids = parts.tokenizer(
        captions,
        padding="max_length",
        max_length=parts.tokenizer.model_max_length,
        truncation=True,
        return_tensors="pt",
    ).input_ids

    resume = latest_checkpoint(run.checkpoints, LORA_WEIGHTS)
    start = 0
    if resume is not None:
        check_resumable(resume, options, layout.name)
        set_peft_model_state_dict(
            parts.unet, load_weights(resume.path / ADAPTER), adapter_name=ADAPTER_NAME
        )
        start = resume.step
    trainable = [p for p in parts.unet.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(trainable, lr=options.lr, weight_decay=1e-2)
    unet, optimizer = accelerator.prepare(parts.unet, optimizer)
    if resume is not None:
        optimizer.load_state_dict(load_optimizers(resume.path)["unet"])
        restore_scaler(accelerator, resume)
    raw_unet = accelerator.unwrap_model(unet)

    result = begin_result(accelerator, resume, reporter, loss_log=run.loss_log, steps=options.steps)
    token = style_token(layout.name)

    def checkpoint(step: int) -> None:
        if not main:
            return
        from diffusers.utils import convert_state_dict_to_diffusers

        adapter = get_peft_model_state_dict(raw_unet, adapter_name=ADAPTER_NAME)
        diffusers_layout = {
            f"unet.{key}": value for key, value in convert_state_dict_to_diffusers(adapter).items()
        }
        result.checkpoint = write_checkpoint(
            run.checkpoints,
            step,
            files={ADAPTER: (adapter, None), LORA_WEIGHTS: (diffusers_layout, {"format": "pt"})},
            optimizers={"unet": optimizer.state_dict()},
            state={
                **options.resumable_part(),
                "backend": "lora",
                "steps_planned": options.steps,
                "processes": world,
                "images": len(bank),
                "captioned": sum(1 for e in manifest["images"] if e.get("caption")),
                "style": layout.name,
                "scaler": scaler_state(accelerator),
                "token": token,
                "target_modules": list(TARGET_MODULES),
            },
            weights=LORA_WEIGHTS,
            keep=options.keep_checkpoints,
        )
        with atomic_path(run.loss_plot) as temp:
            plot_losses(read_log(run.loss_log)).save(temp, format="PNG")
        reporter.message(f"checkpoint saved at step {step}: {result.checkpoint.path}")

    def sample_grid(step: int) -> None:
        if not main:
            return
        target = run.samples / f"step-{step:08d}.png"
        with atomic_path(target) as temp:
            _sample_grid(parts, raw_unet, options, token).save(temp, format="PNG")
        result.samples.append(target)
        reporter.message(f"samples at step {step}: {target}")

    device = accelerator.device
    vae_scale = float(parts.vae.config.scaling_factor)
    prediction = parts.scheduler.config.prediction_type
    timesteps = int(parts.scheduler.config.num_train_timesteps)
    step = start
    book = StepBook(
        loss_log=run.loss_log,
        options=options,
        result=result,
        reporter=reporter,
        accelerator=accelerator,
        sample_grid=sample_grid,
        checkpoint=checkpoint,
    )
    with book.running():
        while step < options.steps:
            torch.manual_seed(step_seed(options.seed, step, rank))
            indices = batch_indices(
                len(bank),
                options.batch_size,
                world=world,
                rank=rank,
                seed=options.seed,
                step=step,
            )
            pixels = bank.batch(indices)
            flip = torch.rand(len(indices)) < 0.5
            pixels[flip] = pixels[flip].flip(-1)
            noise_seed = torch.randint(0, 2**31 - 1, (1,)).item()
            draw = torch.Generator("cpu").manual_seed(int(noise_seed))
            unet.train()
            with torch.no_grad():
                moments = parts.vae.encode(pixels.to(device, parts.dtype)).latent_dist
                # The latent's own noise, drawn on the CPU so every device draws the same.
                latents = moments.mean + moments.std * torch.randn(
                    moments.mean.shape, generator=draw
                ).to(device, moments.mean.dtype)
                latents = (latents * vae_scale).float()
                hidden = parts.text_encoder(ids[indices].to(device))[0]
            noise = torch.randn(latents.shape, generator=draw).to(device)
            t = torch.randint(0, timesteps, (len(indices),), generator=draw).to(device)
            noisy = parts.scheduler.add_noise(latents, noise, t)
            target = (
                parts.scheduler.get_velocity(latents, noise, t)
                if prediction == "v_prediction"
                else noise
            )
            with accelerator.autocast():
                predicted = unet(noisy.to(parts.dtype), t, hidden).sample
            loss = F.mse_loss(predicted.float(), target.float())
            accelerator.backward(loss)
            if accelerator.sync_gradients:
                accelerator.clip_grad_norm_(trainable, options.max_grad_norm)
            optimizer.step()
            optimizer.zero_grad(set_to_none=True)

            step += 1
            result.step = step  # what an interrupt from here on saves
            book.done(step, {"loss": accelerator.reduce(loss.detach().float(), "mean")})
    # The wrapper goes before its process group does (see finish_training).
    del unet
    finish_training(accelerator)
    return result


def _with_resolution(options: LoraOptions, side: int) -> LoraOptions:
    import dataclasses

    return dataclasses.replace(options, resolution=side)


def _sample_grid(parts: _Parts, unet: Any, options: LoraOptions, token: str) -> Image:
    """The fixed prompts at fixed seeds through the adapter as it is now, in one grid."""
    import torch
    from diffusers import AutoPipelineForText2Image

    from generators.style.sample import grid
    from generators.torch_runtime import cpu_generator

    if parts.pipeline is None:
        parts.pipeline = AutoPipelineForText2Image.from_pretrained(
            parts.folder,
            unet=unet,
            vae=parts.vae,
            text_encoder=parts.text_encoder,
            tokenizer=parts.tokenizer,
            dtype=parts.dtype,
            local_files_only=True,
            # SD 1.x ships a safety checker: not wanted for progress grids, and it would stay
            # on the CPU while the rest trains on a GPU.
            safety_checker=None,
            requires_safety_checker=False,
        )
        parts.pipeline.set_progress_bar_config(disable=True)
    side = int(options.resolution or parts.native)
    images = []
    was_training = unet.training
    unet.eval()
    # In mixed precision the adapter is float32 and the frozen model half: autocast keeps
    # every layer's input in the model's dtype (the VAE would otherwise meet float32 latents).
    half = parts.dtype != torch.float32
    device_type = torch.device(parts.pipeline.device).type
    try:
        with (
            torch.inference_mode(),
            torch.autocast(device_type, dtype=parts.dtype, enabled=half),
        ):
            for seed in range(SAMPLE_SEEDS):
                for prompt in SAMPLE_PROMPTS:
                    images.append(
                        parts.pipeline(
                            prompt=f"{prompt}, {token}",
                            num_inference_steps=options.sample_steps,
                            guidance_scale=options.sample_guidance,
                            generator=cpu_generator(options.seed + seed),
                            height=side,
                            width=side,
                            output_type="pil",
                        ).images[0]
                    )
    finally:
        unet.train(was_training)
    return grid(images, columns=len(SAMPLE_PROMPTS))


def options_from_lora_checkpoint(checkpoint: Checkpoint, **overrides: Any) -> LoraOptions:
    """The options a LoRA checkpoint was trained with, with `overrides` (steps, intervals...)."""
    state = checkpoint.state
    saved = {name: state[name] for name in LoraOptions().resumable_part() if name in state}
    return LoraOptions(**{**saved, **overrides})
