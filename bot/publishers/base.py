"""The Publisher protocol, the draft it sends, and the caption fitting every platform shares."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Protocol, runtime_checkable

if TYPE_CHECKING:
    from core.artwork import Artwork

ELLIPSIS = "\u2026"
_MEDIA_TYPES = {".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg"}
_HASHTAG = re.compile(r"#\w+")


@dataclass(frozen=True)
class Draft:
    """Exactly what would be sent to one platform: the file bytes, caption and alt text."""

    platform: str
    filename: str
    media: bytes
    caption: str
    alt_text: str
    notes: tuple[str, ...] = ()

    @property
    def media_type(self) -> str:
        return _MEDIA_TYPES.get(Path(self.filename).suffix.lower(), "application/octet-stream")


@dataclass(frozen=True)
class PostResult:
    """Where a post landed: the platform's id for it and a link a person can open."""

    remote_id: str
    url: str | None = None


@runtime_checkable
class Publisher(Protocol):
    """One platform Kavi posts to.

    `fit` turns an artwork into the exact upload (image format and size, caption, alt text)
    without touching the network. `publish` sends a draft and raises, from the
    `PublishError` family, `NotSent` (nothing went out: safe to retry), `MaybeSent` (the
    request may have been accepted: reconcile, never re-send) or anything else for a
    permanent failure. `find_existing` looks the draft up among the account's recent posts,
    so a post whose outcome is unknown can be reconciled.
    """

    name: str

    def fit(self, artwork: Artwork, image_path: Path) -> Draft: ...

    def publish(self, draft: Draft) -> PostResult: ...

    def find_existing(self, draft: Draft) -> PostResult | None: ...


# --- fitting ---------------------------------------------------------------------------------


def hashtags_in(text: str) -> list[str]:
    return _HASHTAG.findall(text)


def fit_caption(
    caption: str, *, fits: Callable[[str], bool], max_hashtags: int | None = None
) -> tuple[str, tuple[str, ...]]:
    """Shorten a caption until `fits` accepts it, dropping the least important parts first.

    A caption is paragraphs separated by blank lines: the poem first, a trailing paragraph of
    hashtags last. Hashtags go first (beyond `max_hashtags`, then from the end), then trailing
    paragraphs, and only then is the poem itself cut, with an ellipsis. Returns the caption
    and notes saying what was left out.
    """
    paragraphs = [p for p in caption.strip().split("\n\n") if p.strip()]
    tags: list[str] = []
    if len(paragraphs) > 1 and all(w.startswith("#") for w in paragraphs[-1].split()):
        tags = paragraphs.pop().split()
    notes: list[str] = []
    if max_hashtags is not None and len(tags) > max_hashtags:
        notes.append(f"kept the first {max_hashtags} of {len(tags)} hashtags (platform limit)")
        tags = tags[:max_hashtags]

    def compose(body: list[str], kept: list[str]) -> str:
        return "\n\n".join([*body, *([" ".join(kept)] if kept else [])])

    dropped_tags = 0
    while tags and not fits(compose(paragraphs, tags)):
        tags.pop()
        dropped_tags += 1
    if dropped_tags:
        notes.append(f"left out {dropped_tags} hashtag(s) to fit the length limit")
    dropped = 0
    while len(paragraphs) > 1 and not fits(compose(paragraphs, tags)):
        paragraphs.pop()
        dropped += 1
    if dropped:
        notes.append(f"left out the last {dropped} paragraph(s) to fit the length limit")
    text = compose(paragraphs, tags)
    if not fits(text):
        text = _truncate(text, fits)
        notes.append("cut the caption short to fit the length limit")
    return text, tuple(notes)


def _truncate(text: str, fits: Callable[[str], bool]) -> str:
    """The longest prefix of `text` (plus an ellipsis) that fits, found by bisection."""
    low, high = 0, len(text)
    while low < high:
        middle = (low + high + 1) // 2
        if fits(text[:middle].rstrip() + ELLIPSIS):
            low = middle
        else:
            high = middle - 1
    return text[:low].rstrip() + ELLIPSIS


def fit_alt_text(alt_text: str, limit: int) -> str:
    text = alt_text.strip()
    return text if len(text) <= limit else text[: limit - 1].rstrip() + ELLIPSIS


def normalise_caption(text: str) -> str:
    """A caption reduced to what survives a platform's own rewriting, for matching posts."""
    import html
    import unicodedata

    text = html.unescape(unicodedata.normalize("NFC", text))
    return " ".join(text.split())
