"""The mood of a poem: the NRC lexicon's emotions lean the draw toward the matching moods."""

from __future__ import annotations

from collections import Counter

import pytest

from core.errors import ConfigError
from generators.mood.emotions import draw_mood_for_poem, mood_weights, poem_emotions
from generators.mood.moods import MOOD_NAMES

SAD = "the thin ice cracks once\nalone in the cold dying light\nthe grave of the dark year"
GLAD = "cherry blossoms bloom\njoyful children laughing\nwarm bright spring morning"
SAD_MOODS = {"sadness", "regret", "pessimism", "shame", "fear", "disagreeableness", "disgust"}


def test_a_sad_poem_leans_to_the_sad_moods() -> None:
    emotions = poem_emotions(SAD)
    assert emotions["sadness"] >= 2 and emotions["negative"] >= 2
    weights = mood_weights(emotions, MOOD_NAMES)
    assert sum(weights.values()) == pytest.approx(1.0, abs=1e-3)
    assert sum(weights[m] for m in SAD_MOODS) > 0.6
    assert weights["sadness"] > weights["happiness"] * 5
    # Drawn over many days, the sad moods win most of them, yet not all.
    drawn = Counter(draw_mood_for_poem(SAD, seed, MOOD_NAMES).mood.name for seed in range(400))
    sad_share = sum(drawn[m] for m in SAD_MOODS) / 400
    assert 0.6 < sad_share < 0.98


def test_a_glad_poem_leans_the_other_way() -> None:
    weights = mood_weights(poem_emotions(GLAD), MOOD_NAMES)
    glad = weights["happiness"] + weights["optimism"] + weights["gratitude"] + weights["love"]
    assert glad > 0.45 and weights["sadness"] < 0.03


def test_no_emotional_word_keeps_the_even_draw() -> None:
    assert poem_emotions("one owl\nthe lake") == {}
    weights = mood_weights({}, ["fear", "love"])
    assert weights == {"fear": 0.5, "love": 0.5}


def test_the_draw_is_seeded_and_keeps_to_the_allowed_moods() -> None:
    first = draw_mood_for_poem(SAD, 7, ["love", "trust", "sadness"])
    again = draw_mood_for_poem(SAD, 7, ["love", "trust", "sadness"])
    assert first == again
    assert set(first.weights) == {"love", "trust", "sadness"}
    assert first.record()["emotions"] == first.emotions
    with pytest.raises(ConfigError, match="list of moods to draw from is empty"):
        draw_mood_for_poem(SAD, 7, [])
