"""Fakes for the platforms: X faked at HTTP level (responses), instagrapi at its public methods.

Both keep the state a real platform would (posts, sessions), replay a queue of scripted
failures, record every call, and can persist their state to a JSON file so a test can kill
the process mid-post and check what the "platform" holds afterwards.
"""

from __future__ import annotations

import base64
import io
import json
import os
import re
import signal
import time
from collections import defaultdict, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlparse

import numpy as np
import pyotp
import requests
import responses
from instagrapi import exceptions as ig
from PIL import Image

from bot.captions import build_alt_text, build_caption
from bot.publishers.base import Draft, PostResult
from bot.settings import Settings, load_settings
from core.artwork import Artwork
from storage.db import Database
from storage.files import ImageStore
from storage.repository import store_artwork

# Distinctive values, so a test can scan every output for them.
SECRETS = {
    "TWITTER_API_KEY": "xkey-Sekr1tConsumerKey",
    "TWITTER_API_SECRET": "xsecret-Sekr1tConsumerSecret",
    "TWITTER_ACCESS_TOKEN": "2244994945-Sekr1tAccessToken",
    "TWITTER_ACCESS_TOKEN_SECRET": "xtoken-Sekr1tAccessTokenSecret",
    "INSTAGRAM_PASSWORD": "ig-Sekr1t-Passw0rd",
    "INSTAGRAM_TOTP_SECRET": "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP",
    "MASTODON_ACCESS_TOKEN": "mastodon-Sekr1tAccessToken-Zq9",
    "BLUESKY_APP_PASSWORD": "bsky-sekr-1tap-pass",
    "INSTAGRAM_GRAPH_ACCESS_TOKEN": "IGAAsekr1tLongLivedGraphToken",
}
INSTAGRAM_USERNAME = "kavi.poet"
# The public (not secret) settings of the newer platforms.
PUBLIC_VALUES = {
    "mastodon": {"MASTODON_API_BASE_URL": "https://mastodon.example"},
    "bluesky": {"BLUESKY_HANDLE": "kavi.bsky.social"},
    "instagram_graph": {"PUBLIC_BASE_URL": "https://kavi.example"},
}
_SECRET_PREFIXES = {
    "mastodon": "MASTODON_",
    "bluesky": "BLUESKY_",
    "instagram_graph": "INSTAGRAM_GRAPH_",
}
X_USER_ID = "1849900000000000001"
X_USERNAME = "kavi_poet"


def publisher_env(*platforms: str) -> dict[str, str]:
    """Environment variables that enable the given platforms with the fake credentials."""
    env = {"PUBLISHERS": ",".join(platforms)}
    if "twitter" in platforms:
        env.update({k: v for k, v in SECRETS.items() if k.startswith("TWITTER_")})
    if "instagram" in platforms:
        env.update(
            {
                k: v
                for k, v in SECRETS.items()
                if k.startswith("INSTAGRAM_") and not k.startswith("INSTAGRAM_GRAPH_")
            }
        )
        env["INSTAGRAM_USERNAME"] = INSTAGRAM_USERNAME
    for platform, prefix in _SECRET_PREFIXES.items():
        if platform in platforms:
            env.update({k: v for k, v in SECRETS.items() if k.startswith(prefix)})
            env.update(PUBLIC_VALUES[platform])
    return env


def fake_settings(data_dir: Path, *platforms: str, **overrides: Any) -> Settings:
    """Settings for `data_dir` with the given platforms enabled and the fake credentials."""
    values: dict[str, Any] = {"data_dir": data_dir, "image_size": 256}
    values.update({k.lower(): v for k, v in publisher_env(*platforms).items()})
    values["publishers"] = list(platforms)
    values.update(overrides)
    return load_settings(**values)


def store_sample_artwork(db: Database, store: ImageStore, seed: int = 1) -> Artwork:
    """A small, real, stored artwork (PNG on disk, row in the database) without the chain."""
    rng = np.random.default_rng(seed)
    image = Image.fromarray(rng.integers(0, 255, (96, 96, 3), dtype=np.uint8))
    poem = [f"moon on still water {seed}", "a heron lifts the silence", "ripples keep the sky"]
    artwork = Artwork(
        seed=seed,
        poem="\n".join(poem),
        poem_engine="grammar",
        prompt="moon over water, heron",
        image_engine="procedural",
        mood="love",
        style_engine="classic",
        caption=build_caption(
            poem,
            "love & wonder",
            hashtags=["#haiku", "#aiart", "#generativeart", "#poetry", "#kavi", "#art"],
            signature="\u2014 Kavi, an AI poet-painter",
        ),
        alt_text=build_alt_text("a heron over moonlit water", poem, "love"),
    )
    return store_artwork(db, store, artwork, image, image)


