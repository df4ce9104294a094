"""The inspection page: how an artwork was chosen (candidates and scores, the nearest past
work, the poem's emotions), for the admin view and `kavi inspect ID`."""

from __future__ import annotations

from typing import Any

from core.artwork import Artwork
from storage.db import Database
from storage.errors import NotFoundError
from storage.repository import get_artwork

SCORE_NAMES = ("total", "novelty", "quality", "agreement")


def _maybe(db: Database, artwork_id: object) -> Artwork | None:
    if not isinstance(artwork_id, int):
        return None
    try:
        return get_artwork(db, artwork_id)
    except NotFoundError:
        return None  # deleted since: the page says "none"


def inspection(db: Database, artwork_id: int, *, image: str) -> dict[str, Any]:
    """The template's values for artwork `artwork_id`; `image` is where its picture is."""
    artwork = get_artwork(db, artwork_id)
    curation = artwork.curation
    novelty = curation.get("novelty") or {}
    weights = sorted((curation.get("mood_weights") or {}).items(), key=lambda kv: -kv[1])
    return {
        "artwork": artwork,
        "image": image,
        "candidates": curation.get("candidates") or [],
        "score_names": SCORE_NAMES,
        "novelty": novelty,
        "nearest_poem": _maybe(db, novelty.get("nearest_poem")),
        "nearest_image": _maybe(db, novelty.get("nearest_image")),
        "emotions": curation.get("emotions") or {},
        "mood_from": curation.get("mood_from"),
        "emotions_from": curation.get("emotions_from"),
        "weights": weights,
    }
