"""Captions and alt text: the poem, a mood line, hashtags and signature; alt text that describes."""

from __future__ import annotations

from collections.abc import Sequence

ALT_TEXT_LIMIT = 1000  # X's limit for media alt text; Instagram's is larger.


def build_caption(
    poem_lines: Sequence[str], mood_phrase: str, *, hashtags: Sequence[str], signature: str
) -> str:
    """The full caption: poem, a blank line, the mood line, the signature, then hashtags."""
    parts = ["\n".join(line.strip() for line in poem_lines), f"painted in a mood of {mood_phrase}"]
    if signature.strip():
        parts[-1] += f"\n{signature.strip()}"
    if hashtags:
        parts.append(" ".join(hashtags))
    return "\n\n".join(parts)


def build_alt_text(description: str, poem_lines: Sequence[str], mood_phrase: str) -> str:
    """Alt text: what the painting shows, its mood, and the poem it illustrates, quoted."""
    scene = description.strip().rstrip(".") or "an abstract composition of colour and line"
    poem = " / ".join(line.strip() for line in poem_lines)
    text = (
        f"A painting of {scene}, recoloured in the palette of {mood_phrase}. "
        f"It illustrates the haiku: \u201c{poem}\u201d"
    )
    if len(text) > ALT_TEXT_LIMIT:
        text = text[: ALT_TEXT_LIMIT - 1].rstrip() + "\u2026"
    return text
