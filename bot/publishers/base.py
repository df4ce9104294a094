"""The Publisher protocol, the draft it sends, and the caption fitting every platform shares."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Protocol, runtime_checkable

if TYPE_CHECKING:
    from PIL.Image import Image

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
    # Where the picture's subject is, for platforms that crop previews: (x, y) in -1..1,
    # Mastodon's convention (origin at the centre, y up).
    focus: tuple[float, float] | None = None
    # Where a platform that fetches the image itself (Instagram's Graph API) finds it.
    source_url: str | None = None
    # Names the post row it is sent for (set by the publish state machine, not by `fit`):
    # platforms that take an idempotency key derive it from this, so a request retried for
    # the same row can never make a second post.
    post_key: str = ""
    # What an earlier attempt for the same row saved with `save_checkpoint` (Instagram's media
    # container), so a retry resumes it rather than making a second post.
    checkpoint: str | None = None
    save_checkpoint: Callable[[str], object] | None = field(default=None, compare=False, repr=False)

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


def focus_point(artwork: Artwork, width: int, height: int) -> tuple[float, float] | None:
    """The centre of the first subject the painter drew, as (x, y) in -1..1 with y up."""
    drawn = artwork.scene.get("drawn")
    if not isinstance(drawn, list) or not drawn or width <= 0 or height <= 0:
        return None
    box = drawn[0].get("box") if isinstance(drawn[0], dict) else None
    if not isinstance(box, list) or len(box) != 4:
        return None
    # The box is in the painting's pixels; the artwork may have been resized since.
    source_w, source_h = (artwork.width or width), (artwork.height or height)
    left, top, right, bottom = (float(v) for v in box)
    x = (left + right) / 2 / source_w * 2 - 1
    y = 1 - (top + bottom) / 2 / source_h * 2
    return round(min(max(x, -1.0), 1.0), 2), round(min(max(y, -1.0), 1.0), 2)


def jpeg_within(data: bytes, limit: int) -> tuple[bytes, tuple[str, ...]]:
    """An image's bytes as a JPEG of at most `limit` bytes; never fails on a large painting.

    The best quality that fits is found by bisection (60 to 95); when even quality 60 is too
    large, the image is scaled down by the square root of how much too large it is (pixels
    and bytes go roughly together), and searched again.
    """
    import io
    import math

    from PIL import Image

    with Image.open(io.BytesIO(data)) as opened:
        image = opened.convert("RGB")
    notes: list[str] = []
    while True:
        low, high, best = 60, 95, None
        smallest = _jpeg(image, low)
        if len(smallest) <= limit:
            while low <= high:
                quality = (low + high) // 2
                encoded = smallest if quality == 60 else _jpeg(image, quality)
                if len(encoded) <= limit:
                    best, low = (encoded, quality), quality + 1
                else:
                    high = quality - 1
        if best is not None:
            notes.append(f"JPEG at quality {best[1]}, {len(best[0])} bytes (limit {limit})")
            return best[0], tuple(notes)
        if min(image.size) <= 16:
            raise ValueError(f"`limit` of {limit} bytes is too small for any image")
        scale = min(0.9, math.sqrt(limit / len(smallest)) * 0.95)
        size = (max(16, int(image.width * scale)), max(16, int(image.height * scale)))
        image = image.resize(size, Image.Resampling.LANCZOS)
        notes = [f"scaled down to {size[0]}x{size[1]} to fit {limit} bytes"]


def _jpeg(image: Image, quality: int) -> bytes:
    """A sRGB JPEG (4:4:4), optimised when Pillow's optimising encoder can hold it.

    That encoder needs the whole file in one buffer of width x height bytes, which a very
    busy picture outgrows (libjpeg then fails, "Suspension not allowed"); the plain
    encoder streams, and its size says whether the optimised one (never larger) fits.
    """
    import io

    from storage.files import jpeg_bytes

    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=quality, subsampling=0)
    plain = buffer.getvalue()
    if len(plain) < image.width * image.height:
        return jpeg_bytes(image, quality=quality)
    return plain


def fit_alt_text(alt_text: str, limit: int) -> str:
    text = alt_text.strip()
    return text if len(text) <= limit else text[: limit - 1].rstrip() + ELLIPSIS


def normalise_caption(text: str) -> str:
    """A caption reduced to what survives a platform's own rewriting, for matching posts."""
    import html
    import unicodedata

    text = html.unescape(unicodedata.normalize("NFC", text))
    return " ".join(text.split())
