"""Scene parsing: what a poem's words put in the picture, and how it is described."""

from __future__ import annotations

import itertools
import re

from generators.image.scene import (
    CELESTIALS,
    SEASONS,
    TERRAINS,
    TIMES,
    WEATHERS,
    Scene,
    scene_from_poem,
)
from generators.poem.base import Poem


def _poem(*lines: str, imagery: tuple[str, ...] = (), season: str | None = None) -> Poem:
    assert len(lines) == 3
    return Poem(lines=(lines[0], lines[1], lines[2]), engine="test", imagery=imagery, season=season)


def test_moon_in_text_means_a_moonlit_night() -> None:
    scene = scene_from_poem(
        _poem("moonlight on the river", "the old ferry rocks and waits", "no one crosses now")
    )
    assert scene.time_of_day == "night"
    assert scene.celestial == ("moon",)
    assert "river" in scene.terrain
    assert not scene.abstract
    assert "moonlit" in scene.describe()
    assert "at night" in scene.describe()


def test_snow_implies_winter_and_snowfall_and_snowy_mountains() -> None:
    scene = scene_from_poem(
        _poem("snowflakes drifting down", "on the silent mountain peaks", "a heron stands still")
    )
    assert scene.season == "winter"
    assert scene.weather == "snow"
    assert scene.terrain == ("mountains",)
    assert scene.fauna == ("birds",)
    description = scene.describe()
    assert "falling snow" in description
    assert "birds" in description


def test_plurals_and_synonyms_fold_onto_the_vocabulary() -> None:
    scene = scene_from_poem(
        _poem("sakura petals fall", "geese and sparrows cross the lake", "evening comes softly")
    )
    assert "blossoms" in scene.flora
    assert scene.fauna == ("birds",)
    assert "lake" in scene.terrain
    assert scene.time_of_day == "dusk"
    assert scene.season == "spring"
    assert "cherry blossoms" in scene.describe()


def test_imagery_and_poem_season_are_used_even_when_the_text_is_oblique() -> None:
    poem = _poem(
        "it lingers, it goes",
        "I count what the silence keeps",
        "then let it all go",
        imagery=("pine", "mist"),
        season="autumn",
    )
    scene = scene_from_poem(poem)
    assert scene.flora == ("pines",)
    assert scene.weather == "mist"
    assert scene.season == "autumn"
    assert not scene.abstract


def test_leaves_take_their_meaning_from_the_season() -> None:
    autumn = scene_from_poem(
        _poem("leaves on the water", "drifting past the stepping stones", "nothing holds them back")
    )
    assert "maples" not in autumn.flora  # no season known: plain trees
    with_season = scene_from_poem(
        _poem("red leaves on the water", "drifting in the autumn wind", "nothing holds them back")
    )
    assert "maples" in with_season.flora


def test_sunset_puts_a_low_sun_in_a_dusk_sky() -> None:
    scene = scene_from_poem(
        _poem("sunset on the sea", "the last gull turns for the shore", "the tide takes the light")
    )
    assert scene.time_of_day == "dusk"
    assert "sun" in scene.celestial
    assert "sea" in scene.terrain


def test_a_poem_with_no_concrete_images_is_abstract() -> None:
    scene = scene_from_poem(
        _poem("what I meant to say", "remains unsaid between us", "the silence grows long")
    )
    assert scene.abstract
    assert "abstract" in scene.describe()
    assert "abstract" in scene.prompt


def test_describe_and_prompt_are_plain_sentences() -> None:
    scene = Scene(
        time_of_day="night",
        season="winter",
        weather="snow",
        celestial=("moon",),
        terrain=("mountains", "river"),
        flora=("pines",),
    )
    assert scene.describe() == (
        "a moonlit winter river valley at night beneath snowy mountains, "
        "with pine trees and falling snow"
    )
    assert scene.prompt.startswith("moonlit river valley, at night, winter, distant mountains")


def test_the_scene_vocabulary_round_trips_through_imagery() -> None:
    # The LLM writer stores a parsed scene's values as imagery; parsing again keeps them.
    poem = _poem(
        "quiet, so quiet",
        "the old year lets itself go",
        "and I let it too",
        imagery=("bare trees", "pines", "mountains", "birds", "mist"),
    )
    scene = scene_from_poem(poem)
    assert scene.flora == ("pines", "bare trees")
    assert scene.terrain == ("mountains",)
    assert scene.fauna == ("birds",)
    assert scene.weather == "mist"


def article_problem(description: str) -> str | None:
    """What is wrong with the article of a description's leading noun phrase, if anything."""
    phrase = re.split(r",| at | beneath | among ", description)[0].split()
    article = phrase[0] if phrase[0] in ("a", "an") else None
    words = phrase[1:] if article else phrase
    if words[-1].endswith("s"):
        return f"{article!r} before the plural {' '.join(words)!r}" if article else None
    if article is None:
        return f"no article before the singular {' '.join(words)!r}"
    wanted = "an" if words[0][0] in "aeiou" else "a"
    return None if article == wanted else f"{article!r} before {words[0]!r}"


def subsets(values: tuple[str, ...]) -> list[tuple[str, ...]]:
    return [c for n in range(len(values) + 1) for c in itertools.combinations(values, n)]


def test_every_scene_description_takes_the_right_article() -> None:
    # Every light, season, time and subject the describer can word; flora and fauna only
    # add a "with ..." tail, so the grid leaves them out.
    problems = {}
    for time_of_day, season, weather, celestial, terrain in itertools.product(
        TIMES, (None, *SEASONS), WEATHERS, subsets(CELESTIALS), subsets(TERRAINS)
    ):
        scene = Scene(time_of_day, season, weather, celestial, terrain)
        description = scene.describe()
        problem = article_problem(description)
        if problem:
            problems[description] = problem
    assert not problems, f"{len(problems)} descriptions, e.g. {next(iter(problems.items()))}"


def test_plural_and_singular_subjects_read_as_english() -> None:
    assert Scene(season="summer", terrain=("hills",)).describe() == "summer hills"
    assert Scene(season="autumn", terrain=("lake",)).describe() == "an autumn lakeside"
    assert Scene(weather="mist", terrain=("hills",)).describe() == "misty hills"
    assert Scene(season="winter").describe() == "a winter landscape"
