"""Mastodon through Mastodon.py: media with a description and focus point, then a status.

The instance's own limits (characters per status, characters a link counts for, image bytes)
are read from its v2 instance API when posting. Every status is created with an
`Idempotency-Key` derived from the post row, so a request retried for the same row returns
the first status instead of making a second one.
"""

from __future__ import annotations

import io
import logging
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import requests

from bot.publishers.base import (
    Draft,
    PostResult,
    fit_alt_text,
    fit_caption,
    focus_point,
    jpeg_within,
    normalise_caption,
)
from bot.publishers.errors import (
    AuthError,
    MaybeSent,
    NotSent,
    PublishError,
    RateLimited,
    never_connected,
)
from storage.metrics import Figures

if TYPE_CHECKING:
    from mastodon import Mastodon

    from bot.settings import Settings
    from core.artwork import Artwork

log = logging.getLogger(__name__)

# What Mastodon allows unless the instance says otherwise (and what `fit` uses offline).
DEFAULT_MAX_CHARACTERS = 500
DEFAULT_URL_WEIGHT = 23
# The smallest image limit of any Mastodon release still run (8 MB); 4.x instances take 16.
DEFAULT_IMAGE_BYTES = 8 * 1024 * 1024
MAX_ALT_TEXT = 1500
RECENT_POSTS = 40
TIMEOUT = 60.0
# The media is processed after upload; poll until it has a URL, for about two minutes.
PROCESSING_POLLS = 24
PROCESSING_WAIT = 5.0
_URL = re.compile(r"https?://\S+")
_BREAK = re.compile(r"<br\s*/?>|</p>\s*<p>", re.IGNORECASE)
_TAG = re.compile(r"<[^>]+>")


@dataclass(frozen=True)
class InstanceLimits:
    """What one instance allows, from its v2 instance API."""

    max_characters: int = DEFAULT_MAX_CHARACTERS
    url_weight: int = DEFAULT_URL_WEIGHT
    image_bytes: int = DEFAULT_IMAGE_BYTES
    description_limit: int = MAX_ALT_TEXT

    @classmethod
    def from_instance(cls, instance: Any) -> InstanceLimits:
        """Read the limits from a v2 instance payload, keeping the defaults for missing ones."""
        configuration = _get(instance, "configuration") or {}
        statuses = _get(configuration, "statuses") or {}
        media = _get(configuration, "media_attachments") or {}
        return cls(
            max_characters=int(_get(statuses, "max_characters") or DEFAULT_MAX_CHARACTERS),
            url_weight=int(_get(statuses, "characters_reserved_per_url") or DEFAULT_URL_WEIGHT),
            image_bytes=int(_get(media, "image_size_limit") or DEFAULT_IMAGE_BYTES),
            description_limit=int(_get(media, "description_limit") or MAX_ALT_TEXT),
        )


def _get(payload: Any, key: str) -> Any:
    return payload.get(key) if isinstance(payload, dict) else None


def status_length(text: str, url_weight: int = DEFAULT_URL_WEIGHT) -> int:
    """Characters as Mastodon counts them: each link counts as `url_weight`, whatever its length."""
    return len(_URL.sub("x" * url_weight, text))


