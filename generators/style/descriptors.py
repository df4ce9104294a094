"""The image descriptors novelty is measured with, and choosing one: `perceptual` (offline,
deterministic), an image embedding model on disk (CLIP, DINOv2: a Hugging Face id or a
folder), or `auto` (the default embedding model when on disk, else perceptual).

Each descriptor has its own distance scale, so the memorisation threshold is set per
descriptor from the collection (novelty.py), and its training vectors are cached under a key
that names the descriptor and the model's files: switching never reuses the wrong vectors.
"""

from __future__ import annotations

import hashlib
import importlib.util
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

import numpy as np

from core.errors import ConfigError
from generators.models import DEFAULT_IMAGE_EMBEDDING_MODEL, weights_on_disk

if TYPE_CHECKING:
    from PIL.Image import Image

    from generators.style.embedding import ImageEmbedder

# Rows of arrays, one row per image (perceptual: `labs`, `bits`; embeddings: `vectors`).
Features = dict[str, np.ndarray]

AUTO = "auto"
PERCEPTUAL = "perceptual"
_NEURAL_PACKAGES = ("torch", "transformers")


class DescriptorError(ConfigError):
    """The chosen descriptor cannot be used here; the message says why and how to fix it."""


class ImageDescriptor(Protocol):
    """Turns pictures into features, and features into distances (0: the same picture).

    `name` is what the novelty page and novelty.json say measured the distances, `about`
    how it measures, `min_threshold` the floor of the memorisation threshold in its own
    distance units, and `cache_file`/`cache_key()` where its training features are kept and
    what they depend on (a different key and they are computed again).
    """

    name: str
    about: str
    min_threshold: float
    cache_file: str

    def cache_key(self) -> str: ...

    def describe(self, images: Sequence[Image]) -> Features: ...

    def distances(self, queries: Features, training: Features) -> np.ndarray:
        """A (queries x training) matrix of distances."""
        ...


class PerceptualDescriptor:
    """The offline descriptor: a 16x16 LAB thumbnail plus a 64-bit difference hash."""

    name = PERCEPTUAL
    about = "16\u00d716 LAB thumbnail plus a 64-bit difference hash"
    # So a collection of near-identical images still flags copies.
    min_threshold = 0.02
    cache_file = "descriptors.npz"

    def cache_key(self) -> str:
        return "perceptual-1"

    def describe(self, images: Sequence[Image]) -> Features:
        from generators.style.perceptual import describe, stack

        labs, bits = stack([describe(image) for image in images])
        return {"labs": labs, "bits": bits}

    def distances(self, queries: Features, training: Features) -> np.ndarray:
        from generators.style.perceptual import Descriptor, distances

        labs, bits = training["labs"], training["bits"]
        rows = [
            distances(Descriptor(lab, bit), labs, bits)
            for lab, bit in zip(queries["labs"], queries["bits"], strict=True)
        ]
        return np.stack(rows) if rows else np.zeros((0, len(labs)), np.float64)


class EmbeddingDescriptor:
    """An image embedding model's unit vectors, compared by cosine distance (1 - cosine)."""

    # Re-encodes and resizes of one picture sit within about 0.01 for CLIP and DINOv2.
    min_threshold = 0.01

    def __init__(self, embedder: ImageEmbedder) -> None:
        self.embedder = embedder
        self.name = embedder.model
        self.about = f"image embedding of {embedder.model}, cosine distance"
        readable = re.sub(r"[^a-z0-9]+", "-", Path(embedder.model).name.lower()).strip("-")
        tag = hashlib.sha256(embedder.model.encode()).hexdigest()[:10]
        self.cache_file = f"descriptors-{readable[:40] or 'model'}-{tag}.npz"

    def cache_key(self) -> str:
        from generators.style.embedding import model_fingerprint

        return f"embedding-1:{self.embedder.model}:{model_fingerprint(self.embedder.folder)}"

    def describe(self, images: Sequence[Image]) -> Features:
        return {"vectors": self.embedder.embed(images)}

    def distances(self, queries: Features, training: Features) -> np.ndarray:
        similarity = queries["vectors"].astype(np.float64) @ training["vectors"].T.astype(
            np.float64
        )
        # Unit vectors: 1 - cosine lies in [0, 2]; rounding can step just outside it.
        return np.clip(1.0 - similarity, 0.0, 2.0)


@dataclass(frozen=True)
class DescriptorChoice:
    """The descriptor a choice resolved to, and why (for `auto`: why this one)."""

    descriptor: ImageDescriptor
    reason: str


def _fetch_hint(model: str) -> str:
    return f"fetch it once with `hf download {model}`"


def _missing_packages() -> list[str]:
    return [name for name in _NEURAL_PACKAGES if importlib.util.find_spec(name) is None]


def descriptor_problem(choice: str) -> str | None:
    """Why the descriptor `choice` (auto, perceptual, a model id or folder) cannot be used, or
    None; loads nothing, so settings and engine options can check it at start."""
    name = choice.strip()
    if name.lower() in {"", AUTO, PERCEPTUAL}:
        return None
    missing = _missing_packages()
    if missing:
        return (
            f"the image embedding model {name!r} needs the neural extra "
            f"({', '.join(missing)} missing): pip install 'kavi[neural]'"
        )
    available, why = weights_on_disk(name, kind="vision", hint=_fetch_hint(name))
    return None if available else f"the image embedding model {name!r} is not on disk: {why}"


def resolve_descriptor(
    choice: str, *, device: str = "auto", batch_size: int | None = None
) -> DescriptorChoice:
    """The descriptor `choice` names, never downloading; DescriptorError when a named model
    is not on disk. `auto` takes the default embedding model when on disk, else perceptual."""
    from generators.style.embedding import DEFAULT_BATCH_SIZE, ImageEmbedder

    name = choice.strip()
    batch = batch_size or DEFAULT_BATCH_SIZE
    if name.lower() == PERCEPTUAL:
        return DescriptorChoice(PerceptualDescriptor(), "the offline descriptor")
    if name.lower() in {"", AUTO}:
        missing = _missing_packages()
        if missing:
            why = f"the neural extra is not installed ({', '.join(missing)} missing)"
            return DescriptorChoice(PerceptualDescriptor(), why)
        model = DEFAULT_IMAGE_EMBEDDING_MODEL
        available, why = weights_on_disk(model, kind="vision", hint=_fetch_hint(model))
        if not available:
            return DescriptorChoice(PerceptualDescriptor(), why)
        embedder = ImageEmbedder(model, device=device, batch_size=batch)
        return DescriptorChoice(EmbeddingDescriptor(embedder), why)
    problem = descriptor_problem(name)
    if problem:
        raise DescriptorError(f"{problem}; or use auto or perceptual")
    why = weights_on_disk(name, kind="vision")[1]
    embedder = ImageEmbedder(name, device=device, batch_size=batch)
    return DescriptorChoice(EmbeddingDescriptor(embedder), why)
