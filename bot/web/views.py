"""What the gallery shows, built once from the archive for the HTML pages, the JSON twins,
the feed and the static export alike (so the four never disagree).

Only what a follower may see: an artwork, and each platform's post as its state and link.
Errors, attempts and remote ids are the owner's, shown only on the admin page.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from bot.publishers.registry import publisher_label
from core.artwork import Artwork
from storage.gallery import GalleryFilter, GalleryPage
from storage.models import PostState
from storage.repository import PostInfo

PAGE_SIZE = 24
FEED_SIZE = 30
_MONTH = re.compile(r"(\d{4})-(0[1-9]|1[0-2])")


class Links(Protocol):
    """Where each page and file lives: served paths live, relative files in an export."""

    def artwork(self, artwork_id: int) -> str: ...
    def image(self, artwork_id: int) -> str: ...
    def thumbnail(self, artwork_id: int) -> str: ...
    def home(self) -> str: ...
    def feed(self) -> str: ...
    def static(self, name: str) -> str: ...


class LiveLinks:
    """Links for the running server: absolute paths under the site's root path."""

    def __init__(self, root: str = "") -> None:
        self.root = root.rstrip("/")

    def artwork(self, artwork_id: int) -> str:
        return f"{self.root}/artworks/{artwork_id}"

    def image(self, artwork_id: int) -> str:
        return f"{self.root}/images/{artwork_id}.png"

    def thumbnail(self, artwork_id: int) -> str:
        return f"{self.root}/thumbnails/{artwork_id}.jpg"

    def home(self, **query: Any) -> str:
        kept = {k: v for k, v in query.items() if v not in (None, "")}
        return f"{self.root}/" + (f"?{urlencode(kept)}" if kept else "")

    def feed(self) -> str:
        return f"{self.root}/feed.xml"

    def static(self, name: str) -> str:
        return f"{self.root}/static/{name}"


def parse_month(text: str, tz: str) -> tuple[datetime, datetime]:
    """`YYYY-MM` as the [start, end) of that month in TZ; ValueError names the format."""
    match = _MONTH.fullmatch(text)
    if not match:
        raise ValueError(f"month must be YYYY-MM, e.g. 2026-11, got {text!r}")
    year, month = int(match[1]), int(match[2])
    zone = ZoneInfo(tz)
    start = datetime(year, month, 1, tzinfo=zone)
    end = datetime(year + month // 12, month % 12 + 1, 1, tzinfo=zone)
    return start, end


def gallery_filter(mood: str | None, month: str | None, tz: str) -> GalleryFilter:
    if month:
        since, until = parse_month(month, tz)
        return GalleryFilter(mood=mood or None, since=since, until=until)
    return GalleryFilter(mood=mood or None)


def month_of(when: datetime, tz: str) -> str:
    """`YYYY-MM` of a time in TZ (the month filter's bounds)."""
    return f"{when.astimezone(ZoneInfo(tz)):%Y-%m}"


@dataclass(frozen=True)
class PublicPost:
    """A platform's post as a follower sees it: where, its state, and its link once posted."""

    platform: str
    label: str
    state: str
    url: str | None

    def as_json(self) -> dict[str, Any]:
        return {"platform": self.platform, "state": self.state, "url": self.url}


def public_posts(posts: list[PostInfo]) -> list[PublicPost]:
    return [
        PublicPost(
            platform=p.platform,
            label=_label(p.platform),
            state=p.state.value,
            # Only a posted post has a link a follower can open.
            url=p.remote_url if p.state == PostState.POSTED and _is_web_url(p.remote_url) else None,
        )
        for p in posts
    ]


def _label(platform: str) -> str:
    try:
        return publisher_label(platform)
    except Exception:  # noqa: BLE001 - a platform no longer registered keeps its stored name
        return platform


def _is_web_url(url: str | None) -> bool:
    # A link from a platform's reply still goes through autoescape; this keeps `javascript:`
    # and other schemes out of an href.
    return bool(url) and str(url).lower().startswith(("https://", "http://"))


@dataclass(frozen=True)
class ArtworkView:
    """One artwork as every page shows it."""

    artwork: Artwork
    posts: list[PublicPost]
    tz: str

    @property
    def id(self) -> int:
        assert self.artwork.id is not None
        return self.artwork.id

    @property
    def created(self) -> datetime | None:
        made = self.artwork.created_at
        return made.astimezone(ZoneInfo(self.tz)) if made else None

    @property
    def title(self) -> str:
        lines = self.artwork.poem_lines
        return lines[0] if lines else f"Artwork {self.id}"

    def as_json(self, links: Links, absolute: str = "") -> dict[str, Any]:
        """The JSON twin of the artwork page; `absolute` prefixes links (a base URL)."""
        a = self.artwork
        return {
            "id": self.id,
            "created_at": a.created_at.isoformat() if a.created_at else None,
            "poem": a.poem,
            "poem_lines": a.poem_lines,
            "mood": a.mood,
            "seed": a.seed,
            "season": a.season,
            "alt_text": a.alt_text,
            "engines": {
                "poem": {"engine": a.poem_engine, "model": a.poem_model},
                "image": {"engine": a.image_engine, "model": a.image_model},
                "style": {"engine": a.style_engine, "model": a.style_model},
            },
            "style_reference": a.style_reference,
            "width": a.width,
            "height": a.height,
            "url": absolute + links.artwork(self.id),
            "image_url": absolute + links.image(self.id),
            "thumbnail_url": absolute + links.thumbnail(self.id),
            "posts": [p.as_json() for p in self.posts],
        }


def artwork_view(artwork: Artwork, posts: list[PostInfo], tz: str) -> ArtworkView:
    return ArtworkView(artwork, public_posts(posts), tz)


def page_views(page: GalleryPage, tz: str) -> list[ArtworkView]:
    """A page's artworks with their posts, as every listing shows them."""
    return [artwork_view(a, page.posts.get(a.id or 0, []), tz) for a in page.artworks]
