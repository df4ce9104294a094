"""Which neural models Kavi uses, whether their weights are on disk, and fetching them on request.

Nothing here imports torch: the CLI asks `weights_on_disk` at start to resolve `auto`. Nothing
is ever downloaded implicitly; only `pull_models` (run by `python -m bot models pull`) downloads.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Generic, Literal, TypeVar

from core.errors import ConfigError, KaviError
from generators.errors import GenerationError

log = logging.getLogger(__name__)

ModelKind = Literal["llm", "diffusion", "vae", "classifier", "vision"]
MODEL_KINDS: tuple[ModelKind, ...] = ("llm", "diffusion", "vae", "classifier", "vision")

# 360M parameters, Apache-2.0, ships a chat template and writes short verse well for its size;
# ~0.7 GB in bf16, so a CPU host writes a haiku in seconds (Qwen2.5-0.5B is ~40% larger).
DEFAULT_POEM_MODEL = "HuggingFaceTB/SmolLM2-360M-Instruct"
# What `POEM_MODEL=auto` picks on a GPU with room for it: 1.7B parameters, Apache-2.0, the
# same family, chat template and sampling card as the default, ~3.4 GB in bf16.
GPU_POEM_MODEL = "HuggingFaceTB/SmolLM2-1.7B-Instruct"
GPU_POEM_MIN_GIB = 6.0
# A RoBERTa-base fine-tuned on GoEmotions (28 labels, MIT): reads a poem's emotions whole.
DEFAULT_EMOTION_MODEL = "SamLowe/roberta-base-go_emotions"
# The image embedding `kavi style inspect` measures novelty with when on disk (MIT, 88M
# parameters in its vision half, ~0.6 GB with the text half it ships with).
DEFAULT_IMAGE_EMBEDDING_MODEL = "openai/clip-vit-base-patch32"
# Distilled for 1-4 steps at guidance 0 (512 px native), diffusers layout, no safety checker.
DEFAULT_IMAGE_MODEL = "stabilityai/sd-turbo"
# What `IMAGE_MODEL=auto` picks on a GPU that keeps it resident: 1024 px native in 1-4 steps,
# Apache-2.0 (FLUX.1-dev and SDXL-Turbo are non-commercial); ~34 GB of weights in bf16.
GPU_IMAGE_MODEL = "black-forest-labs/FLUX.1-schnell"
GPU_IMAGE_MIN_GIB = 40.0
# TAESD: a 2.4M-parameter decoder that replaces the SD VAE's (~25 s on CPU at 512 px) with ~1 s.
# It decodes SD 1.x/2.x and SD-Turbo latents; image/diffusion.py pairs each family with its own.
DEFAULT_TINY_VAE = "madebyollin/taesd"
# TINY_VAE values that mean "use the model's full VAE".
TINY_VAE_OFF = frozenset({"", "none", "off", "false", "no", "0"})

PULL_HINT = "run `python -m bot models pull`"
_WEIGHT_SUFFIXES = (".safetensors", ".bin")
# Diffusers pipeline components that carry weights; others (scheduler, tokenizer) are configs.
_WEIGHTED_COMPONENTS = ("unet", "transformer", "vae", "text_encoder", "text_encoder_2")


class ModelPullError(KaviError):
    """A model could not be fetched into the Hugging Face cache."""


class OptionError(ValueError):
    """An engine option holds a value the engine cannot use; `option` names the field."""

    def __init__(self, option: str, problem: str) -> None:
        super().__init__(f"`{option}` {problem}")
        self.option = option
        self.problem = problem


@dataclass(frozen=True)
class ModelOptions:
    """What every neural engine is told: which weights, on which device, in which dtype."""

    model: str
    device: str = "auto"
    dtype: str = "auto"

    def __post_init__(self) -> None:
        if not self.model or not self.model.strip():
            raise OptionError("model", "must name a Hugging Face model id or a local folder")
        object.__setattr__(self, "model", self.model.strip())


OptionsT = TypeVar("OptionsT", bound=ModelOptions)


class ModelEngine(Generic[OptionsT]):
    """A neural engine: built from its typed options, it loads its model on first use."""

    def __init__(self, options: OptionsT) -> None:
        self.options = options
        self.model = options.model


def hub_cache_dir() -> Path:
    """The Hugging Face hub cache folder, read from the environment now (HF_HUB_CACHE, HF_HOME)."""
    if os.environ.get("HF_HUB_CACHE"):
        return Path(os.environ["HF_HUB_CACHE"]).expanduser()
    if os.environ.get("HF_HOME"):
        return Path(os.environ["HF_HOME"]).expanduser() / "hub"
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg).expanduser() if xdg else Path.home() / ".cache"
    return base / "huggingface" / "hub"


def offline_mode() -> bool:
    """True when HF_HUB_OFFLINE (or TRANSFORMERS_OFFLINE) is set in the environment now."""
    for name in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE"):
        if os.environ.get(name, "").strip().lower() in {"1", "true", "yes", "on"}:
            return True
    return False


def _looks_like_path(model: str) -> bool:
    return (
        model.startswith((".", "/", "~"))
        or model.count("/") > 1
        or Path(model).expanduser().exists()
    )


def _check_kind(kind: str) -> None:
    if kind not in MODEL_KINDS:
        raise ValueError(f"`kind` must be one of {', '.join(MODEL_KINDS)}, got {kind!r}")


def missing_files(folder: Path, *, kind: str) -> list[str]:
    """What a model folder of `kind` lacks to load (config, weights, tokenizer); [] if nothing."""
    _check_kind(kind)
    if kind == "diffusion":
        index_file = folder / "model_index.json"
        if not index_file.is_file():
            return ["model_index.json"]
        try:
            index = json.loads(index_file.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return ["a readable model_index.json"]
        missing = []
        for component, spec in index.items():
            if component.startswith("_") or not isinstance(spec, list) or spec[0] is None:
                continue
            sub = folder / component
            if not sub.is_dir():
                missing.append(f"{component}/")
            elif component in _WEIGHTED_COMPONENTS and not _has_weights(sub):
                missing.append(f"{component}/ weights (full precision)")
        return missing
    missing = []
    if not (folder / "config.json").is_file():
        missing.append("config.json")
    if not _has_weights(folder):
        missing.append("weights (*.safetensors in full precision)")
    if kind in ("llm", "classifier") and not any(
        (folder / name).is_file() for name in ("tokenizer.json", "tokenizer.model", "vocab.json")
    ):
        missing.append("tokenizer")
    if kind == "vision" and not (folder / "preprocessor_config.json").is_file():
        missing.append("preprocessor_config.json (its image processor)")
    return missing


def _has_weights(folder: Path) -> bool:
    # Only full-precision files count: Kavi loads without `variant=`, so a folder holding only
    # `*.fp16.safetensors` would fail to load; it is "not on disk" and `auto` falls back.
    return any(
        p.suffix in _WEIGHT_SUFFIXES and "." not in p.stem for p in folder.iterdir() if p.is_file()
    )


def cached_snapshot(model: str, *, kind: str) -> Path | None:
    """The model's snapshot folder in the Hugging Face cache, found without any network, or None."""
    _check_kind(kind)
    # The hub keeps each model under models--<org>--<name>; when that folder is absent the
    # answer is known without importing huggingface_hub (~0.15 s that `auto` paid every run).
    if not (hub_cache_dir() / f"models--{model.replace('/', '--')}").is_dir():
        return None
    from huggingface_hub import try_to_load_from_cache
    from huggingface_hub.errors import HFValidationError

    marker = "model_index.json" if kind == "diffusion" else "config.json"
    try:
        found = try_to_load_from_cache(model, marker, cache_dir=hub_cache_dir())
    except HFValidationError:
        return None
    if not isinstance(found, str):
        return None
    return Path(found).parent


