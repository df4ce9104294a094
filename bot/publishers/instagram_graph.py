"""Instagram through its official content-publishing API (Instagram Login, a Professional account).

Instagram fetches the image itself from a public URL (PUBLIC_BASE_URL + /images/<id>.jpg, the
gallery's JPEG route: the API takes only JPEG), into a media container; the container is
processed, then published.
The container's id is saved on the post row before anything is published, so a retry after
a crash publishes that same container, or finds the media it became: never a second post.
The long-lived token (60 days) is refreshed when it nears its end and kept under DATA_DIR.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import requests

from bot.publishers.base import Draft, PostResult, normalise_caption
from bot.publishers.errors import (
    AuthError,
    MaybeSent,
    NotSent,
    PublishError,
    RateLimited,
    never_connected,
)
from bot.publishers.instagram import InstagramPublisher
from storage.files import write_atomic
from storage.metrics import Figures

if TYPE_CHECKING:
    from bot.settings import Settings
    from core.artwork import Artwork

log = logging.getLogger(__name__)

GRAPH = "https://graph.instagram.com"
VERSION = "v23.0"
API = f"{GRAPH}/{VERSION}"
TOKEN_FILE = Path("sessions") / "instagram_graph.json"
TIMEOUT = (10.0, 60.0)
# A long-lived token lasts 60 days; refresh it once fewer than this many remain.
REFRESH_WITHIN = 15 * 86400
# Processing an image container takes seconds; poll for about five minutes.
STATUS_POLLS = 30
STATUS_WAIT = 10.0
RECENT_POSTS = 25
# A spent publishing limit (a rolling 24 hours) lifts at an unknown moment: ask for an hour.
LIMIT_WAIT = 3600.0
_DEAD_TOKEN = 190  # OAuthException: the token expired or was revoked
_NOT_READY = 9007  # the container is not ready to publish yet


class GraphError(Exception):
    """An error answer from the Graph API, with its code and message (never the URL)."""

    def __init__(self, status: int, payload: dict[str, Any]) -> None:
        raw = payload.get("error")
        error: dict[str, Any] = raw if isinstance(raw, dict) else {}
        self.status = status
        self.code = int(error.get("code") or 0)
        self.subcode = int(error.get("error_subcode") or 0)
        self.message = str(error.get("error_user_msg") or error.get("message") or "")
        super().__init__(f"{status} (code {self.code}): {self.message}")


class InstagramGraphPublisher:
    """Posts to the Professional account whose long-lived Instagram Login token is configured."""

    name = "instagram_graph"

    def __init__(
        self,
        settings: Settings,
        *,
        session: requests.Session | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.settings = settings
        self.session = session or requests.Session()
        self.sleep = sleep
        self.clock = clock
        self.token_path = settings.data_dir / TOKEN_FILE
        self._user_id: str | None = None
        self._access: str | None = None
        # The feed's rules are the same as for the private-API publisher: reuse its fitting.
        self._fitter = InstagramPublisher(settings)

    # --- fitting ---------------------------------------------------------------------------

    def fit(self, artwork: Artwork, image_path: Path) -> Draft:
        """As for Instagram (a 1080-px JPEG, 5 hashtags), plus the URL Instagram fetches it from."""
        draft = self._fitter.fit(artwork, image_path)
        notes = (*draft.notes, f"Instagram fetches the image from {self.image_url(artwork)}")
        return Draft(
            platform=self.name,
            filename=draft.filename,
            media=draft.media,
            caption=draft.caption,
            alt_text=draft.alt_text,
            notes=notes,
            source_url=self.image_url(artwork),
        )

    def image_url(self, artwork: Artwork) -> str:
        base = (self.settings.public_base_url or "").strip().rstrip("/")
        return f"{base or '<PUBLIC_BASE_URL>'}/images/{artwork.id}.jpg"

    # --- sending ---------------------------------------------------------------------------

    def publish(self, draft: Draft) -> PostResult:
        try:
            user_id = self._user()
            container = self._resume(draft) if draft.checkpoint else None
            if container == "PUBLISHED":
                found = self.find_existing(draft)
                if found is not None:
                    return found
                raise MaybeSent(
                    "the media container was already published, but the post is not found"
                )
            if container is None:
                self._check_limit(user_id)
                container_id = self._create_container(user_id, draft)
                if draft.save_checkpoint is not None:
                    draft.save_checkpoint(container_id)
            else:
                container_id = container
            self._wait_until_finished(container_id)
        except Exception as exc:  # noqa: BLE001 - mapped in one place
            raise _map_error(exc, may_have_posted=False) from exc
        try:
            published = self._post(f"{user_id}/media_publish", {"creation_id": container_id})
            media_id = str(published["id"])
        except Exception as exc:  # noqa: BLE001 - mapped in one place
            raise _map_error(exc, may_have_posted=True) from exc
        log.info("posted to Instagram (Graph API): %s", media_id)
        return PostResult(remote_id=media_id, url=self._permalink(media_id))

    def find_existing(self, draft: Draft) -> PostResult | None:
        """The media a saved container became, or the draft's caption among recent posts."""
        wanted = normalise_caption(draft.caption)
        try:
            if draft.checkpoint and self._status(draft.checkpoint) != "PUBLISHED":
                return None  # a container is published once or never: this one was not
            user_id = self._user()
            medias = self._get(
                f"{user_id}/media",
                {"fields": "id,caption,permalink,timestamp", "limit": RECENT_POSTS},
            )
        except Exception as exc:  # noqa: BLE001 - mapped in one place
            raise _map_error(exc, may_have_posted=False, looking_up=True) from exc
        for media in medias.get("data", []):
            if normalise_caption(media.get("caption") or "") == wanted:
                return PostResult(remote_id=str(media["id"]), url=media.get("permalink"))
        return None

    def metrics(self, remote_id: str) -> Figures:
        """The media's likes and comments (views need the insights permission: not read)."""
        try:
            media = self._get(remote_id, {"fields": "like_count,comments_count"})
        except Exception as exc:  # noqa: BLE001 - mapped in one place
            raise _map_error(exc, may_have_posted=False, looking_up=True) from exc
        return Figures(
            likes=int(media.get("like_count") or 0), replies=int(media.get("comments_count") or 0)
        )

    # --- the steps -------------------------------------------------------------------------

    def _resume(self, draft: Draft) -> str | None:
        """The saved container's id if it can still be published, "PUBLISHED", or None."""
        assert draft.checkpoint is not None
        status = self._status(draft.checkpoint)
        if status == "PUBLISHED":
            return "PUBLISHED"
        if status in ("FINISHED", "IN_PROGRESS"):
            log.info("resuming Instagram media container %s (%s)", draft.checkpoint, status)
            return draft.checkpoint
        return None  # ERROR or EXPIRED: a new container

    def _check_limit(self, user_id: str) -> None:
        answer = self._get(f"{user_id}/content_publishing_limit", {"fields": "config,quota_usage"})
        data = (answer.get("data") or [{}])[0]
        total = int((data.get("config") or {}).get("quota_total") or 0)
        used = int(data.get("quota_usage") or 0)
        if total and used >= total:
            raise RateLimited(
                f"Instagram's publishing limit is spent ({used} of {total} posts in 24 hours)",
                retry_after=LIMIT_WAIT,
            )

    def _create_container(self, user_id: str, draft: Draft) -> str:
        if not draft.source_url or "<PUBLIC_BASE_URL>" in draft.source_url:
            raise AuthError(
                "the Instagram Graph API fetches the image from a public URL: set "
                "PUBLIC_BASE_URL in .env to where the gallery serves DATA_DIR's images"
            )
        answer = self._post(
            f"{user_id}/media",
            {"image_url": draft.source_url, "caption": draft.caption, "alt_text": draft.alt_text},
        )
        return str(answer["id"])

    def _wait_until_finished(self, container_id: str) -> None:
        for attempt in range(STATUS_POLLS):
            status = self._status(container_id)
            if status == "FINISHED":
                return
            if status == "ERROR":
                raise PublishError(
                    f"Instagram could not process the image (container {container_id} is ERROR): "
                    "check that PUBLIC_BASE_URL serves the image as a public JPEG or PNG"
                )
            if status == "EXPIRED":
                raise NotSent(f"the media container {container_id} expired before publishing")
            if attempt < STATUS_POLLS - 1:
                self.sleep(STATUS_WAIT)
        raise NotSent(
            f"Instagram was still processing the image after {STATUS_POLLS} checks; the next "
            "attempt resumes the same container"
        )

    def _status(self, container_id: str) -> str:
        return str(self._get(container_id, {"fields": "status_code"}).get("status_code") or "")

    def _permalink(self, media_id: str) -> str | None:
        try:
            return str(self._get(media_id, {"fields": "permalink"})["permalink"])
        except Exception:  # noqa: BLE001 - the post is up; only its link is missing
            log.warning("posted to Instagram, but could not read the post's link")
            return None

    def _user(self) -> str:
        if self._user_id is None:
            self._user_id = str(self._get("me", {"fields": "user_id,username"})["user_id"])
        return self._user_id

    # --- the token -------------------------------------------------------------------------

    def _token(self) -> str:
        """The configured long-lived token, or its refreshed successor, refreshed when due."""
        if self._access is not None:
            return self._access
        configured = self.settings.instagram_graph_access_token
        if configured is None or not configured.get_secret_value().strip():
            raise AuthError(
                "Instagram Graph API token is missing: set INSTAGRAM_GRAPH_ACCESS_TOKEN"
            )
        token = configured.get_secret_value().strip()
        origin = hashlib.sha256(token.encode()).hexdigest()[:16]
        saved = self._saved_token()
        expires_at: float | None = None
        if saved.get("origin") == origin:
            token, expires_at = str(saved["access_token"]), float(saved["expires_at"])
        if expires_at is None or expires_at - self.clock() < REFRESH_WITHIN:
            token = self._refresh(token, origin)
        self._access = token
        return token

    def _refresh(self, token: str, origin: str) -> str:
        response = self.session.get(
            f"{GRAPH}/refresh_access_token",
            params={"grant_type": "ig_refresh_token", "access_token": token},
            timeout=TIMEOUT,
        )
        payload = _json(response)
        if response.status_code != 200:
            error = GraphError(response.status_code, payload)
            if error.code == _DEAD_TOKEN:
                raise _dead_token(error)
            # A token under a day old cannot be refreshed yet; it still works.
            log.warning("could not refresh the Instagram token (%s); using it as it is", error)
            return token
        fresh = str(payload["access_token"])
        expires_at = self.clock() + float(payload.get("expires_in") or 0)
        data = {"origin": origin, "access_token": fresh, "expires_at": expires_at}
        write_atomic(self.token_path, json.dumps(data).encode())
        os.chmod(self.token_path, 0o600)
        log.info("refreshed the Instagram token; it now lasts until %s", _day(expires_at))
        return fresh

    def _saved_token(self) -> dict[str, Any]:
        try:
            saved = json.loads(self.token_path.read_text())
        except (OSError, ValueError):
            return {}
        return saved if isinstance(saved, dict) else {}

    # --- HTTP ------------------------------------------------------------------------------

    def _get(self, path: str, params: dict[str, Any]) -> dict[str, Any]:
        return self._request("GET", path, params=params)

    def _post(self, path: str, data: dict[str, Any]) -> dict[str, Any]:
        return self._request("POST", path, data=data)

    def _request(self, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        # The token goes in a header, so it is never part of a URL that an error could quote.
        headers = {"Authorization": f"Bearer {self._token()}"}
        response = self.session.request(
            method, f"{API}/{path}", headers=headers, timeout=TIMEOUT, **kwargs
        )
        payload = _json(response)
        if response.status_code != 200:
            raise GraphError(response.status_code, payload)
        return payload


def _json(response: requests.Response) -> dict[str, Any]:
    try:
        payload = response.json()
    except ValueError:
        return {}
    return payload if isinstance(payload, dict) else {}


def _day(epoch: float) -> str:
    return time.strftime("%Y-%m-%d", time.gmtime(epoch))


def _dead_token(error: GraphError) -> AuthError:
    return AuthError(
        f"Instagram rejected the token ({error.message}): it is dead (expired after 60 days "
        "without a refresh, or revoked). Make a new long-lived token in the Meta app dashboard "
        "(Instagram > API setup with Instagram login > Generate token) and set "
        "INSTAGRAM_GRAPH_ACCESS_TOKEN in .env"
    )


def _map_error(
    exc: BaseException, *, may_have_posted: bool, looking_up: bool = False
) -> PublishError:
    """Classify anything raised while talking to the Graph API: not sent, maybe sent, permanent."""
    if isinstance(exc, PublishError):
        return exc
    if isinstance(exc, GraphError):
        if exc.code == _DEAD_TOKEN or exc.status == 401:
            return _dead_token(exc)
        if exc.status == 429 or exc.code in (4, 17, 32, 613):
            return RateLimited(
                f"Instagram rate limit reached: {exc.message}", retry_after=LIMIT_WAIT
            )
        if exc.code == _NOT_READY:
            return NotSent(f"Instagram says the media is not ready yet: {exc.message}")
        if exc.status >= 500:
            if looking_up:
                return PublishError(f"Instagram answered {exc} while reading recent posts")
            if may_have_posted:
                return MaybeSent(f"Instagram answered {exc} while publishing; it may be up")
            return NotSent(f"Instagram answered {exc} before publishing")
        return PublishError(f"Instagram refused the request: {exc}")
    if isinstance(exc, requests.RequestException):
        if looking_up or not may_have_posted or never_connected(exc):
            return NotSent(f"could not reach Instagram: {type(exc).__name__}")
        return MaybeSent(
            f"the connection to Instagram broke while publishing: {type(exc).__name__}"
        )
    if may_have_posted:
        return MaybeSent(f"unexpected {type(exc).__name__} while publishing: {exc}")
    return PublishError(f"unexpected {type(exc).__name__} talking to Instagram: {exc}")
