"""Never repeat: a draft that nearly repeats a past artwork is refused and redrawn."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from bot.service import MAX_SEED, REDRAW_STEP, Kavi
from generators.novelty import image_hash, poem_keys
from storage.novelty import hash_distances, nearest_work
from storage.repository import get_artwork, store_artwork
from tests.fakes import fake_settings
from tests.storage.samples import make_artwork

SEED = 1234


@pytest.fixture
def kavi(data_dir: Path) -> Iterator[Kavi]:
    bot = Kavi(fake_settings(data_dir, image_size=256, candidates=1))
    yield bot
    bot.close()


def _plant(kavi: Kavi, *, poem: str | None = None, image: Image.Image | None = None) -> int:
    """Archive a past artwork with this poem and/or this image's hash."""
    canvas = Image.new("RGB", (32, 32), (200, 190, 170))
    past = make_artwork(seed=99, poem=poem or "a\nb\nc")
    past = replace(
        past,
        poem_keys=poem_keys(past.poem),
        image_phash=image_hash(image) if image is not None else None,
    )
    stored = store_artwork(kavi.db, kavi.store, past, canvas)
    assert stored.id is not None
    return stored.id


def _draw_seed(monkeypatch: pytest.MonkeyPatch, seed: int) -> None:
    monkeypatch.setattr("bot.service.secrets.randbelow", lambda n: seed)


def test_a_repeated_poem_is_redrawn(kavi: Kavi, monkeypatch: pytest.MonkeyPatch) -> None:
    first = kavi.chain.run(seed=SEED).artwork
    past = _plant(kavi, poem=first.poem)
    _draw_seed(monkeypatch, SEED)
    made = kavi.create_artwork().artwork
    assert made.seed == (SEED + REDRAW_STEP) % MAX_SEED
    assert made.poem != first.poem
    novelty = made.curation["novelty"]
    assert novelty["redraws"] == 1 and novelty["repeats"] == []
    assert novelty["poem_shared"] < 0.5
    stored = get_artwork(kavi.db, made.id or 0)
    assert stored.curation["novelty"] == novelty
    # ...and the refused draft's poem is the past one: the check saw it whole.
    assert nearest_work(kavi.db, image_phash=None, keys=poem_keys(first.poem)).poem_id == past


def test_a_repeated_image_is_redrawn(kavi: Kavi, monkeypatch: pytest.MonkeyPatch) -> None:
    first = kavi.chain.run(seed=SEED)
    _plant(kavi, image=first.image)
    _draw_seed(monkeypatch, SEED)
    made = kavi.create_artwork().artwork
    assert made.seed != SEED
    assert made.curation["novelty"]["redraws"] == 1
    assert made.curation["novelty"]["image_bits"] > 6


def test_a_seed_given_on_purpose_is_made_as_asked(kavi: Kavi) -> None:
    first = kavi.chain.run(seed=SEED).artwork
    past = _plant(kavi, poem=first.poem)
    made = kavi.create_artwork(seed=SEED).artwork
    assert made.seed == SEED
    novelty = made.curation["novelty"]
    assert novelty["repeats"] == ["poem"] and novelty["nearest_poem"] == past
    assert novelty["poem_shared"] == 1.0


def test_when_every_draft_repeats_the_least_alike_is_kept(
    data_dir: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    kavi = Kavi(fake_settings(data_dir, image_size=256, novelty_tries=2, candidates=1))
    try:
        drafts = [kavi.chain.run(seed=(SEED + k * REDRAW_STEP) % MAX_SEED) for k in range(2)]
        for draft in drafts:
            _plant(kavi, poem=draft.artwork.poem)
        _draw_seed(monkeypatch, SEED)
        made = kavi.create_artwork().artwork
        assert made.curation["novelty"]["repeats"] == ["poem"]
        assert "all 2 drafts repeat a past artwork" in caplog.text
    finally:
        kavi.close()


def test_an_empty_archive_has_nothing_near(kavi: Kavi) -> None:
    near = nearest_work(kavi.db, image_phash=123, keys=poem_keys("one\ntwo\nthree"))
    assert (near.poem_id, near.poem_shared, near.image_id, near.image_bits) == (
        None,
        0.0,
        None,
        None,
    )


def test_hash_distance_counts_bits() -> None:
    hashes = np.array([0, 1, -1, 0x0F0F], dtype=np.int64)
    assert hash_distances(0, hashes).tolist() == [0, 1, 64, 8]
    image = Image.fromarray(np.random.default_rng(1).integers(0, 255, (64, 64, 3), np.uint8))
    assert image_hash(image) == image_hash(image.copy())


def test_the_best_of_four_candidates_is_kept_and_all_are_scored(
    data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    kavi = Kavi(fake_settings(data_dir, image_size=256, candidates=4))
    try:
        _draw_seed(monkeypatch, SEED)
        made = kavi.create_artwork().artwork
        candidates = made.curation["candidates"]
        assert [c["seed"] for c in candidates] == [
            (SEED + k * REDRAW_STEP) % MAX_SEED for k in range(4)
        ]
        totals = {c["seed"]: c["scores"]["total"] for c in candidates}
        assert made.seed == max(totals, key=lambda s: totals[s])
        assert made.curation["scores"] == next(
            c["scores"] for c in candidates if c["seed"] == made.seed
        )
        for c in candidates:
            assert set(c["scores"]) == {"novelty", "quality", "agreement", "total"}
            assert all(0.0 <= v <= 1.0 for v in c["scores"].values())
        stored = get_artwork(kavi.db, made.id or 0)
        assert stored.curation["candidates"] == candidates
    finally:
        kavi.close()
    # The same seed over the same (empty) archive gives the same candidates and winner.
    other = Kavi(fake_settings(data_dir.parent / "other", image_size=256, candidates=4))
    try:
        again = other._novel(SEED, None, redraw=True).artwork
        assert again.seed == made.seed and again.curation["candidates"] == candidates
    finally:
        other.close()


def test_a_repeating_candidate_loses_to_a_fresh_one(
    data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    kavi = Kavi(fake_settings(data_dir, image_size=256, candidates=2))
    try:
        first = kavi.chain.run(seed=SEED).artwork
        _plant(kavi, poem=first.poem)
        _draw_seed(monkeypatch, SEED)
        made = kavi.create_artwork().artwork
        assert made.seed == (SEED + REDRAW_STEP) % MAX_SEED
        repeats = {c["seed"]: c["repeats"] for c in made.curation["candidates"]}
        assert repeats == {SEED: ["poem"], made.seed: []}
    finally:
        kavi.close()


def test_the_hash_cache_sees_new_and_deleted_artworks(kavi: Kavi) -> None:
    from sqlalchemy import delete

    from storage.models import ArtworkRow

    rng = np.random.default_rng(5)
    far = Image.fromarray(rng.integers(0, 255, (64, 64, 3), np.uint8))
    near_image = Image.fromarray(np.full((64, 64, 3), 128, np.uint8))
    near_image.paste((20, 20, 20), (0, 0, 32, 64))
    target = image_hash(near_image)
    first = _plant(kavi, image=far)
    assert nearest_work(kavi.db, image_phash=target, keys=()).image_id == first
    second = _plant(kavi, image=near_image)  # added after the cache was filled
    found = nearest_work(kavi.db, image_phash=target, keys=())
    assert (found.image_id, found.image_bits) == (second, 0)
    with kavi.db.session() as session, session.begin():
        session.execute(delete(ArtworkRow).where(ArtworkRow.id == second))
    assert nearest_work(kavi.db, image_phash=target, keys=()).image_id == first