def weights_on_disk(model: str, *, kind: str, hint: str = PULL_HINT) -> tuple[bool, str]:
    """Whether `model` (local folder or Hugging Face id) can load without a download, and why
    (`hint`: how to fetch a model that is not in the cache)."""
    _check_kind(kind)
    if not model or not model.strip():
        return False, "no model configured"
    model = model.strip()
    if _looks_like_path(model):
        folder = Path(model).expanduser()
        if not folder.is_dir():
            return False, f"no folder at {folder}"
        missing = missing_files(folder, kind=kind)
        if missing:
            return False, f"the folder {folder} lacks {', '.join(missing)}"
        return True, f"local folder {folder}"
    snapshot = cached_snapshot(model, kind=kind)
    if snapshot is None:
        return False, f"{model} is not in the Hugging Face cache; {hint}"
    missing = missing_files(snapshot, kind=kind)
    if missing:
        return False, (
            f"{model} is only partly in the Hugging Face cache (lacks {', '.join(missing)}); {hint}"
        )
    return True, f"{model} found in the Hugging Face cache"


def local_model_path(model: str, *, kind: str) -> Path:
    """The folder to load `model` from, never downloading; else GenerationError saying how."""
    available, reason = weights_on_disk(model, kind=kind)
    if not available:
        raise GenerationError(f"cannot load {kind} model {model!r}: {reason}")
    if _looks_like_path(model.strip()):
        return Path(model.strip()).expanduser()
    snapshot = cached_snapshot(model.strip(), kind=kind)
    assert snapshot is not None  # weights_on_disk just found it
    return snapshot


