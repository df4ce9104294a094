"""The mood of a poem: its emotions (the NRC lexicon, or a GoEmotions classifier on disk)
mapped onto the 20 moods.

The NRC Word-Emotion Association Lexicon (Mohammad and Turney, 2013), as the NRCLex package
ships it, tags about 6,500 English words with Plutchik's eight emotions and a polarity. A
poem's tags, counted, become weights over the WikiArt-Emotions moods, and the day's mood is
drawn from those weights (seeded), so "the thin ice cracks once" leans to the cold moods
instead of a coin toss. A poem with no tagged word keeps the even draw.

When a text-emotion classifier trained on GoEmotions (28 labels; `EMOTION_MODEL`, by default
SamLowe/roberta-base-go_emotions, MIT) is on disk with the neural extra, its label scores
lean the draw instead: it reads the poem whole, not word by word.
"""

from __future__ import annotations

import functools
import random
import re
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

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
# GoEmotions' labels onto the moods ("neutral" leans to neutral; the rest to their kin).
GO_EMOTIONS_TO_MOODS: dict[str, dict[str, float]] = {
    "admiration": {"trust": 0.6, "gratitude": 0.4},
    "amusement": {"happiness": 1.0},
    "anger": {"anger": 1.0},
    "annoyance": {"disagreeableness": 0.7, "anger": 0.3},
    "approval": {"agreeableness": 1.0},
    "caring": {"love": 0.6, "agreeableness": 0.4},
    "confusion": {"surprise": 0.5, "shyness": 0.5},
    "curiosity": {"anticipation": 1.0},
    "desire": {"love": 0.6, "anticipation": 0.4},
    "disappointment": {"regret": 0.6, "pessimism": 0.4},
    "disapproval": {"disagreeableness": 1.0},
    "disgust": {"disgust": 1.0},
    "embarrassment": {"shame": 0.6, "shyness": 0.4},
    "excitement": {"anticipation": 0.5, "happiness": 0.5},
    "fear": {"fear": 1.0},
    "gratitude": {"gratitude": 1.0},
    "grief": {"sadness": 0.7, "regret": 0.3},
    "joy": {"happiness": 1.0},
    "love": {"love": 1.0},
    "nervousness": {"fear": 0.5, "shyness": 0.5},
    "optimism": {"optimism": 1.0},
    "pride": {"arrogance": 0.6, "optimism": 0.4},
    "realization": {"surprise": 0.6, "humility": 0.4},
    "relief": {"gratitude": 0.5, "optimism": 0.5},
    "remorse": {"regret": 0.6, "shame": 0.4},
    "sadness": {"sadness": 1.0},
    "surprise": {"surprise": 1.0},
    "neutral": {"neutral": 0.7, "humility": 0.3},
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
    emotions: Mapping[str, float]
    weights: dict[str, float]
    # Where the emotions came from: "NRC lexicon" or the classifier's model id.
    source: str = "NRC lexicon"

    def record(self) -> dict[str, object]:
        """What the artwork keeps of the draw."""
        return {
            "emotions": self.emotions,
            "mood_weights": self.weights,
            "emotions_from": self.source,
        }


def mood_weights(
    emotions: Mapping[str, float],
    allowed: tuple[str, ...] | list[str],
    table: Mapping[str, Mapping[str, float]] = TAG_TO_MOODS,
) -> dict[str, float]:
    """Weights over the allowed moods (summing to 1): the emotions' lean plus an even share.

    `emotions` are the lexicon's tag counts, or a classifier's label scores with its `table`.
    """
    lean = dict.fromkeys(allowed, 0.0)
    for tag, count in emotions.items():
        for mood, weight in table.get(tag, {}).items():
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
    classifier: str | None = None,
) -> MoodDraw:
    """Draw a mood from the poem's emotions, reproducibly for a seed.

    `classifier`, when given, is a GoEmotions model folder or id on disk to read the emotions
    with; else the NRC lexicon. `lean`, when given, multiplies each mood's weight (the
    audience's taste) before the draw.
    """
    if not allowed:
        from core.errors import ConfigError

        raise ConfigError("the list of moods to draw from is empty")
    emotions: Mapping[str, float]
    if classifier:
        emotions = classifier_emotions(text, classifier)
        weights = mood_weights(emotions, list(allowed), GO_EMOTIONS_TO_MOODS)
        source = classifier
    else:
        emotions = poem_emotions(text)
        weights = mood_weights(emotions, list(allowed))
        source = "NRC lexicon"
    if lean:
        leaned = {m: w * lean.get(m, 1.0) for m, w in weights.items()}
        total = sum(leaned.values()) or 1.0
        weights = {m: round(w / total, 4) for m, w in leaned.items()}
    names = list(weights)
    chosen = random.Random(f"mood:{seed}").choices(names, [weights[n] for n in names])[0]
    return MoodDraw(get_mood(chosen), emotions, weights, source)


@functools.cache
def _classifier(folder: str) -> Any:
    from transformers import pipeline

    return pipeline("text-classification", model=folder, tokenizer=folder, device="cpu")


def classifier_emotions(text: str, model: str) -> dict[str, float]:
    """The GoEmotions classifier's score for each label it gives (over 0.01), never downloading."""
    from generators.models import local_model_path

    folder = local_model_path(model, kind="classifier")
    scores = _classifier(str(folder))(" / ".join(text.splitlines()), top_k=None)
    return {d["label"]: round(float(d["score"]), 4) for d in scores if d["score"] > 0.01}
