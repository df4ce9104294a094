"""The 20 WikiArt-Emotions moods, each with a palette, a phrase and a repaint prompt."""

from __future__ import annotations

import random
from dataclasses import dataclass
from pathlib import Path

from core.errors import ConfigError

STYLE_IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".webp")


@dataclass(frozen=True)
class Mood:
    """A mood: its name, a palette of five sRGB colours (dark to light), and its words."""

    name: str
    palette: tuple[str, str, str, str, str]
    # Used in captions and alt text: "in a mood of <phrase>".
    phrase: str
    # Used by neural stylists as the img2img prompt.
    prompt: str

    def palette_rgb(self) -> list[tuple[int, int, int]]:
        return [(int(c[1:3], 16), int(c[3:5], 16), int(c[5:7], 16)) for c in self.palette]


def _m(name: str, palette: tuple[str, str, str, str, str], phrase: str, prompt: str) -> Mood:
    return Mood(name, palette, phrase, prompt)


MOODS: dict[str, Mood] = {
    m.name: m
    for m in (
        _m(
            "gratitude",
            ("#3b2a1a", "#8a5a2b", "#d89a4e", "#f2cf8b", "#fff3d6"),
            "quiet gratitude",
            "warm golden afternoon light, thankful, gentle glow",
        ),
        _m(
            "happiness",
            ("#23415a", "#e0533d", "#f5a623", "#f8e16c", "#fffbe8"),
            "bright happiness",
            "joyful bright colours, sunny, playful brushwork",
        ),
        _m(
            "humility",
            ("#2f2b26", "#6b6358", "#a39a8a", "#d4ccbd", "#f1ede4"),
            "humility",
            "muted earth tones, simple, modest, soft daylight",
        ),
        _m(
            "love",
            ("#3d0c1e", "#8c1c3a", "#d6456b", "#f29bb0", "#fde3ea"),
            "tender love",
            "rose and crimson tones, tender, romantic, soft focus",
        ),
        _m(
            "optimism",
            ("#1d3b53", "#2e8bc0", "#7cc6a4", "#f6d860", "#fdf7e1"),
            "optimism",
            "fresh morning light, clear sky blues and greens, hopeful",
        ),
        _m(
            "trust",
            ("#14283f", "#2c5d87", "#5b9ac4", "#a9d1e8", "#eef6fb"),
            "steady trust",
            "calm steady blues, balanced composition, serene",
        ),
        _m(
            "anger",
            ("#1a0505", "#5e0b0b", "#b3200e", "#f0531c", "#ffb347"),
            "anger",
            "fiery reds and black, violent brushstrokes, burning",
        ),
        _m(
            "arrogance",
            ("#1b1030", "#4b2a7b", "#8e44ad", "#d4af37", "#f7e7a1"),
            "arrogance",
            "imperial purple and gold, grand, theatrical lighting",
        ),
        _m(
            "disgust",
            ("#1f2410", "#4a5218", "#7d8a2e", "#b3b15a", "#dcd9a0"),
            "disgust",
            "sickly olive and bile greens, murky, decaying",
        ),
        _m(
            "fear",
            ("#05070d", "#141b2d", "#2b3a55", "#5d6d7e", "#a3b1c2"),
            "fear",
            "cold dark night blues, deep shadows, eerie mist",
        ),
        _m(
            "pessimism",
            ("#1c1c1e", "#3a3a3c", "#5f6368", "#8e9196", "#c7c9cc"),
            "pessimism",
            "overcast greys, heavy sky, drained colour",
        ),
        _m(
            "regret",
            ("#201a2b", "#4a3f5c", "#7a6a8f", "#b6a6c9", "#e4dcec"),
            "regret",
            "faded lavender dusk, wistful, fading light",
        ),
        _m(
            "sadness",
            ("#0b1526", "#1f3a5f", "#41658a", "#88a4c0", "#d1dce8"),
            "sadness",
            "melancholy blue hour, rain-soaked, soft grief",
        ),
        _m(
            "shame",
            ("#24110f", "#5a2a24", "#8f4b3e", "#c08878", "#e8cfc6"),
            "shame",
            "dim flushed browns and dusky pinks, hidden, downcast",
        ),
        _m(
            "agreeableness",
            ("#233a2b", "#4f7a57", "#8fbf88", "#d5e8b5", "#f7fbe9"),
            "agreeableness",
            "soft sage greens, pastoral harmony, warm and kind",
        ),
        _m(
            "anticipation",
            ("#14213d", "#3d5a80", "#ee6c4d", "#f4a261", "#fde8cf"),
            "anticipation",
            "dawn about to break, orange glow on the horizon, expectant",
        ),
        _m(
            "disagreeableness",
            ("#1a1f1c", "#3b4a3f", "#8c3b2a", "#c7782f", "#e0c48a"),
            "disagreeableness",
            "clashing rust and moss, harsh contrast, jagged",
        ),
        _m(
            "surprise",
            ("#1b1b3a", "#693668", "#e84a5f", "#ffc93c", "#f7f7ff"),
            "surprise",
            "sudden vivid magenta and yellow, burst of light, electric",
        ),
        _m(
            "shyness",
            ("#3a3340", "#7d6f86", "#c3aed6", "#f2d7e2", "#fcf6f9"),
            "shyness",
            "pale blush pastels, veiled, half-hidden, delicate",
        ),
        _m(
            "neutral",
            ("#2b2b2b", "#5c5c5c", "#8f8f8f", "#c2c2c2", "#ededed"),
            "calm neutrality",
            "balanced natural colours, even light, understated",
        ),
    )
}

MOOD_NAMES: tuple[str, ...] = tuple(MOODS)


def get_mood(name: str) -> Mood:
    """Return the mood called `name`, or raise ConfigError listing the allowed names."""
    try:
        return MOODS[name.strip().lower()]
    except KeyError:
        raise ConfigError(
            f"unknown mood {name!r}; choose one of: {', '.join(MOOD_NAMES)}"
        ) from None


def draw_mood(seed: int, allowed: tuple[str, ...] | list[str] = MOOD_NAMES) -> Mood:
    """Draw a mood at random from `allowed`, reproducibly for a seed."""
    if not allowed:
        raise ConfigError("the list of moods to draw from is empty")
    rng = random.Random(f"mood:{seed}")
    return get_mood(rng.choice(list(allowed)))


def style_images(style_dir: Path | None, mood: str) -> list[Path]:
    """The style images for `mood` under `style_dir/<mood>/`, sorted, or [] when there are none."""
    if style_dir is None:
        return []
    folder = style_dir / mood
    if not folder.is_dir():
        return []
    return sorted(
        p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in STYLE_IMAGE_SUFFIXES
    )


def pick_style_image(style_dir: Path | None, mood: str, seed: int) -> Path | None:
    """Pick one style image for the mood, reproducibly for a seed; None when there is none."""
    candidates = style_images(style_dir, mood)
    if not candidates:
        return None
    return random.Random(f"style:{seed}:{mood}").choice(candidates)
