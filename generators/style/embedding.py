"""Image embeddings from a vision model on disk: CLIP's projected image embedding, or a vision
backbone's pooled CLS token (DINOv2's `pooler_output`), L2-normalised, so that how alike two
pictures look is a cosine distance.

Loaded with transformers from a local folder or the Hugging Face cache, never downloaded, and
preprocessed by the model's own image processor on its PIL backend (no torchvision needed).
"""

from __future__ import annotations

import functools
import hashlib
import logging
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from generators.errors import GenerationError
from generators.models import local_model_path

if TYPE_CHECKING:
    from PIL.Image import Image

log = logging.getLogger(__name__)

DEFAULT_BATCH_SIZE = 32
# A full CLIP checkpoint (`clip`) or its vision half saved alone (`clip_vision_model`).
_CLIP_TYPES = frozenset({"clip", "clip_vision_model"})
# The files whose contents decide the vectors; weights are fingerprinted by size and mtime,
# since hashing a 600 MB file on every `inspect` costs more than describing the collection.
_CONFIG_FILES = ("config.json", "preprocessor_config.json")
_WEIGHT_SUFFIXES = (".safetensors", ".bin")


@dataclass(frozen=True)
class LoadedEmbedder:
    """A vision model, its image processor, the device it runs on and how it pools."""

    model: Any
    processor: Any
    device: str
    pooling: str


def model_fingerprint(folder: Path) -> str:
    """What an embedding depends on in `folder`: its configs' sha256 and its weights' size/mtime."""
    digest = hashlib.sha256(str(folder.resolve()).encode())
    for name in _CONFIG_FILES:
        path = folder / name
        digest.update(name.encode() + (path.read_bytes() if path.is_file() else b"-"))
    for path in sorted(folder.iterdir()):
        if path.is_file() and path.suffix in _WEIGHT_SUFFIXES:
            stat = path.stat()
            digest.update(f"{path.name}:{stat.st_size}:{stat.st_mtime_ns}".encode())
    return digest.hexdigest()


class ImageEmbedder:
    """A vision model that turns pictures into unit vectors, loaded on first use and kept."""

    def __init__(
        self, model: str, *, device: str = "auto", batch_size: int = DEFAULT_BATCH_SIZE
    ) -> None:
        if batch_size < 1:
            raise ValueError(f"`batch_size` must be at least 1, got {batch_size}")
        self.model = model.strip()
        self.folder = local_model_path(self.model, kind="vision")
        self.device = device
        self.batch_size = batch_size
        self._loaded: LoadedEmbedder | None = None
        self._lock = threading.Lock()

    @property
    def is_loaded(self) -> bool:
        """Whether the model has been loaded (a cached collection needs it only for samples)."""
        return self._loaded is not None

    def load(self) -> LoadedEmbedder:
        """The model and processor, loaded once (on the resolved device)."""
        with self._lock:
            if self._loaded is None:
                from generators.torch_runtime import resolve_device

                self._loaded = _load(self.folder, resolve_device(self.device))
            return self._loaded

    def embed(self, images: Sequence[Image]) -> np.ndarray:
        """One L2-normalised float32 row per image, in batches of `batch_size`."""
        import torch

        loaded = self.load()
        rows = []
        for start in range(0, len(images), self.batch_size):
            batch = [image.convert("RGB") for image in images[start : start + self.batch_size]]
            pixels = loaded.processor(images=batch, return_tensors="pt")["pixel_values"]
            with torch.inference_mode():
                vectors = _pooled(loaded, pixels.to(loaded.device))
                vectors = torch.nn.functional.normalize(vectors.float(), dim=-1)
            rows.append(vectors.cpu().numpy())
        if not rows:
            return np.zeros((0, 0), np.float32)
        return np.concatenate(rows).astype(np.float32, copy=False)


def _pooled(loaded: LoadedEmbedder, pixels: Any) -> Any:
    output = loaded.model(pixel_values=pixels)
    if loaded.pooling == "image_embeds":
        return output.image_embeds
    # DINOv2's pooler output is its layer-normed CLS token; a backbone without a pooler
    # returns None there, so take the CLS token itself.
    pooled = getattr(output, "pooler_output", None)
    return pooled if pooled is not None else output.last_hidden_state[:, 0]


@functools.cache
def _clip_vision_class() -> Any:
    """CLIP's vision tower with projection, quiet about the text half a full checkpoint holds."""
    from transformers import CLIPVisionModelWithProjection

    class ClipVisionTower(CLIPVisionModelWithProjection):
        _keys_to_ignore_on_load_unexpected = [  # noqa: RUF012 - transformers' own class field
            r"^text_model\.",
            r"^text_projection\.",
            r"^logit_scale$",
        ]

    return ClipVisionTower


def _image_processor(folder: Path) -> Any:
    import transformers
    from transformers import AutoImageProcessor

    # The PIL backend gives the same numbers with or without torchvision (never installed
    # here); transformers 4 calls it the slow processor.
    major = int(transformers.__version__.split(".", 1)[0])
    choice: dict[str, Any] = {"backend": "pil"} if major >= 5 else {"use_fast": False}
    return AutoImageProcessor.from_pretrained(folder, local_files_only=True, **choice)


def _load(folder: Path, device: str) -> LoadedEmbedder:
    # Float32 whatever the checkpoint was saved in: the processor hands over float32 pixels,
    # and distances compared against a cached collection must not move with the precision.
    import torch
    from transformers import AutoConfig, AutoModel

    log.info("loading image embedding model from %s on %s", folder, device)
    try:
        config = AutoConfig.from_pretrained(folder, local_files_only=True)
        processor = _image_processor(folder)
        if config.model_type in _CLIP_TYPES:
            vision = config
            if config.model_type == "clip":
                # The vision config inside a CLIP config lacks the projection size, which
                # lives on the outer config; without it a non-512 projection fails to load.
                vision = config.vision_config
                vision.projection_dim = config.projection_dim
            model = _clip_vision_class().from_pretrained(
                folder, config=vision, dtype=torch.float32, local_files_only=True
            )
            pooling = "image_embeds"
        else:
            if getattr(config, "text_config", None) is not None:
                raise GenerationError(
                    f"the model in {folder} ({config.model_type}) pairs images with text and "
                    "is not CLIP; use a CLIP model or a vision backbone such as "
                    "facebook/dinov2-small"
                )
            model = AutoModel.from_pretrained(folder, dtype=torch.float32, local_files_only=True)
            pooling = "pooler_output"
    except (OSError, ValueError, KeyError) as exc:
        raise GenerationError(
            f"could not load the image embedding model from {folder}: {exc}"
        ) from exc
    model.to(device)
    model.eval()
    return LoadedEmbedder(model=model, processor=processor, device=device, pooling=pooling)
