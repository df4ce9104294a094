"""X (Twitter): v2 media upload and alt text as signed requests, then a post made with tweepy.

tweepy's own media upload still calls the deprecated v1.1 endpoint, so the image goes through
`POST /2/media/upload` and its alt text through `POST /2/media/metadata`, both signed with
OAuth 1.0a user context (requests-oauthlib), before `Client.create_tweet` attaches the media.
"""

from __future__ import annotations

import base64
import importlib
import importlib.resources
import io
import logging
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any

import requests

from bot.publishers.base import (
    Draft,
    PostResult,
    fit_alt_text,
    fit_caption,
    normalise_caption,
)
from bot.publishers.errors import (
    AuthError,
    DuplicatePost,
    MaybeSent,
    NotSent,
    PublishError,
    RateLimited,
    never_connected,
)
from storage.files import jpeg_bytes
from storage.metrics import Figures

if TYPE_CHECKING:
    import tweepy

    from bot.settings import Settings
    from core.artwork import Artwork

log = logging.getLogger(__name__)

API = "https://api.x.com"
MEDIA_UPLOAD_URL = f"{API}/2/media/upload"
MEDIA_METADATA_URL = f"{API}/2/media/metadata"
POST_URL = "https://x.com/i/web/status/{id}"
MAX_WEIGHTED_LENGTH = 280
MAX_ALT_TEXT = 1000
MAX_IMAGE_BYTES = 5 * 1024 * 1024
RECENT_POSTS = 20
# (connect, read) seconds: a hung socket must not hang the daily post.
TIMEOUT = (10.0, 60.0)
_TCO_LINK = "https://t.co/"


class TimeoutSession(requests.Session):
    """A requests session that applies a default timeout to every request (tweepy sets none)."""

    def __init__(self, timeout: float | tuple[float, float] = TIMEOUT) -> None:
        super().__init__()
        self.timeout = timeout

    def request(self, *args: Any, **kwargs: Any) -> Any:
        kwargs.setdefault("timeout", self.timeout)
        return super().request(*args, **kwargs)


def weighted_length(text: str) -> int:
    """X's weighted character count (most CJK and emoji count double), as twitter-text counts."""
    return int(_parse_tweet(text).weightedLength)


def _parse_tweet(text: str) -> Any:
    return _twitter_text().parse_tweet(text)


_IMPORT_LOCK = threading.Lock()


def _twitter_text() -> ModuleType:
    """twitter-text-parser, imported without setuptools' retired pkg_resources.

    Its emoji table is read with `pkg_resources.resource_string`, the one call it makes;
    setuptools 81 removed pkg_resources (and older ones warn on import). The import is lent
    that function, backed by importlib.resources, so Kavi needs no old setuptools.
    """
    with _IMPORT_LOCK:
        if "twitter_text" in sys.modules:
            return sys.modules["twitter_text"]
        lent = ModuleType("pkg_resources")
        lent.resource_string = _resource_string  # type: ignore[attr-defined]
        real = sys.modules.get("pkg_resources")
        sys.modules["pkg_resources"] = lent
        try:
            return importlib.import_module("twitter_text")
        finally:
            if real is None:
                sys.modules.pop("pkg_resources", None)
            else:
                sys.modules["pkg_resources"] = real


def _resource_string(module: str, name: str) -> bytes:
    """pkg_resources.resource_string: a data file beside `module` (a module or a package)."""
    loaded = sys.modules[module]
    package = module if hasattr(loaded, "__path__") else (loaded.__package__ or "")
    return importlib.resources.files(package).joinpath(name).read_bytes()


def _fits_a_post(text: str) -> bool:
    parsed = _parse_tweet(text)
    return bool(parsed.valid) and int(parsed.weightedLength) <= MAX_WEIGHTED_LENGTH


