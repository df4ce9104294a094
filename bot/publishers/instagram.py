"""Instagram through instagrapi, with the login session kept under DATA_DIR and reused.

Logging in with a password every day is what gets automated accounts challenged, so the
session (cookies and device ids, never the password) is saved to
DATA_DIR/sessions/instagram.json (mode 0600) and loaded first; a password login happens only
when Instagram no longer accepts that session.
"""

from __future__ import annotations

import json
import logging
import math
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

from bot.publishers.base import (
    Draft,
    PostResult,
    fit_alt_text,
    fit_caption,
    hashtags_in,
    normalise_caption,
)
from bot.publishers.errors import AuthError, MaybeSent, NotSent, PublishError, RateLimited
from storage.files import jpeg_bytes, write_atomic

if TYPE_CHECKING:
    from PIL.Image import Image

    from bot.settings import Settings
    from core.artwork import Artwork

log = logging.getLogger(__name__)

SESSION_FILE = Path("sessions") / "instagram.json"
WIDTH = 1080
MIN_ASPECT, MAX_ASPECT = 4 / 5, 1.91  # width / height Instagram keeps uncropped in the feed
MAX_CAPTION = 2200
MAX_HASHTAGS = 5
MAX_ALT_TEXT = 1000
RECENT_POSTS = 12
# Instagram's "please wait a few minutes" gives no number, and pressing on risks a block:
# half an hour is past the wait Kavi sits out, so the post fails with advice instead.
THROTTLE_WAIT = 1800.0
POST_URL = "https://www.instagram.com/p/{code}/"
# instagrapi sets no timeout, so one hung connection would hold the daily run for ever.
# (connect, read) seconds; its curl transport for the private API turns the pair into a
# 10 s connect limit and a 130 s limit on the whole request, photo upload included.
TIMEOUT = (10.0, 120.0)

ClientFactory = Callable[[], Any]


def default_client() -> Any:
    """An instagrapi client fit for a daemon: request timeouts, and no prompts on stdin."""
    from instagrapi import Client

    # A human-like pause between the requests of one login or upload.
    client = Client(delay_range=[1, 3])
    for session in (client.private, client.public, client.graphql):
        with_default_timeout(session, TIMEOUT)
    # instagrapi's default handlers call input(), which would block the service for ever.
    client.challenge_code_handler = _refuse_challenge
    client.change_password_handler = _refuse_challenge
    return client


def with_default_timeout(session: Any, timeout: float | tuple[float, float]) -> None:
    """Make a requests session pass `timeout` to every request that does not set one."""
    send = session.request

    def request(method: str, url: str, *args: Any, **kwargs: Any) -> Any:
        # instagrapi passes timeout=None explicitly on some calls, which means "wait for ever".
        if kwargs.get("timeout") is None:
            kwargs["timeout"] = timeout
        return send(method, url, *args, **kwargs)

    session.request = request


def _refuse_challenge(username: str, *_: object) -> NoReturn:
    from instagrapi.exceptions import ChallengeRequired

    raise ChallengeRequired(
        f"Instagram asked {username} for a verification code or a new password, "
        "which an unattended service cannot give"
    )


