from __future__ import annotations

from bot.captions import ALT_TEXT_LIMIT, build_alt_text, build_caption
from generators.image.scene import scene_from_poem
from generators.mood.moods import get_mood
from generators.poem.grammar import GrammarPoemWriter
from generators.poem.grammar import _bank as word_bank
from tests.generators.test_scene import article_problem

LINES = ("winter moonlight", "a heron stands in the reeds", "the river is still")


def test_caption_has_poem_mood_signature_and_hashtags() -> None:
    caption = build_caption(LINES, "sadness", hashtags=["#haiku", "#aiart"], signature="— Kavi")
    assert caption == (
        "winter moonlight\na heron stands in the reeds\nthe river is still\n\n"
        "painted in a mood of sadness\n— Kavi\n\n#haiku #aiart"
    )


def test_caption_without_signature_or_tags() -> None:
    caption = build_caption(LINES, "love", hashtags=[], signature=" ")
    assert caption.endswith("painted in a mood of love")


def test_alt_text_describes_and_quotes() -> None:
    alt = build_alt_text("a moonlit river at night", LINES, "sadness")
    assert alt.startswith(
        "A painting of a moonlit river at night, recoloured in the palette of sadness."
    )
    assert "\u201cwinter moonlight / a heron stands in the reeds / the river is still\u201d" in alt


def test_alt_text_is_bounded_and_never_empty() -> None:
    assert "abstract composition" in build_alt_text("", LINES, "fear")
    assert len(build_alt_text("x" * 5000, LINES, "fear")) <= ALT_TEXT_LIMIT


def test_alt_text_of_every_word_bank_pairing_reads_as_english() -> None:
    # Seeds 0..N-1 visit each of the word bank's N opening/closing pairs once.
    writer = GrammarPoemWriter()
    problems = {}
    for seed in range(len(word_bank().pairs)):
        poem = writer.write(seed=seed)
        alt = build_alt_text(scene_from_poem(poem).describe(), poem.lines, "wonder")
        scene = alt.removeprefix("A painting of ").split(", recoloured")[0]
        abstract = scene.startswith("an abstract ")
        if "painting" in scene if abstract else article_problem(scene):
            problems[seed] = alt
    assert not problems, f"{len(problems)} seeds, e.g. {next(iter(problems.items()))}"


def test_alt_text_of_the_summer_hills_seed() -> None:
    poem = GrammarPoemWriter().write(seed=679521906)
    alt = build_alt_text(scene_from_poem(poem).describe(), poem.lines, get_mood("surprise").phrase)
    assert alt.startswith("A painting of summer hills at dawn, with birds in flight, ")
