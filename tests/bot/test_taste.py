"""Taste from the audience: the bandit leans toward a mood people like, and still explores."""

from __future__ import annotations

import random
from collections import Counter
from pathlib import Path

from bot.service import Kavi
from bot.taste import MoodTaste, learn, taste_lean
from generators.mood.emotions import draw_mood_for_poem, poem_emotions
from generators.mood.moods import MOOD_NAMES
from tests.fakes import fake_settings

# No word of this poem carries an emotion: the poem alone would draw every mood evenly.
POEM = "one owl on a branch\nthe lake under the bridge\nthe lantern again"


def test_the_simulated_poem_is_neutral() -> None:
    assert poem_emotions(POEM) == {}


def test_liked_moods_learn_a_higher_chance() -> None:
    tastes = learn({"love": [30, 25, 40, 22], "fear": [1, 0, 2, 1], "trust": [10, 12]})
    assert tastes["love"].mean > tastes["trust"].mean > tastes["fear"].mean
    assert tastes["fear"].liked == 0 and tastes["love"].liked == 4
    assert learn({}) == {}


def test_off_until_enough_artworks_have_figures() -> None:
    tastes = learn({"love": [5, 6]})
    draw = taste_lean(tastes, MOOD_NAMES, seed=1, min_artworks=30, explore=0.2)
    assert draw.lean == {} and draw.note == "off: 2 of 30 artworks have figures"


def test_the_bandit_moves_toward_what_the_audience_rewards_and_still_explores() -> None:
    """A simulated year: the audience loves 'love' paintings and ignores the rest."""
    audience = random.Random(3)
    scores: dict[str, list[int]] = {}
    drawn: list[str] = []
    for day in range(365):
        lean = taste_lean(learn(scores), MOOD_NAMES, seed=day, min_artworks=20, explore=0.2)
        mood = draw_mood_for_poem(POEM, day, MOOD_NAMES, lean=lean.lean).mood.name
        drawn.append(mood)
        liked = audience.random() < (0.9 if mood == "love" else 0.1)
        scores.setdefault(mood, []).append(audience.randint(20, 40) if liked else 0)
    assert learn(scores)["love"].mean > 0.7
    first, last = Counter(drawn[:60]), Counter(drawn[-120:])
    assert last["love"] / 120 > 2 * first["love"] / 60  # it learnt
    assert last["love"] / 120 < 0.6  # ...without collapsing into one look
    assert len(last) >= 8  # other moods still appear


def test_a_surprise_day_leaves_the_taste_out() -> None:
    tastes = {m: MoodTaste(m, 10, 5) for m in MOOD_NAMES}
    days = [taste_lean(tastes, MOOD_NAMES, seed=s, min_artworks=1, explore=0.2) for s in range(500)]
    surprises = sum(1 for d in days if not d.lean)
    assert 60 < surprises < 140  # about a fifth
    assert all(0.25 <= v <= 2.25 for d in days for v in d.lean.values())


def test_the_run_records_whether_the_taste_leaned_it(tmp_path: Path) -> None:
    kavi = Kavi(fake_settings(tmp_path / "data", image_size=256, candidates=1))
    try:
        made = kavi.create_artwork().artwork
        assert made.curation["taste"] == {"note": "off: 0 of 30 artworks have figures", "lean": {}}
    finally:
        kavi.close()
    plain = Kavi(fake_settings(tmp_path / "plain", image_size=256, candidates=1, taste=False))
    try:
        assert "taste" not in plain.create_artwork().artwork.curation
    finally:
        plain.close()