class MastodonPublisher:
    """Posts to the Mastodon account whose access token is configured, on its instance."""

    name = "mastodon"

    def __init__(
        self,
        settings: Settings,
        *,
        session: requests.Session | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.settings = settings
        # The transport seam: Mastodon.py sends every request through this session.
        self.session = session or requests.Session()
        self.sleep = sleep
        self.clock = clock
        self._client: Mastodon | None = None
        self._limits: InstanceLimits | None = None
        self._account_id: str | None = None

    # --- fitting ---------------------------------------------------------------------------

    def fit(self, artwork: Artwork, image_path: Path) -> Draft:
        """The PNG as painted within 8 MB (else a JPEG), the caption within 500 characters.

        Offline, the defaults every Mastodon instance allows; `publish` reads the instance's
        own limits and fits again when they are tighter.
        """
        from PIL import Image

        data = image_path.read_bytes()
        with Image.open(io.BytesIO(data)) as image:
            width, height = image.size
        filename, notes = "artwork.png", list[str]()
        if len(data) > DEFAULT_IMAGE_BYTES:
            data, jpeg_notes = jpeg_within(data, DEFAULT_IMAGE_BYTES)
            filename = "artwork.jpg"
            notes.extend(jpeg_notes)
        caption, caption_notes = fit_caption(
            artwork.caption, fits=lambda text: status_length(text) <= DEFAULT_MAX_CHARACTERS
        )
        notes.extend(caption_notes)
        focus = focus_point(artwork, width, height)
        notes.append(
            f"caption {status_length(caption)}/{DEFAULT_MAX_CHARACTERS} characters (the "
            f"instance's own limit is read when posting), focus point {focus or 'centre'}"
        )
        return Draft(
            platform=self.name,
            filename=filename,
            media=data,
            caption=caption,
            alt_text=fit_alt_text(artwork.alt_text, MAX_ALT_TEXT),
            notes=tuple(notes),
            focus=focus,
        )

    def fit_to_instance(self, draft: Draft, limits: InstanceLimits) -> Draft:
        """The draft within this instance's limits (the same result for `publish` and look-ups)."""
        caption, _ = fit_caption(
            draft.caption,
            fits=lambda text: status_length(text, limits.url_weight) <= limits.max_characters,
        )
        media, filename = draft.media, draft.filename
        if len(media) > limits.image_bytes:
            media, _ = jpeg_within(media, limits.image_bytes)
            filename = "artwork.jpg"
        return replace(
            draft,
            caption=caption,
            media=media,
            filename=filename,
            alt_text=fit_alt_text(draft.alt_text, limits.description_limit),
        )

    # --- sending ---------------------------------------------------------------------------

    def publish(self, draft: Draft) -> PostResult:
        try:
            draft = self.fit_to_instance(draft, self.limits())
            media = self._upload(draft)
        except Exception as exc:  # noqa: BLE001 - mapped in one place
            raise self._map_error(exc, may_have_posted=False) from exc
        try:
            status = self.client.status_post(
                draft.caption,
                media_ids=[media["id"]],
                # Mastodon keeps a key for an hour: a replay in that time returns the first status.
                idempotency_key=draft.post_key or None,
            )
        except Exception as exc:  # noqa: BLE001 - mapped in one place
            raise self._map_error(exc, may_have_posted=True) from exc
        log.info("posted to Mastodon: %s", status["id"])
        return PostResult(remote_id=str(status["id"]), url=status.get("url"))

    def find_existing(self, draft: Draft) -> PostResult | None:
        """Look for the draft's caption (as fitted to the instance) among the account's statuses."""
        try:
            wanted = normalise_caption(self.fit_to_instance(draft, self.limits()).caption)
            if self._account_id is None:
                self._account_id = str(self.client.account_verify_credentials()["id"])
            statuses = self.client.account_statuses(
                self._account_id, exclude_replies=True, exclude_reblogs=True, limit=RECENT_POSTS
            )
        except Exception as exc:  # noqa: BLE001 - mapped in one place
            raise self._map_error(exc, may_have_posted=False, looking_up=True) from exc
        for status in statuses:
            if status_text(status.get("content") or "") == wanted:
                return PostResult(remote_id=str(status["id"]), url=status.get("url"))
        return None

    def metrics(self, remote_id: str) -> Figures:
        """The status's favourites, boosts and replies (Mastodon shows no view counts)."""
        try:
            status = self.client.status(remote_id)
        except Exception as exc:  # noqa: BLE001 - mapped in one place
            raise self._map_error(exc, may_have_posted=False, looking_up=True) from exc
        return Figures(
            likes=int(status.get("favourites_count") or 0),
            reposts=int(status.get("reblogs_count") or 0),
            replies=int(status.get("replies_count") or 0),
        )

    def limits(self) -> InstanceLimits:
        """The instance's limits, read once per process from its v2 instance API."""
        if self._limits is None:
            self._limits = InstanceLimits.from_instance(self.client.instance_v2())
        return self._limits

    @property
    def client(self) -> Mastodon:
        if self._client is None:
            from mastodon import Mastodon

            base_url, token = self._credentials()
            self._client = Mastodon(
                access_token=token,
                api_base_url=base_url,
                # Kavi's state machine decides when to wait; Mastodon.py must not sleep itself.
                ratelimit_method="throw",
                request_timeout=TIMEOUT,
                session=self.session,
            )
        return self._client

    def _credentials(self) -> tuple[str, str]:
        base_url = (self.settings.mastodon_api_base_url or "").strip().rstrip("/")
        token = self.settings.mastodon_access_token
        if not base_url or token is None:
            raise AuthError(
                "Mastodon credentials are missing: set MASTODON_API_BASE_URL (the instance, "
                "e.g. https://mastodon.social) and MASTODON_ACCESS_TOKEN in .env"
            )
        if not base_url.startswith("https://"):
            raise AuthError(
                f"MASTODON_API_BASE_URL must be the instance's https address, e.g. "
                f"https://mastodon.social, not {base_url!r}"
            )
        return base_url, token.get_secret_value()

    def _upload(self, draft: Draft) -> Any:
        media = self.client.media_post(
            draft.media,
            mime_type=draft.media_type,
            description=draft.alt_text,
            focus=draft.focus,
            file_name=draft.filename,
        )
        # Large images are processed after the upload; a status cannot attach them before.
        for attempt in range(PROCESSING_POLLS):
            if media.get("url"):
                return media
            # A small image is often processed by the time the upload's answer arrives.
            if attempt:
                self.sleep(PROCESSING_WAIT)
            media = self.client.media(media["id"])
        if media.get("url"):
            return media
        raise NotSent(
            f"Mastodon was still processing the image after {PROCESSING_POLLS} checks; "
            "nothing was posted"
        )

    def _map_error(
        self, exc: BaseException, *, may_have_posted: bool, looking_up: bool = False
    ) -> PublishError:
        """Classify anything raised while talking to Mastodon: not sent, maybe sent, permanent."""
        from mastodon import errors

        if isinstance(exc, PublishError):
            return exc
        if isinstance(exc, errors.MastodonRatelimitError):
            reset = self._client.ratelimit_reset if self._client else None
            wait = max(float(reset) - self.clock(), 1.0) if reset else None
            when = f" until {time.strftime('%H:%M:%S UTC', time.gmtime(reset))}" if reset else ""
            return RateLimited(f"Mastodon rate limit reached; it asks us to wait{when}", wait)
        if isinstance(exc, errors.MastodonUnauthorizedError):
            return AuthError(
                "Mastodon rejected the access token (401): the token is dead (revoked, or the "
                "app was removed). Create a new one under Preferences > Development on the "
                "instance and set MASTODON_ACCESS_TOKEN in .env"
            )
        if isinstance(exc, errors.MastodonServerError):
            message = f"Mastodon answered {_status_of(exc)}"
            if looking_up:
                return PublishError(f"{message} while reading the account's recent statuses")
            if may_have_posted:
                return MaybeSent(f"{message} while creating the status; it may have gone out")
            return NotSent(f"{message} before the status was created")
        if isinstance(exc, errors.MastodonAPIError):
            status = _status_of(exc)
            detail = exc.args[3] if len(exc.args) > 3 else str(exc)
            if status == 403:
                return AuthError(
                    f"Mastodon refused the request (403: {detail}): give the token the "
                    "write:media and write:statuses scopes (a new token), and set "
                    "MASTODON_ACCESS_TOKEN in .env"
                )
            return PublishError(f"Mastodon rejected the request ({status}): {detail}")
        if isinstance(exc, errors.MastodonNetworkError):
            if looking_up or not may_have_posted or never_connected(exc):
                return NotSent(f"could not reach Mastodon: {exc}")
            return MaybeSent(f"the connection to Mastodon broke while creating the status: {exc}")
        if may_have_posted:
            return MaybeSent(f"unexpected {type(exc).__name__} while creating the status: {exc}")
        return PublishError(f"unexpected {type(exc).__name__} talking to Mastodon: {exc}")


def _status_of(exc: BaseException) -> int | None:
    # Mastodon.py's API errors carry (message, status, reason, detail) as their args.
    status = exc.args[1] if len(exc.args) > 1 else None
    return status if isinstance(status, int) else None


def status_text(content: str) -> str:
    """A status's HTML content as the plain text it was posted from, for matching."""
    return normalise_caption(_TAG.sub("", _BREAK.sub("\n", content)))