class TwitterPublisher:
    """Posts to X as the account whose OAuth 1.0a user tokens are configured."""

    name = "twitter"

    def __init__(
        self,
        settings: Settings,
        *,
        session: requests.Session | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.settings = settings
        # The transport seam: every request, tweepy's included, goes through this session.
        self.session = session or TimeoutSession()
        self.clock = clock
        self._client: tweepy.Client | None = None
        self._user_id: str | None = None

    # --- fitting ---------------------------------------------------------------------------

    def fit(self, artwork: Artwork, image_path: Path) -> Draft:
        """PNG as painted when it is within X's 5 MB; otherwise a JPEG that is."""
        data = image_path.read_bytes()
        filename = "artwork.png"
        notes: list[str] = []
        if len(data) > MAX_IMAGE_BYTES:
            # The archive's PNGs favour a fast encode; a tighter one keeps every pixel.
            data = _tighter_png(data)
            if len(data) <= MAX_IMAGE_BYTES:
                notes.append("PNG compressed harder to stay under X's 5 MB image limit")
        if len(data) > MAX_IMAGE_BYTES:
            data = _jpeg_within(data, MAX_IMAGE_BYTES)
            filename = "artwork.jpg"
            notes.append("re-encoded as JPEG to stay under X's 5 MB image limit")
        caption, caption_notes = fit_caption(artwork.caption, fits=_fits_a_post)
        notes.extend(caption_notes)
        length = weighted_length(caption)
        notes.append(f"caption: {length}/{MAX_WEIGHTED_LENGTH} weighted characters")
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
        try:
            media_id = self._upload(draft)
            if draft.alt_text:
                self._set_alt_text(media_id, draft.alt_text)
        except Exception as exc:  # noqa: BLE001 - mapped in one place
            raise _map_error(exc, may_have_posted=False, now=self.clock()) from exc
        try:
            response = self.client.create_tweet(
                text=draft.caption, media_ids=[media_id], user_auth=True
            )
            tweet_id = str(response.data["id"])
        except Exception as exc:  # noqa: BLE001 - mapped in one place
            raise _map_error(exc, may_have_posted=True, now=self.clock()) from exc
        log.info("posted to X: %s", tweet_id)
        return PostResult(remote_id=tweet_id, url=POST_URL.format(id=tweet_id))

    def find_existing(self, draft: Draft) -> PostResult | None:
        """Look for the draft's caption among the account's most recent posts."""
        wanted = _comparable(draft.caption)
        try:
            if self._user_id is None:
                me = self.client.get_me(user_auth=True)
                self._user_id = str(me.data["id"])
            response = self.client.get_users_tweets(
                self._user_id,
                max_results=RECENT_POSTS,
                exclude=["retweets", "replies"],
                user_auth=True,
            )
        except Exception as exc:  # noqa: BLE001 - mapped in one place
            raise _map_error(exc, may_have_posted=False, now=self.clock(), looking_up=True) from exc
        for tweet in response.data or []:
            if _comparable(tweet["text"]) == wanted:
                return PostResult(remote_id=str(tweet["id"]), url=POST_URL.format(id=tweet["id"]))
        return None

    def metrics(self, remote_id: str) -> Figures:
        """The post's public figures (each read is billed: only with READ_X_METRICS=true)."""
        try:
            response = self.client.get_tweet(
                remote_id, tweet_fields=["public_metrics"], user_auth=True
            )
        except Exception as exc:  # noqa: BLE001 - mapped in one place
            raise _map_error(exc, may_have_posted=False, now=self.clock(), looking_up=True) from exc
        public = (response.data or {}).get("public_metrics") or {}
        return Figures(
            likes=int(public.get("like_count") or 0),
            reposts=int(public.get("retweet_count") or 0) + int(public.get("quote_count") or 0),
            replies=int(public.get("reply_count") or 0),
            views=public.get("impression_count"),
        )

    @property
    def client(self) -> tweepy.Client:
        if self._client is None:
            import tweepy

            key, secret, token, token_secret = self._credentials()
            self._client = tweepy.Client(
                consumer_key=key,
                consumer_secret=secret,
                access_token=token,
                access_token_secret=token_secret,
            )
            self._client.session = self.session
        return self._client

    def _credentials(self) -> tuple[str, str, str, str]:
        s = self.settings
        values = (
            s.twitter_api_key,
            s.twitter_api_secret,
            s.twitter_access_token,
            s.twitter_access_token_secret,
        )
        if any(v is None for v in values):
            raise AuthError(
                "X credentials are missing: set TWITTER_API_KEY, TWITTER_API_SECRET, "
                "TWITTER_ACCESS_TOKEN and TWITTER_ACCESS_TOKEN_SECRET in .env"
            )
        key, secret, token, token_secret = (v.get_secret_value() for v in values if v)
        return key, secret, token, token_secret

    def _signed_post(self, url: str, payload: dict[str, Any]) -> dict[str, Any]:
        from requests_oauthlib import OAuth1

        key, secret, token, token_secret = self._credentials()
        auth = OAuth1(key, secret, token, token_secret)
        response = self.session.post(url, json=payload, auth=auth)
        _raise_for_status(response)
        body: dict[str, Any] = response.json()
        return body

    def _upload(self, draft: Draft) -> str:
        body = self._signed_post(
            MEDIA_UPLOAD_URL,
            {
                "media": base64.b64encode(draft.media).decode("ascii"),
                "media_category": "tweet_image",
                "media_type": draft.media_type,
            },
        )
        try:
            return str(body["data"]["id"])
        except (KeyError, TypeError):
            raise PublishError(f"X's media upload answered without a media id: {body}") from None

    def _set_alt_text(self, media_id: str, alt_text: str) -> None:
        self._signed_post(
            MEDIA_METADATA_URL, {"id": media_id, "metadata": {"alt_text": {"text": alt_text}}}
        )


def _comparable(text: str) -> str:
    # X appends the media's t.co link to a post's text and HTML-escapes &, < and >.
    words = [w for w in normalise_caption(text).split(" ") if not w.startswith(_TCO_LINK)]
    return " ".join(words)


def _tighter_png(png: bytes) -> bytes:
    from PIL import Image

    with Image.open(io.BytesIO(png)) as image:
        buffer = io.BytesIO()
        image.save(buffer, format="PNG", compress_level=9)
    return buffer.getvalue() if buffer.tell() < len(png) else png


def _jpeg_within(png: bytes, limit: int) -> bytes:
    from PIL import Image

    with Image.open(io.BytesIO(png)) as image:
        for quality in (92, 85, 75, 65, 50):
            data = jpeg_bytes(image, quality=quality)
            if len(data) <= limit:
                return data
    raise PublishError("the artwork does not fit X's 5 MB image limit even as a JPEG")


def _raise_for_status(response: requests.Response) -> None:
    """Raise tweepy's exception for an error status, so all of X's errors map in one place."""
    from tweepy import errors

    status = response.status_code
    if 200 <= status < 300:
        return
    if status == 429:
        reset = response.headers.get("x-rate-limit-reset")
        raise errors.TooManyRequests(response, reset_time=int(reset) if reset else None)
    by_status: dict[int, type[errors.HTTPException]] = {
        400: errors.BadRequest,
        401: errors.Unauthorized,
        403: errors.Forbidden,
        404: errors.NotFound,
    }
    if status >= 500:
        raise errors.TwitterServerError(response)
    raise by_status.get(status, errors.HTTPException)(response)


def _retry_after(headers: Any, now: float) -> float | None:
    """Seconds until X lifts the limit; a spent 24-hour post cap outranks the 15-minute window."""
    resets = []
    for prefix in ("x-user-limit-24hour", "x-app-limit-24hour"):
        if headers.get(f"{prefix}-remaining") == "0" and headers.get(f"{prefix}-reset"):
            resets.append(float(headers[f"{prefix}-reset"]))
    if not resets and headers.get("x-rate-limit-reset"):
        resets.append(float(headers["x-rate-limit-reset"]))
    if not resets:
        return None
    return max(max(resets) - now, 1.0)


def _map_error(
    exc: BaseException, *, may_have_posted: bool, now: float, looking_up: bool = False
) -> PublishError:
    """Classify anything raised while talking to X: not sent, maybe sent, or permanent.

    `looking_up`: it came from reading the account's recent posts, which says nothing about
    whether a post was created.
    """
    from tweepy import errors

    if isinstance(exc, PublishError):
        return exc
    if isinstance(exc, errors.HTTPException):
        status = exc.response.status_code
        detail = "; ".join(str(m) for m in exc.api_messages) or exc.response.reason or ""
        if isinstance(exc, errors.TooManyRequests):
            wait = _retry_after(exc.response.headers, now)
            when = f" for {wait:.0f} s" if wait is not None else ""
            return RateLimited(f"X rate limit reached; it asks us to wait{when}", retry_after=wait)
        if isinstance(exc, errors.TwitterServerError):
            message = f"X answered {status} {detail}".strip()
            if looking_up:
                return PublishError(f"{message} while reading the account's recent posts")
            if may_have_posted:
                return MaybeSent(f"{message} while creating the post; it may have gone out")
            return NotSent(f"{message} before the post was created")
        if isinstance(exc, errors.Unauthorized):
            return AuthError(
                "X rejected the credentials (401): check TWITTER_API_KEY, TWITTER_API_SECRET, "
                "TWITTER_ACCESS_TOKEN and TWITTER_ACCESS_TOKEN_SECRET, and regenerate the access "
                "token and secret if the app's permissions changed"
            )
        if isinstance(exc, errors.Forbidden):
            if "duplicate" in detail.lower():
                return DuplicatePost(
                    "X refused the post as duplicate content: the same text is already on the "
                    "account (it was probably posted before)"
                )
            if "oauth1 app permissions" in detail.lower() or "permission" in detail.lower():
                return AuthError(
                    f"X refused the post (403: {detail}): give the app Read and Write permission "
                    "in the developer portal, then regenerate the access token and secret"
                )
            return PublishError(f"X refused the post (403): {detail}")
        return PublishError(f"X rejected the request ({status}): {detail}")
    if isinstance(exc, requests.ConnectTimeout):
        return NotSent(f"could not connect to X (timed out): {exc}")
    if isinstance(exc, requests.Timeout):
        if may_have_posted:
            return MaybeSent("X did not answer in time while creating the post; it may be up")
        return NotSent(f"X did not answer in time: {exc}")
    if isinstance(exc, requests.ConnectionError):
        if may_have_posted and not never_connected(exc):
            return MaybeSent(f"the connection to X broke while creating the post: {exc}")
        return NotSent(f"could not reach X: {exc}")
    if isinstance(exc, requests.RequestException | errors.TweepyException):
        return MaybeSent(str(exc)) if may_have_posted else NotSent(str(exc))
    if may_have_posted:
        return MaybeSent(f"unexpected {type(exc).__name__} while creating the post: {exc}")
    return PublishError(f"unexpected {type(exc).__name__} talking to X: {exc}")
