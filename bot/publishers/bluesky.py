"""Bluesky through the atproto SDK: an image within the blob limit, alt text, aspect ratio, tags.

Bluesky counts a post's length in grapheme clusters (300 at most, what a reader sees as one
character: an emoji with its modifiers is one) and places rich text by byte offsets in the
UTF-8 text, so hashtags become real tags only through facets with those offsets. An image
without an aspect ratio is shown cropped to a square, so the ratio is always set.
"""

from __future__ import annotations

import io
import logging
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bot.publishers.base import (
    Draft,
    PostResult,
    fit_alt_text,
    fit_caption,
    jpeg_within,
    normalise_caption,
)
from bot.publishers.errors import AuthError, MaybeSent, NotSent, PublishError, RateLimited
from storage.metrics import Figures

if TYPE_CHECKING:
    import httpx
    from atproto import Client

    from bot.settings import Settings
    from core.artwork import Artwork

log = logging.getLogger(__name__)

SERVICE = "https://bsky.social"
MAX_GRAPHEMES = 300
MAX_TEXT_BYTES = 3000  # the post record's own limit on the UTF-8 text
MAX_BLOB_BYTES = 1_000_000  # app.bsky.embed.images: an image blob is at most 1,000,000 bytes
MAX_ALT_TEXT = 2000  # what the Bluesky app lets a person write
RECENT_POSTS = 30
TIMEOUT = 60.0
POST_URL = "https://bsky.app/profile/{handle}/post/{rkey}"
# The httpx transport a publisher built from settings uses: None is httpx's own (the network).
default_transport: httpx.BaseTransport | None = None


def grapheme_count(text: str) -> int:
    """Grapheme clusters, as Bluesky counts a post's length (Unicode extended clusters, \\X)."""
    import regex

    return len(regex.findall(r"\X", text))


def fits_a_post(text: str) -> bool:
    return grapheme_count(text) <= MAX_GRAPHEMES and len(text.encode()) <= MAX_TEXT_BYTES


def facets_for(text: str) -> list[Any]:
    """Rich-text facets for the text's hashtags and links, placed by UTF-8 byte offsets.

    The SDK's own detection (the app's rules for where a tag ends), offline: no mentions,
    which would need their handles resolved.
    """
    from atproto_client.utils.facet_detection import detect_facets

    return list(detect_facets(text))


def image_size(data: bytes) -> tuple[int, int]:
    from PIL import Image

    with Image.open(io.BytesIO(data)) as image:
        return image.size