def auto_models(
    kind: Literal["llm", "diffusion"], gpu_memory_gib: float | None
) -> list[tuple[str, str]]:
    """The models a stage set to `auto` may use on this host, best first, each with why."""
    large, needed, small = {
        "llm": (GPU_POEM_MODEL, GPU_POEM_MIN_GIB, DEFAULT_POEM_MODEL),
        "diffusion": (GPU_IMAGE_MODEL, GPU_IMAGE_MIN_GIB, DEFAULT_IMAGE_MODEL),
    }[kind]
    if gpu_memory_gib is None:
        return [(small, "no GPU")]
    if gpu_memory_gib < needed:
        return [(small, f"a GPU of {gpu_memory_gib:.1f} GiB (under {needed:g})")]
    room = f"a GPU of {gpu_memory_gib:.0f} GiB"
    return [(large, room), (small, f"{room}, but {large} is not pulled")]


def pick_auto_model(candidates: list[tuple[str, str]], *, kind: str) -> tuple[str, str]:
    """The first candidate on disk, else the first (what `models pull` fetches), and why."""
    for model, why in candidates:
        if weights_on_disk(model, kind=kind)[0]:
            return model, f"{kind} model picked for {why}"
    model, why = candidates[0]
    return model, f"{kind} model picked for {why}"


def _allow_patterns(files: Iterable[str]) -> list[str]:
    names = list(files)
    if "model_index.json" in names:
        # A diffusers pipeline: its component folders only, full-precision safetensors
        # (diffusers loads them in any dtype); not the single-file checkpoints beside them.
        return ["model_index.json", "*/*.json", "*/*.txt", "*/*.model", "*/*.safetensors"]
    return ["*.json", "*.txt", "*.model", "*.jinja", "*.safetensors", "tokenizer*"]


def _ignore_patterns() -> list[str]:
    return ["*.fp16.safetensors", "*.bin", "*.onnx", "*.ckpt", "*.msgpack", "*.h5", "*.pb"]


def pull_models(models: list[str]) -> list[Path]:
    """Fetch each model into the Hugging Face cache, with progress bars; return their folders."""
    from huggingface_hub import HfApi, snapshot_download
    from huggingface_hub.errors import HfHubHTTPError, LocalEntryNotFoundError
    from huggingface_hub.utils import enable_progress_bars

    if offline_mode():
        raise ConfigError(
            "HF_HUB_OFFLINE is set, so models cannot be pulled; unset it (or set it to 0) and retry"
        )
    enable_progress_bars()
    cache_dir = hub_cache_dir()
    api = HfApi()
    folders: list[Path] = []
    for model in dict.fromkeys(m.strip() for m in models if m and m.strip()):
        if _looks_like_path(model):
            folder = Path(model).expanduser()
            if not folder.is_dir():
                raise ModelPullError(
                    f"{model!r} looks like a local path but there is no folder there"
                )
            log.info("%s is a local folder; nothing to pull", folder)
            folders.append(folder)
            continue
        log.info("pulling %s into %s", model, cache_dir)
        try:
            files = api.list_repo_files(model)
            path = snapshot_download(
                model,
                cache_dir=cache_dir,
                allow_patterns=_allow_patterns(files),
                ignore_patterns=_ignore_patterns(),
            )
        except LocalEntryNotFoundError as exc:
            raise ModelPullError(
                f"could not reach the Hugging Face Hub to pull {model}: {exc}"
            ) from exc
        except (HfHubHTTPError, OSError) as exc:
            raise ModelPullError(f"could not pull {model}: {exc}") from exc
        folders.append(Path(path))
    return folders


# model_index.json `_class_name` prefixes, most specific first.
_PIPELINE_FAMILIES = (
    ("StableDiffusionXL", "sdxl"),
    ("StableDiffusion3", "sd3"),
    ("Flux", "flux"),
    ("StableDiffusion", "sd"),
)


def pipeline_family(folder: Path) -> str | None:
    """The latent family of a diffusers pipeline folder (`sd`, `sdxl`, ...), or None if unknown."""
    try:
        index = json.loads((folder / "model_index.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    name = str(index.get("_class_name", "")) if isinstance(index, dict) else ""
    return next((family for prefix, family in _PIPELINE_FAMILIES if name.startswith(prefix)), None)
