"""The mood of a poem: its words' emotions (the NRC lexicon) mapped onto the 20 moods.

The NRC Word-Emotion Association Lexicon (Mohammad and Turney, 2013), as the NRCLex package
ships it, tags about 6,500 English words with Plutchik's eight emotions and a polarity. A
poem's tags, counted, become weights over the WikiArt-Emotions moods, and the day's mood is
drawn from those weights (seeded), so "the thin ice cracks once" leans to the cold moods
instead of a coin toss. A poem with no tagged word keeps the even draw.
"""

from __future__ import annotations

import functools
import random
import re
from collections import Counter
from dataclasses import dataclass

from generators.mood.moods import Mood, get_mood

# How each NRC tag leans the moods: its own mood first, its near kin after.
TAG_TO_MOODS: dict[str, dict[str, float]] = {
    "joy": {"happiness": 1.0, "gratitude": 0.5, "love": 0.5, "optimism": 0.5},
    "trust": {"trust": 1.0, "agreeableness": 0.5, "gratitude": 0.3, "humility": 0.3},
    "fear": {"fear": 1.0, "shyness": 0.4, "pessimism": 0.3},
    "anger": {"anger": 1.0, "disagreeableness": 0.5, "disgust": 0.3, "arrogance": 0.3},
    "sadness": {"sadness": 1.0, "regret": 0.6, "pessimism": 0.5, "shame": 0.3},
    "disgust": {"disgust": 1.0, "disagreeableness": 0.5, "shame": 0.3},
    "surprise": {"surprise": 1.0, "anticipation": 0.3},
    "anticipation": {"anticipation": 1.0, "optimism": 0.5},
    "positive": {"optimism": 0.3, "agreeableness": 0.3, "gratitude": 0.2, "love": 0.2},
    "negative": {"pessimism": 0.3, "regret": 0.2, "sadness": 0.2, "disagreeableness": 0.2},
}
# This share of the weight is spread evenly over the allowed moods, so a poem leans the draw
# without fixing it: Kavi still surprises.
EVEN_SHARE = 0.2
_WORD = re.compile(r"[a-z]+")


@functools.cache
def _lexicon() -> dict[str, list[str]]:
    from nrclex import NRCLex

    # `load_token_list` reads the bundled lexicon; TextBlob (and its downloads) stay unused.
    probe = NRCLex()
    return probe.__lexicon__


def _lexicon_form(word: str, lexicon: dict[str, list[str]]) -> str | None:
    """The lexicon's entry for `word` or a plain form of it ("blossoms" -> "blossom")."""
    forms = [word]
    if word.endswith("ies"):
        forms.append(word[:-3] + "y")
    if word.endswith("es"):
        forms.append(word[:-2])
    if word.endswith("s"):
        forms.append(word[:-1])
    if word.endswith("ing"):
        forms += [word[:-3], word[:-3] + "e"]
    if word.endswith("ed"):
        forms += [word[:-2], word[:-1]]
    return next((form for form in forms if form in lexicon), None)


def poem_emotions(text: str) -> dict[str, int]:
    """How many of the poem's words carry each NRC tag (only tags that occur)."""
    from nrclex import NRCLex

    lexicon = _lexicon()
    tokens = [
        form for word in _WORD.findall(text.lower()) if (form := _lexicon_form(word, lexicon))
    ]
    reader = NRCLex()
    reader.load_token_list(tokens)
    return dict(sorted(Counter(reader.affect_list).items()))


@dataclass(frozen=True)
class MoodDraw:
    """The drawn mood, the poem's emotion counts and the weights it was drawn from."""

    mood: Mood
    emotions: dict[str, int]
    weights: dict[str, float]

    def record(self) -> dict[str, object]:
        """What the artwork keeps of the draw."""
        return {"emotions": self.emotions, "mood_weights": self.weights}


def mood_weights(
    emotions: dict[str, int], allowed: tuple[str, ...] | list[str]
) -> dict[str, float]:
    """Weights over the allowed moods (summing to 1): the emotions' lean plus a floor each."""
    lean = dict.fromkeys(allowed, 0.0)
    for tag, count in emotions.items():
        for mood, weight in TAG_TO_MOODS.get(tag, {}).items():
            if mood in lean:
                lean[mood] += weight * count
    total = sum(lean.values())
    if total == 0:
        return {mood: round(1.0 / len(lean), 4) for mood in lean}
    even = EVEN_SHARE / len(lean)
    return {
        mood: round(even + (1.0 - EVEN_SHARE) * value / total, 4) for mood, value in lean.items()
    }


def draw_mood_for_poem(
    text: str,
    seed: int,
    allowed: tuple[str, ...] | list[str],
    *,
    lean: dict[str, float] | None = None,
) -> MoodDraw:
    """Draw a mood from the poem's emotions, reproducibly for a seed.

    `lean`, when given, multiplies each mood's weight (the audience's taste) before the draw.
    """
    if not allowed:
        from core.errors import ConfigError

        raise ConfigError("the list of moods to draw from is empty")
    emotions = poem_emotions(text)
    weights = mood_weights(emotions, list(allowed))
    if lean:
        leaned = {m: w * lean.get(m, 1.0) for m, w in weights.items()}
        total = sum(leaned.values()) or 1.0
        weights = {m: round(w / total, 4) for m, w in leaned.items()}
    names = list(weights)
    chosen = random.Random(f"mood:{seed}").choices(names, [weights[n] for n in names])[0]
    return MoodDraw(get_mood(chosen), emotions, weights)