class InstagramPublisher:
    """Posts a photo with caption and alt text to the configured Instagram account."""

    name = "instagram"

    def __init__(self, settings: Settings, *, client_factory: ClientFactory | None = None) -> None:
        self.settings = settings
        self.client_factory = client_factory or default_client
        self.session_path = settings.data_dir / SESSION_FILE
        self._client: Any = None

    # --- fitting ---------------------------------------------------------------------------

    def fit(self, artwork: Artwork, image_path: Path) -> Draft:
        """A 1080-px-wide JPEG between 4:5 and 1.91:1, at most 5 hashtags and 2,200 characters."""
        from PIL import Image

        with Image.open(image_path) as opened:
            image = fit_image(opened)
        caption, notes = fit_caption(
            artwork.caption, fits=lambda text: len(text) <= MAX_CAPTION, max_hashtags=MAX_HASHTAGS
        )
        notes += (
            f"{image.width}x{image.height} JPEG, caption {len(caption)}/{MAX_CAPTION} characters, "
            f"{len(hashtags_in(caption))}/{MAX_HASHTAGS} hashtags",
        )
        return Draft(
            platform=self.name,
            filename="artwork.jpg",
            media=jpeg_bytes(image, quality=92),
            caption=caption,
            alt_text=fit_alt_text(artwork.alt_text, MAX_ALT_TEXT),
            notes=notes,
        )

    # --- sending ---------------------------------------------------------------------------

    def publish(self, draft: Draft) -> PostResult:
        client = self._logged_in()
        with tempfile.TemporaryDirectory(prefix="kavi-instagram-") as folder:
            # instagrapi uploads from a path.
            path = Path(folder) / draft.filename
            path.write_bytes(draft.media)
            # Only once instagrapi sends `configure` can a post exist; an error before that
            # (the photo upload itself) certainly posted nothing and may be retried.
            configure = client.photo_configure
            configure_sent = False

            def tracked_configure(*args: Any, **kwargs: Any) -> Any:
                nonlocal configure_sent
                configure_sent = True
                return configure(*args, **kwargs)

            client.photo_configure = tracked_configure
            try:
                media = client.photo_upload(
                    path,
                    draft.caption,
                    extra_data={"custom_accessibility_caption": draft.alt_text},
                )
            except Exception as exc:  # noqa: BLE001 - mapped in one place
                error = _map_error(exc, may_have_posted=configure_sent)
                if _session_rejected(exc):
                    self._forget_session()
                raise error from exc
            finally:
                del client.photo_configure
        log.info("posted to Instagram: %s", media.code)
        return PostResult(remote_id=str(media.pk), url=POST_URL.format(code=media.code))

    def find_existing(self, draft: Draft) -> PostResult | None:
        """Look for the draft's caption among the account's most recent posts."""
        client = self._logged_in()
        wanted = normalise_caption(draft.caption)
        try:
            medias = client.user_medias_v1(str(client.user_id), amount=RECENT_POSTS)
        except Exception as exc:  # noqa: BLE001 - mapped in one place
            raise _map_error(exc, may_have_posted=False) from exc
        for media in medias:
            if normalise_caption(media.caption_text or "") == wanted:
                return PostResult(remote_id=str(media.pk), url=POST_URL.format(code=media.code))
        return None

    # --- the session -----------------------------------------------------------------------

    def _logged_in(self) -> Any:
        if self._client is not None:
            return self._client
        username, password = self._credentials()
        client = self.client_factory()
        try:
            reused = self._load_session(client)
            try:
                # With a loaded session instagrapi checks it and logs in again only if refused.
                client.login(username, password, verification_code=self._totp_code())
            except Exception as exc:
                if not (reused and _session_rejected(exc)):
                    raise
                log.info("the saved Instagram session was refused; logging in with the password")
                device = client.get_settings().get("uuids")
                client = self.client_factory()
                if device:
                    client.set_uuids(device)
                client.login(username, password, verification_code=self._totp_code())
        except Exception as exc:  # noqa: BLE001 - mapped in one place
            raise _map_error(exc, may_have_posted=False) from exc
        self._save_session(client)
        self._client = client
        return client

    def _credentials(self) -> tuple[str, str]:
        username = (self.settings.instagram_username or "").strip()
        password = self.settings.instagram_password
        if not username or password is None or not password.get_secret_value():
            raise AuthError(
                "Instagram credentials are missing: set INSTAGRAM_USERNAME and "
                "INSTAGRAM_PASSWORD in .env"
            )
        return username, password.get_secret_value()

    def _totp_code(self) -> str:
        secret = self.settings.instagram_totp_secret
        if secret is None or not secret.get_secret_value().strip():
            return ""
        import pyotp

        try:
            return str(pyotp.TOTP(secret.get_secret_value().replace(" ", "")).now())
        except (ValueError, TypeError):
            raise AuthError(
                "INSTAGRAM_TOTP_SECRET is not a valid authenticator key (base32, as Instagram "
                "shows it when you set up an authentication app)"
            ) from None

    def _load_session(self, client: Any) -> bool:
        if not self.session_path.is_file():
            return False
        try:
            json.loads(self.session_path.read_text())
            client.load_settings(self.session_path)
        except (OSError, ValueError) as exc:
            log.warning("ignoring the unreadable Instagram session file (%s)", type(exc).__name__)
            return False
        return True

    def _save_session(self, client: Any) -> None:
        self.session_path.parent.mkdir(parents=True, exist_ok=True)
        os.chmod(self.session_path.parent, 0o700)
        data = json.dumps(client.get_settings(), indent=2, default=str).encode()
        write_atomic(self.session_path, data, mode=0o600)

    def _forget_session(self) -> None:
        self._client = None