# --- X -----------------------------------------------------------------------------------


@dataclass
class Reply:
    """One scripted answer: an HTTP status with a JSON body and headers, or an exception.

    `accept` makes the fake do the work first (store the post), then answer with this: the
    "failed after acceptance" case.
    """

    status: int = 200
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    error: Exception | None = None
    accept: bool = False


def x_problem(status: int, title: str, detail: str) -> dict[str, Any]:
    return {"title": title, "type": "about:blank", "status": status, "detail": detail}


DUPLICATE = Reply(
    403,
    x_problem(403, "Forbidden", "You are not allowed to create a Tweet with duplicate content."),
)
UNAUTHORIZED = Reply(401, x_problem(401, "Unauthorized", "Unauthorized"))
SERVICE_UNAVAILABLE = Reply(503, x_problem(503, "Service Unavailable", "Service Unavailable"))


def too_many_requests(reset_in: float, *, daily: bool = False) -> Reply:
    reset = str(int(time.time() + reset_in))
    headers = {"x-rate-limit-limit": "100", "x-rate-limit-remaining": "0"}
    if daily:
        headers.update(
            {
                "x-rate-limit-reset": str(int(time.time() + 60)),
                "x-user-limit-24hour-limit": "17",
                "x-user-limit-24hour-remaining": "0",
                "x-user-limit-24hour-reset": reset,
            }
        )
    else:
        headers["x-rate-limit-reset"] = reset
    return Reply(429, {"title": "Too Many Requests", "detail": "Too Many Requests",
                       "type": "about:blank", "status": 429}, headers)  # fmt: skip


