"""Taste from the audience: which moods people respond to, learnt as a Thompson-sampling bandit.

Each measured artwork counts as a success for its mood when its reception score (likes, two
per repost, replies; summed over its posts) reaches the median of all measured artworks. A
mood's Beta(1 + successes, 1 + failures) is sampled each day, seeded, and leans the mood
draw toward what was liked while still exploring: an unmeasured mood samples widely, and on
a share of days (TASTE_EXPLORE) the taste is left out altogether, so Kavi keeps surprising.
Off until TASTE_MIN_ARTWORKS artworks have figures.
"""

from __future__ import annotations

import random
import statistics
from dataclasses import dataclass


@dataclass(frozen=True)
class MoodTaste:
    """What the audience said of one mood: artworks measured, how many were liked, the mean."""

    mood: str
    measured: int
    liked: int

    @property
    def alpha(self) -> float:
        return 1.0 + self.liked

    @property
    def beta(self) -> float:
        return 1.0 + self.measured - self.liked

    @property
    def mean(self) -> float:
        """The posterior mean chance that an artwork in this mood is liked."""
        return self.alpha / (self.alpha + self.beta)


def learn(scores_by_mood: dict[str, list[int]]) -> dict[str, MoodTaste]:
    """Each mood's taste from its artworks' scores (liked: at or above the overall median)."""
    every = [s for scores in scores_by_mood.values() for s in scores]
    if not every:
        return {}
    median = statistics.median(every)
    return {
        mood: MoodTaste(mood, len(scores), sum(1 for s in scores if s >= median and s > 0))
        for mood, scores in sorted(scores_by_mood.items())
    }


@dataclass(frozen=True)
class TasteDraw:
    """The day's lean over the moods (multipliers), or why there is none."""

    lean: dict[str, float]
    note: str

    def record(self) -> dict[str, object]:
        return {"note": self.note, "lean": {m: round(v, 3) for m, v in self.lean.items()}}


def taste_lean(
    tastes: dict[str, MoodTaste],
    allowed: list[str] | tuple[str, ...],
    *,
    seed: int,
    min_artworks: int,
    explore: float,
) -> TasteDraw:
    """Sample each allowed mood's Beta and turn the samples into multipliers for the draw.

    A mood's multiplier is 0.25 + twice its sample (0.25 to 2.25): the audience leans the poem's
    own weights, it never silences a mood.
    """
    measured = sum(t.measured for t in tastes.values())
    if measured < min_artworks:
        return TasteDraw({}, f"off: {measured} of {min_artworks} artworks have figures")
    rng = random.Random(f"taste:{seed}")
    if rng.random() < explore:
        return TasteDraw({}, "a surprise day: the taste is left out")
    lean = {}
    for mood in allowed:
        taste = tastes.get(mood, MoodTaste(mood, 0, 0))
        lean[mood] = 0.25 + 2.0 * rng.betavariate(taste.alpha, taste.beta)
    return TasteDraw(lean, f"on: learnt from {measured} artworks")
