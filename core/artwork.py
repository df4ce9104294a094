"""The one value that flows through the chain: an artwork and everything that made it."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any


@dataclass
class Artwork:
    """A finished artwork: poem, painting, mood, caption, files, and the engines behind each."""

    seed: int
    poem: str
    poem_engine: str
    prompt: str
    image_engine: str
    mood: str
    style_engine: str
    caption: str
    alt_text: str
    description: str = ""
    season: str | None = None
    poem_model: str | None = None
    image_model: str | None = None
    style_model: str | None = None
    style_reference: str | None = None
    # Paths relative to DATA_DIR once stored; `image_path` is the final, mood-styled artwork.
    image_path: Path | None = None
    painting_path: Path | None = None
    image_sha256: str | None = None
    width: int = 0
    height: int = 0
    timings: dict[str, float] = field(default_factory=dict)
    engine_notes: dict[str, str] = field(default_factory=dict)
    # What the painter drew and where, and what it could not draw (empty when not recorded).
    scene: dict[str, Any] = field(default_factory=dict)
    # How the artwork was chosen: the poem's emotions and the mood weights drawn from.
    curation: dict[str, Any] = field(default_factory=dict)
    # Where the neural engines ran and in what precision (None when only offline ones ran).
    device: str | None = None
    precision: str | None = None
    # True when the poem came from the grammar writer because the LLM's attempts all failed.
    poem_fallback: bool = False
    # Near-duplicate descriptors: the final image's perceptual hash, the poem's shingle keys.
    image_phash: int | None = None
    poem_keys: tuple[int, ...] = ()
    id: int | None = None
    created_at: datetime | None = None

    @property
    def poem_lines(self) -> list[str]:
        return self.poem.splitlines()