class FakeX:
    """X API v2 as seen through `responses`: media upload, metadata, posts, me, timeline."""

    UPLOAD = "https://api.x.com/2/media/upload"
    METADATA = "https://api.x.com/2/media/metadata"
    TWEETS = "https://api.twitter.com/2/tweets"
    ME = "https://api.twitter.com/2/users/me"
    TIMELINE = re.compile(r"https://api\.twitter\.com/2/users/(\d+)/tweets")
    TWEET = re.compile(r"https://api\.twitter\.com/2/tweets/(\d+)")

    def __init__(self, mock: responses.RequestsMock, *, state_file: Path | None = None) -> None:
        self.state_file = state_file
        self.tweets: list[dict[str, Any]] = []
        self.media: dict[str, dict[str, Any]] = {}
        if state_file and state_file.exists():
            saved = json.loads(state_file.read_text())
            self.tweets, self.media = saved["tweets"], saved["media"]
        self.replies: dict[str, deque[Reply]] = defaultdict(deque)
        self.calls: list[tuple[str, str, requests.PreparedRequest]] = []
        self.kill_after: str | None = None
        self._ids = 1860000000000000000 + len(self.tweets) * 1000 + len(self.media)
        mock.add_callback("POST", self.UPLOAD, self._upload)
        mock.add_callback("POST", self.METADATA, self._metadata)
        mock.add_callback("POST", self.TWEETS, self._create)
        mock.add_callback("GET", self.ME, self._me)
        mock.add_callback("GET", self.TIMELINE, self._timeline)
        mock.add_callback("GET", self.TWEET, self._tweet)

    def script(self, endpoint: str, *replies: Reply) -> None:
        """Queue answers for an endpoint ("upload", "metadata", "create", "me", "timeline")."""
        self.replies[endpoint].extend(replies)

    def calls_to(self, endpoint: str) -> list[requests.PreparedRequest]:
        return [request for name, _, request in self.calls if name == endpoint]

    def texts(self) -> list[str]:
        return [t["text"] for t in self.tweets]

    def _next_id(self) -> str:
        self._ids += 1
        return str(self._ids)

    def _save(self) -> None:
        if self.state_file:
            data = json.dumps({"tweets": self.tweets, "media": self.media}).encode()
            tmp = self.state_file.with_suffix(".tmp")
            tmp.write_bytes(data)
            os.replace(tmp, self.state_file)

    def _handle(self, endpoint: str, request: requests.PreparedRequest, work: Any) -> Any:
        self.calls.append((endpoint, request.method or "", request))
        auth = request.headers.get("Authorization", "")
        auth = auth.decode() if isinstance(auth, bytes) else auth
        if not auth.startswith("OAuth ") or SECRETS["TWITTER_API_KEY"] not in unquote(auth):
            return _json(401, x_problem(401, "Unauthorized", "Unauthorized"))
        return scripted_answer(
            self.replies[endpoint], request, work, die=self.kill_after == endpoint
        )

    def _upload(self, request: requests.PreparedRequest) -> Any:
        def work(request: requests.PreparedRequest) -> Any:
            payload = request_json(request)
            data = base64.b64decode(payload["media"])
            with Image.open(io.BytesIO(data)) as image:
                width, height = image.size
            media_id = self._next_id()
            self.media[media_id] = {"type": payload["media_type"], "alt": None, "size": len(data)}
            self._save()
            return _json(
                200,
                {
                    "data": {
                        "id": media_id,
                        "media_key": f"3_{media_id}",
                        "size": len(data),
                        "expires_after_secs": 86400,
                        "image": {"image_type": payload["media_type"], "w": width, "h": height},
                    }
                },
            )

        return self._handle("upload", request, work)

    def _metadata(self, request: requests.PreparedRequest) -> Any:
        def work(request: requests.PreparedRequest) -> Any:
            payload = request_json(request)
            media = self.media.get(payload["id"])
            if media is None:
                return _json(400, x_problem(400, "Invalid Request", "media id not found"))
            media["alt"] = payload["metadata"]["alt_text"]["text"]
            self._save()
            return _json(
                200,
                {
                    "data": {
                        "id": payload["id"],
                        "associated_metadata": {"alt_text": {"text": media["alt"]}},
                    }
                },
            )

        return self._handle("metadata", request, work)

    def _create(self, request: requests.PreparedRequest) -> Any:
        def work(request: requests.PreparedRequest) -> Any:
            payload = request_json(request)
            text = payload["text"]
            if any(t["text"] == text for t in self.tweets):
                return _json(DUPLICATE.status, DUPLICATE.body)
            tweet_id = self._next_id()
            media_ids = payload.get("media", {}).get("media_ids", [])
            self.tweets.append({"id": tweet_id, "text": text, "media_ids": media_ids})
            self._save()
            return _json(
                201, {"data": {"id": tweet_id, "text": text, "edit_history_tweet_ids": [tweet_id]}}
            )

        return self._handle("create", request, work)

    def _me(self, request: requests.PreparedRequest) -> Any:
        def work(request: requests.PreparedRequest) -> Any:
            return _json(200, {"data": {"id": X_USER_ID, "name": "Kavi", "username": X_USERNAME}})

        return self._handle("me", request, work)

    def _tweet(self, request: requests.PreparedRequest) -> Any:
        def work(request: requests.PreparedRequest) -> Any:
            tweet_id = urlparse(request.url or "").path.rsplit("/", 1)[-1]
            tweet = next((t for t in self.tweets if t["id"] == tweet_id), None)
            if tweet is None:
                return _json(200, {"errors": [{"title": "Not Found Error", "value": tweet_id}]})
            metrics = {"retweet_count": 0, "reply_count": 0, "like_count": 0, "quote_count": 0}
            metrics.update(tweet.get("public_metrics", {}))
            data = {"id": tweet_id, "text": tweet["text"], "public_metrics": metrics}
            return _json(200, {"data": {**data, "edit_history_tweet_ids": [tweet_id]}})

        return self._handle("tweet", request, work)

    def _timeline(self, request: requests.PreparedRequest) -> Any:
        def work(request: requests.PreparedRequest) -> Any:
            query = parse_qs(urlparse(request.url or "").query)
            limit = int(query.get("max_results", ["10"])[0])
            newest = list(reversed(self.tweets))[:limit]
            if not newest:
                return _json(200, {"meta": {"result_count": 0}})
            # As X shows them: HTML-escaped, with the media's t.co link appended.
            data = [
                {
                    "id": t["id"],
                    "text": _escape(t["text"]) + f" https://t.co/{t['id'][-10:]}",
                    "edit_history_tweet_ids": [t["id"]],
                }
                for t in newest
            ]
            meta = {
                "result_count": len(data),
                "newest_id": data[0]["id"],
                "oldest_id": data[-1]["id"],
            }
            return _json(200, {"data": data, "meta": meta})

        return self._handle("timeline", request, work)


