from __future__ import annotations

from bot.captions import ALT_TEXT_LIMIT, build_alt_text, build_caption

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