class BlueskyPublisher:
    """Posts to the Bluesky account of BLUESKY_HANDLE, logged in with an app password."""

    name = "bluesky"

    def __init__(
        self,
        settings: Settings,
        *,
        transport: httpx.BaseTransport | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.settings = settings
        # The transport seam: every request the SDK makes goes through this httpx transport.
        self.transport = transport or default_transport
        self.clock = clock
        self._client: Client | None = None
        self._did: str | None = None

    # --- fitting ---------------------------------------------------------------------------

    def fit(self, artwork: Artwork, image_path: Path) -> Draft:
        """The PNG if within 1,000,000 bytes, else the best JPEG that is; 300 graphemes of text."""
        data = image_path.read_bytes()
        filename, notes = "artwork.png", list[str]()
        if len(data) > MAX_BLOB_BYTES:
            data, jpeg_notes = jpeg_within(data, MAX_BLOB_BYTES)
            filename = "artwork.jpg"
            notes.extend(jpeg_notes)
        caption, caption_notes = fit_caption(artwork.caption, fits=fits_a_post)
        notes.extend(caption_notes)
        width, height = image_size(data)
        tags = sum(1 for f in facets_for(caption) if _is_tag(f))
        notes.append(
            f"{width}x{height} {filename.rsplit('.', 1)[1].upper()}, {len(data)} bytes, caption "
            f"{grapheme_count(caption)}/{MAX_GRAPHEMES} graphemes, {tags} hashtag(s) as tags"
        )
        return Draft(
            platform=self.name,
            filename=filename,
            media=data,
            caption=caption,
            alt_text=fit_alt_text(artwork.alt_text, MAX_ALT_TEXT),
            notes=tuple(notes),
        )

    # --- sending ---------------------------------------------------------------------------

    def publish(self, draft: Draft) -> PostResult:
        from atproto import models

        try:
            client = self._logged_in()
            blob = client.upload_blob(draft.media).blob
            width, height = image_size(draft.media)
            image = models.AppBskyEmbedImages.Image(
                alt=draft.alt_text,
                image=blob,
                aspect_ratio=models.AppBskyEmbedDefs.AspectRatio(width=width, height=height),
            )
            embed = models.AppBskyEmbedImages.Main(images=[image])
            facets = facets_for(draft.caption)
        except Exception as exc:  # noqa: BLE001 - mapped in one place
            raise self._map_error(exc, may_have_posted=False) from exc
        try:
            created = client.send_post(
                draft.caption, profile_identify=self._did, embed=embed, facets=facets or None
            )
        except Exception as exc:  # noqa: BLE001 - mapped in one place
            raise self._map_error(exc, may_have_posted=True) from exc
        log.info("posted to Bluesky: %s", created.uri)
        return PostResult(remote_id=created.uri, url=self._url(created.uri))

    def find_existing(self, draft: Draft) -> PostResult | None:
        """Look for the draft's text among the account's recent posts (its author feed)."""
        wanted = normalise_caption(draft.caption)
        try:
            client = self._logged_in()
            feed = client.get_author_feed(
                self._did or "", filter="posts_no_replies", limit=RECENT_POSTS
            )
        except Exception as exc:  # noqa: BLE001 - mapped in one place
            raise self._map_error(exc, may_have_posted=False, looking_up=True) from exc
        for item in feed.feed:
            record = item.post.record
            if normalise_caption(getattr(record, "text", "") or "") == wanted:
                return PostResult(remote_id=item.post.uri, url=self._url(item.post.uri))
        return None

    def metrics(self, remote_id: str) -> Figures:
        """The post's likes, reposts (quotes included) and replies, from the AppView."""
        try:
            posts = self._logged_in().get_posts([remote_id]).posts
        except Exception as exc:  # noqa: BLE001 - mapped in one place
            raise self._map_error(exc, may_have_posted=False, looking_up=True) from exc
        if not posts:
            raise PublishError(f"Bluesky no longer has the post {remote_id} (deleted?)")
        post = posts[0]
        return Figures(
            likes=post.like_count or 0,
            reposts=(post.repost_count or 0) + (post.quote_count or 0),
            replies=post.reply_count or 0,
        )

    def _url(self, uri: str) -> str:
        handle = self._handle()
        return POST_URL.format(handle=handle, rkey=uri.rsplit("/", 1)[-1])

    def _handle(self) -> str:
        return (self.settings.bluesky_handle or "").strip().removeprefix("@")

    def _logged_in(self) -> Client:
        if self._client is not None:
            return self._client
        from atproto import Client
        from atproto_client.request import Request

        handle = self._handle()
        password = self.settings.bluesky_app_password
        if not handle or password is None:
            raise AuthError(
                "Bluesky credentials are missing: set BLUESKY_HANDLE (e.g. kavi.bsky.social) "
                "and BLUESKY_APP_PASSWORD in .env"
            )
        request = Request(timeout=TIMEOUT, transport=self.transport)
        client = Client(SERVICE, request=request)
        # One createSession per run; the SDK refreshes the session token when it nears expiry.
        client.login(handle, password.get_secret_value(), fetch_bsky_profile=False)
        session = getattr(client, "_session", None)
        self._did = getattr(session, "did", None) or handle
        self._client = client
        return client

    def _map_error(
        self, exc: BaseException, *, may_have_posted: bool, looking_up: bool = False
    ) -> PublishError:
        """Classify anything raised while talking to Bluesky: not sent, maybe sent, permanent."""
        from atproto_client import exceptions as bsky

        if isinstance(exc, PublishError):
            return exc
        if isinstance(exc, bsky.RateLimitExceededError):
            reset = exc.reset_at.timestamp() if exc.reset_at else None
            wait = exc.retry_after
            if wait is None and reset is not None:
                wait = max(reset - self.clock(), 1.0)
            when = f" for {wait:.0f} s" if wait is not None else ""
            return RateLimited(f"Bluesky rate limit reached; it asks us to wait{when}", wait)
        if isinstance(exc, bsky.UnauthorizedError):
            return AuthError(
                f"Bluesky refused the login or the session ({exc}): the app password is wrong "
                "or was revoked. Make a new one under Settings > Privacy and security > App "
                "passwords and set BLUESKY_APP_PASSWORD (and BLUESKY_HANDLE) in .env"
            )
        if isinstance(exc, bsky.BadRequestError):
            if "AuthenticationRequired" in str(exc) or "AccountTakedown" in str(exc):
                return AuthError(f"Bluesky refused the account ({exc}): check BLUESKY_HANDLE")
            return PublishError(f"Bluesky rejected the request: {exc}")
        if isinstance(exc, bsky.InvokeTimeoutError | bsky.NetworkError) and exc.response is None:
            if looking_up or not may_have_posted or _never_connected(exc):
                return NotSent(f"could not reach Bluesky: {_describe(exc)}")
            return MaybeSent(f"the connection to Bluesky broke while posting: {_describe(exc)}")
        if isinstance(exc, bsky.RequestErrorBase):
            message = f"Bluesky answered {exc}"
            if looking_up:
                return PublishError(f"{message} while reading the account's recent posts")
            if may_have_posted:
                return MaybeSent(f"{message} while creating the post; it may have gone out")
            return NotSent(f"{message} before the post was created")
        if may_have_posted:
            return MaybeSent(f"unexpected {type(exc).__name__} while creating the post: {exc}")
        return PublishError(f"unexpected {type(exc).__name__} talking to Bluesky: {exc}")


def _is_tag(facet: Any) -> bool:
    from atproto import models

    return any(isinstance(f, models.AppBskyRichtextFacet.Tag) for f in facet.features)


def _describe(exc: BaseException) -> str:
    cause = exc.__cause__
    return f"{type(cause).__name__}: {cause}" if cause else type(exc).__name__


def _never_connected(exc: BaseException) -> bool:
    """True when httpx never opened the connection, so nothing was sent."""
    import httpx

    return isinstance(exc.__cause__, httpx.ConnectError | httpx.ConnectTimeout)