def scripted_answer(
    replies: deque[Reply],
    request: requests.PreparedRequest,
    work: Callable[[requests.PreparedRequest], Any],
    *,
    die: bool,
) -> Any:
    """A fake platform's answer: the next scripted reply, else what `work` does.

    A reply that `accept`s lets the platform do the work first and then answers as scripted
    (a 5xx after the post was made). With `die`, the process is killed right after the work:
    the platform has it, the client never reads the answer.
    """
    reply = replies.popleft() if replies else None
    if reply is None or reply.accept:
        answer = work(request)
        if die:
            os.kill(os.getpid(), signal.SIGKILL)
        if reply is None:
            return answer
    if reply.error is not None:
        return reply.error
    return _json(reply.status, reply.body, reply.headers)


def request_json(request: requests.PreparedRequest) -> Any:
    body = request.body or b"{}"
    return json.loads(body if isinstance(body, str | bytes) else b"{}")


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _json(
    status: int, body: Any, headers: dict[str, str] | None = None
) -> tuple[int, dict[str, str], str]:
    base = {
        "content-type": "application/json; charset=utf-8",
        "x-rate-limit-limit": "100",
        "x-rate-limit-remaining": "99",
        "x-rate-limit-reset": str(int(time.time()) + 900),
    }
    return status, {**base, **(headers or {})}, json.dumps(body)


# --- Instagram -----------------------------------------------------------------------------


@dataclass
class FakeMedia:
    """The fields of instagrapi's Media that a publisher reads."""

    pk: str
    id: str
    code: str
    caption_text: str
    accessibility_caption: str | None


class FakeInstagram:
    """The Instagram "server" behind fake instagrapi clients: accounts, sessions and posts."""

    def __init__(
        self,
        *,
        password: str = SECRETS["INSTAGRAM_PASSWORD"],
        totp_secret: str | None = None,
        state_file: Path | None = None,
    ) -> None:
        self.username = INSTAGRAM_USERNAME
        self.password = password
        self.totp_secret = totp_secret
        self.user_pk = "51234567890"
        self.state_file = state_file
        self.sessions: list[str] = []
        self.medias: list[dict[str, Any]] = []
        if state_file and state_file.exists():
            saved = json.loads(state_file.read_text())
            self.sessions, self.medias = saved["sessions"], saved["medias"]
        self.failures: dict[str, deque[tuple[Exception, bool]]] = defaultdict(deque)
        self.calls: list[str] = []
        self.password_logins = 0
        self.challenge = False

    def client(self) -> FakeInstagramClient:
        """The client factory a publisher is given instead of instagrapi.Client."""
        return FakeInstagramClient(self)

    def fail(self, method: str, error: Exception, *, after_posting: bool = False) -> None:
        """Make the next call of `method` raise `error` (after doing its work, if asked)."""
        self.failures[method].append((error, after_posting))

    def expire_sessions(self) -> None:
        self.sessions.clear()
        self._save()

    def captions(self) -> list[str]:
        return [m["caption"] for m in self.medias]

    def _save(self) -> None:
        if self.state_file:
            data = {"sessions": self.sessions, "medias": self.medias}
            self.state_file.write_text(json.dumps(data))

    def _failure(self, method: str) -> tuple[Exception, bool] | None:
        return self.failures[method].popleft() if self.failures[method] else None