def fit_image(image: Image) -> Image:
    """Pad (never crop) into Instagram's 4:5..1.91:1 range and scale to 1080 px wide, as RGB."""
    from PIL import Image as PILImage
    from PIL import ImageStat

    rgb = image.convert("RGB")
    aspect = rgb.width / rgb.height
    if aspect < MIN_ASPECT or aspect > MAX_ASPECT:
        width, height = rgb.width, rgb.height
        if aspect < MIN_ASPECT:
            width = round(height * MIN_ASPECT)
        else:
            height = round(width / MAX_ASPECT)
        # The painting's own average colour, so the padding reads as a mount.
        fill = tuple(int(v) for v in ImageStat.Stat(rgb).mean[:3])
        canvas = PILImage.new("RGB", (width, height), fill)
        canvas.paste(rgb, ((width - rgb.width) // 2, (height - rgb.height) // 2))
        rgb = canvas
    # Rounding must not push the scaled image back out of the range.
    height = round(rgb.height * WIDTH / rgb.width)
    height = min(max(height, math.ceil(WIDTH / MAX_ASPECT)), math.floor(WIDTH / MIN_ASPECT))
    return rgb.resize((WIDTH, height), PILImage.Resampling.LANCZOS)


def _session_rejected(exc: BaseException) -> bool:
    from instagrapi import exceptions as ig

    return isinstance(exc, ig.LoginRequired | ig.ClientLoginRequired | ig.ReloginAttemptExceeded)


def _map_error(exc: BaseException, *, may_have_posted: bool) -> PublishError:
    """Classify anything instagrapi raised: not sent, maybe sent, or permanent with advice."""
    import requests
    from instagrapi import exceptions as ig

    if isinstance(exc, PublishError):
        return exc
    retry_later = "then run `python -m bot retry ARTWORK_ID --platform instagram`"
    if isinstance(exc, ig.ChallengeError | ig.CaptchaChallengeRequired):
        return AuthError(
            "Instagram wants to confirm it is you (a challenge): open the Instagram app on a "
            "phone or browser you normally use, approve the login (\u201cThis was me\u201d) or "
            f"complete the check, {retry_later}; Kavi will not retry this by itself"
        )
    if isinstance(exc, ig.AccountSuspended):
        return AuthError(
            "Instagram says the account is suspended or disabled: sign in to the Instagram app to "
            "see why and appeal; Kavi will not post there until it is restored"
        )
    if isinstance(exc, ig.TwoFactorRequired):
        return AuthError(
            "Instagram asks for a two-factor code: set INSTAGRAM_TOTP_SECRET to the key of the "
            "account's authentication app (a code sent by SMS cannot be automated), or the code "
            "given was refused"
        )
    if isinstance(exc, ig.BadPassword | ig.BadCredentials):
        return AuthError(
            "Instagram refused the username or password: check INSTAGRAM_USERNAME and "
            "INSTAGRAM_PASSWORD"
        )
    if isinstance(exc, ig.LoginRequired | ig.ClientLoginRequired | ig.ReloginAttemptExceeded):
        return NotSent("the Instagram session expired; it will log in again")
    if isinstance(exc, ig.FeedbackRequired | ig.SentryBlock):
        return PublishError(
            f"Instagram blocked the action ({_message(exc)}): this is usually a temporary block "
            f"on automated activity; wait a day, {retry_later}"
        )
    if isinstance(exc, ig.PleaseWaitFewMinutes | ig.RateLimitError | ig.ClientThrottledError):
        return RateLimited(
            f"Instagram asks us to slow down ({_message(exc)})", retry_after=THROTTLE_WAIT
        )
    if may_have_posted and isinstance(exc, ig.PhotoConfigureError):
        # Raised after the configure request went out, e.g. when Instagram answered it
        # without the new media and the post was not yet visible: it may well be up.
        return MaybeSent(
            f"Instagram did not confirm the post ({_message(exc)}); it may have gone out"
        )
    if isinstance(exc, ig.PhotoNotUpload | ig.ClientBadRequestError):
        return PublishError(f"Instagram rejected the photo or caption: {_message(exc)}")
    transport = (
        ig.ClientConnectionError,
        ig.ClientRequestTimeout,
        ig.ClientIncompleteReadError,
        ig.ClientJSONDecodeError,
        # instagrapi lets a read timeout (and any error of a request it makes directly,
        # like the photo upload itself) through unwrapped.
        requests.RequestException,
        ConnectionError,
        TimeoutError,
    )
    if isinstance(exc, transport) or isinstance(exc, ig.ClientError) and _is_server_error(exc):
        if may_have_posted:
            return MaybeSent(
                f"the upload to Instagram was interrupted ({_message(exc)}); it may have gone out"
            )
        return NotSent(f"could not reach Instagram: {_message(exc)}")
    if may_have_posted:
        return MaybeSent(f"unexpected {type(exc).__name__} while posting: {_message(exc)}")
    return PublishError(f"Instagram refused the request: {type(exc).__name__}: {_message(exc)}")


def _is_server_error(exc: BaseException) -> bool:
    code = getattr(exc, "code", None)
    return isinstance(code, int) and code >= 500


def _message(exc: BaseException) -> str:
    text = str(getattr(exc, "message", "") or exc or type(exc).__name__)
    return text.splitlines()[0][:300] if text else type(exc).__name__
