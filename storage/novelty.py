"""The archive's side of "never repeat": the past artwork nearest a new one, by index.

The poem: past poems sharing the new poem's shingle keys, counted through the poem_keys
index. The image: every stored perceptual hash compared at once (64-bit Hamming distances
in numpy); the hashes are read from their covering index once per process and then topped
up with the rows added since, so a check stays fast at 100,000 artworks.
"""

from __future__ import annotations

import weakref
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from storage.db import Database
from storage.models import ArtworkRow, PoemKeyRow

# SQLite's limit on bound parameters is far above a haiku's few dozen keys; chunk anyway.
_CHUNK = 500


@dataclass(frozen=True)
class Nearest:
    """The closest past poem (share of the new poem's keys it has) and image (bits apart)."""

    poem_id: int | None = None
    poem_shared: float = 0.0
    image_id: int | None = None
    image_bits: int | None = None

    def record(self) -> dict[str, object]:
        """What the artwork keeps of the check."""
        return {
            "nearest_poem": self.poem_id,
            "poem_shared": round(self.poem_shared, 3),
            "nearest_image": self.image_id,
            "image_bits": self.image_bits,
        }


def hash_distances(target: int, hashes: np.ndarray) -> np.ndarray:
    """Hamming distances (bits) from the signed 64-bit `target` to each of `hashes` (int64)."""
    xor = (hashes.astype(np.int64) ^ np.int64(target)).view(np.uint64)
    return np.unpackbits(xor.view(np.uint8).reshape(-1, 8), axis=1).sum(axis=1).astype(np.int64)


class _HashCache:
    """The archive's image hashes as arrays, kept by the process and topped up by id."""

    def __init__(self) -> None:
        self.ids = np.empty(0, np.int64)
        self.hashes = np.empty(0, np.int64)


# One cache per open database: a long-running service reads the 100,000 hashes once, then
# only the rows added since (by primary key), and a cheap count tells it when rows went away.
_CACHES: weakref.WeakKeyDictionary[Database, _HashCache] = weakref.WeakKeyDictionary()


def _stored_hashes(db: Database, session: Session) -> tuple[np.ndarray, np.ndarray]:
    """Ids and perceptual hashes of every archived artwork that has one."""
    has_hash = ArtworkRow.image_phash.is_not(None)
    cache = _CACHES.setdefault(db, _HashCache())
    for attempt in range(2):
        newest = int(cache.ids[-1]) if len(cache.ids) else 0
        rows = session.execute(
            select(ArtworkRow.id, ArtworkRow.image_phash)
            .where(has_hash, ArtworkRow.id > newest)
            .order_by(ArtworkRow.id)
        ).all()
        cache.ids = np.concatenate([cache.ids, np.fromiter((r[0] for r in rows), np.int64)])
        cache.hashes = np.concatenate([cache.hashes, np.fromiter((r[1] for r in rows), np.int64)])
        count = session.scalar(select(func.count()).select_from(ArtworkRow).where(has_hash))
        if count == len(cache.ids) or attempt:
            break
        # Rows were deleted (or rewritten) since: read them all again, once.
        cache = _CACHES[db] = _HashCache()
    return cache.ids, cache.hashes


def nearest_work(db: Database, *, image_phash: int | None, keys: Sequence[int]) -> Nearest:
    """The past artworks nearest a new poem (`keys`) and image (`image_phash`)."""
    poem_id, shared = None, 0.0
    with db.session() as session:
        if keys:
            counts: dict[int, int] = {}
            unique = list(dict.fromkeys(keys))
            for start in range(0, len(unique), _CHUNK):
                chunk = unique[start : start + _CHUNK]
                query = (
                    select(PoemKeyRow.artwork_id, func.count())
                    .where(PoemKeyRow.key.in_(chunk))
                    .group_by(PoemKeyRow.artwork_id)
                )
                for artwork_id, count in session.execute(query):
                    counts[artwork_id] = counts.get(artwork_id, 0) + int(count)
            if counts:
                # The most keys shared; of equals, the newest.
                poem_id = max(counts, key=lambda a: (counts[a], a))
                shared = counts[poem_id] / len(unique)
        image_id, bits = None, None
        if image_phash is not None:
            ids, hashes = _stored_hashes(db, session)
            if len(ids):
                distances = hash_distances(image_phash, hashes)
                best = int(np.argmin(distances))
                image_id, bits = int(ids[best]), int(distances[best])
    return Nearest(poem_id, shared, image_id, bits)