class FakeInstagramClient:
    """instagrapi.Client's public methods that Kavi uses, backed by a FakeInstagram."""

    def __init__(self, server: FakeInstagram) -> None:
        self.server = server
        self.settings: dict[str, Any] = {"uuids": {"uuid": f"device-{id(self)}"}}
        self.logged_in = False

    @property
    def user_id(self) -> int | None:
        sessionid = self.settings.get("authorization_data", {}).get("sessionid")
        return int(self.server.user_pk) if sessionid else None

    def load_settings(self, path: Path, override_app_version: bool = False) -> dict[str, Any]:
        self.server.calls.append("load_settings")
        self.settings = json.loads(Path(path).read_text())
        return self.settings

    def get_settings(self) -> dict[str, Any]:
        return json.loads(json.dumps(self.settings))

    def set_settings(self, settings: dict[str, Any]) -> bool:
        self.settings = dict(settings)
        return True

    def set_uuids(self, uuids: dict[str, Any]) -> bool:
        self.settings["uuids"] = dict(uuids)
        return True

    def login(
        self,
        username: str | None = None,
        password: str | None = None,
        relogin: bool = False,
        verification_code: str = "",
    ) -> bool:
        server = self.server
        failure = server._failure("login")
        if failure:
            raise failure[0]
        sessionid = self.settings.get("authorization_data", {}).get("sessionid")
        # Like instagrapi: a saved session is checked, and a refused one means a password login.
        if sessionid and not relogin and sessionid in server.sessions:
            server.calls.append("login:session")
            self.logged_in = True
            return True
        server.calls.append("login:password")
        if server.challenge:
            raise ig.ChallengeRequired("challenge_required")
        if username != server.username or password != server.password:
            raise ig.BadPassword(
                "The password you entered is incorrect. Please try again.",
                response=None,
            )
        if server.totp_secret and verification_code != pyotp.TOTP(server.totp_secret).now():
            raise ig.TwoFactorRequired("Two-factor authentication required")
        server.password_logins += 1
        new_session = f"session-{len(server.sessions) + server.password_logins}"
        server.sessions.append(new_session)
        server._save()
        self.settings["authorization_data"] = {
            "ds_user_id": server.user_pk,
            "sessionid": new_session,
        }
        self.settings["cookies"] = {"sessionid": new_session}
        self.logged_in = True
        return True

    def _check_session(self) -> None:
        sessionid = self.settings.get("authorization_data", {}).get("sessionid")
        if not self.logged_in or sessionid not in self.server.sessions:
            raise ig.LoginRequired("login_required")

    def photo_upload(
        self, path: Path, caption: str, extra_data: dict[str, object] | None = None, **_: Any
    ) -> FakeMedia:
        server = self.server
        server.calls.append("photo_upload")
        failure = server._failure("photo_upload")
        if failure and not failure[1]:
            raise failure[0]
        self._check_session()
        with Image.open(path) as image:
            assert image.format == "JPEG", image.format
            width, height = image.size
        assert width == 1080 and 0.8 <= width / height <= 1.91, (width, height)
        # As in instagrapi: the photo is uploaded first, then `photo_configure` makes the post.
        media = self.photo_configure(caption, extra_data or {})
        if failure:
            raise failure[0]
        return media

    def photo_configure(self, caption: str, extra_data: dict[str, object]) -> FakeMedia:
        server = self.server
        pk = str(3400000000000000000 + len(server.medias) + 1)
        media = {
            "pk": pk,
            "code": f"C{pk[-9:]}",
            "caption": caption,
            "alt": extra_data.get("custom_accessibility_caption"),
        }
        server.medias.append(media)
        server._save()
        return _media(media, server.user_pk)

    def user_medias_v1(self, user_id: str, amount: int = 0) -> list[FakeMedia]:
        self.server.calls.append("user_medias_v1")
        failure = self.server._failure("user_medias_v1")
        if failure:
            raise failure[0]
        self._check_session()
        newest = list(reversed(self.server.medias))
        return [_media(m, self.server.user_pk) for m in newest[: amount or None]]


def _media(media: dict[str, Any], user_pk: str) -> FakeMedia:
    return FakeMedia(
        pk=media["pk"],
        id=f"{media['pk']}_{user_pk}",
        code=media["code"],
        caption_text=media["caption"],
        accessibility_caption=media["alt"],
    )


# --- a publisher with scripted outcomes ----------------------------------------------------


class ScriptedPublisher:
    """A Publisher whose `publish` replays a queue of results or errors, recording each call."""

    def __init__(self, name: str = "scripted", *outcomes: PostResult | BaseException) -> None:
        self.name = name
        self.outcomes: deque[PostResult | BaseException] = deque(outcomes)
        self.published: list[Draft] = []
        self.posted: list[PostResult] = []
        self.on_publish: Callable[[Draft], None] | None = None
        self.lookup_error: Exception | None = None

    def fit(self, artwork: Artwork, image_path: Path) -> Draft:
        return Draft(self.name, "artwork.png", image_path.read_bytes(), artwork.caption, "alt")

    def publish(self, draft: Draft) -> PostResult:
        self.published.append(draft)
        if self.on_publish:
            self.on_publish(draft)
        outcome = (
            self.outcomes.popleft()
            if self.outcomes
            else PostResult(
                f"{self.name}-{len(self.published)}", f"https://example.test/{len(self.published)}"
            )
        )
        if isinstance(outcome, BaseException):
            raise outcome
        self.posted.append(outcome)
        return outcome

    def find_existing(self, draft: Draft) -> PostResult | None:
        if self.lookup_error:
            raise self.lookup_error
        return self.posted[-1] if self.posted else None

    def lands(self, result: PostResult, error: BaseException) -> None:
        """Script a call that reaches the platform, then fails on the way back."""
        self.posted.append(result)
        self.outcomes.append(error)
