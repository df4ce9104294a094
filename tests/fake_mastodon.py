"""A Mastodon instance faked at HTTP level (responses), with the payloads a 4.3 instance sends.

It keeps statuses and media, honours `Idempotency-Key` as Mastodon does (a replayed key
returns the first status), processes media after a poll or two, and replays scripted
failures (`Reply` from tests.fakes), optionally after doing the work (`accept=True`).
"""

from __future__ import annotations

import html
import re
from collections import defaultdict, deque
from collections.abc import Callable
from email.parser import BytesParser
from email.policy import HTTP
from typing import Any
from urllib.parse import parse_qs

import requests
import responses

from tests.fakes import SECRETS, Reply, _json, scripted_answer

INSTANCE = "https://mastodon.example"
ACCOUNT_ID = "109348209234982342"
USERNAME = "kavi"


def instance_v2(max_characters: int = 500, image_size_limit: int = 16777216) -> dict[str, Any]:
    """GET /api/v2/instance as Mastodon 4.3 answers it (trimmed to the parts clients read)."""
    return {
        "domain": "mastodon.example",
        "title": "Mastodon Example",
        "version": "4.3.2",
        "source_url": "https://github.com/mastodon/mastodon",
        "description": "An instance for tests.",
        "usage": {"users": {"active_month": 1234}},
        "thumbnail": {"url": f"{INSTANCE}/packs/media/images/preview.png"},
        "languages": ["en"],
        "configuration": {
            "urls": {"streaming": "wss://mastodon.example"},
            "accounts": {"max_featured_tags": 10, "max_pinned_statuses": 5},
            "statuses": {
                "max_characters": max_characters,
                "max_media_attachments": 4,
                "characters_reserved_per_url": 23,
            },
            "media_attachments": {
                "supported_mime_types": ["image/jpeg", "image/png", "image/gif", "image/webp"],
                "description_limit": 1500,
                "image_size_limit": image_size_limit,
                "image_matrix_limit": 33177600,
                "video_size_limit": 103809024,
                "video_frame_rate_limit": 120,
                "video_matrix_limit": 8294400,
            },
            "polls": {"max_options": 4, "max_characters_per_option": 50},
            "translation": {"enabled": False},
        },
        "registrations": {"enabled": False, "approval_required": False, "message": None},
        "api_versions": {"mastodon": 2},
        "contact": {"email": "admin@mastodon.example", "account": None},
        "rules": [],
    }


def account() -> dict[str, Any]:
    return {
        "id": ACCOUNT_ID,
        "username": USERNAME,
        "acct": USERNAME,
        "display_name": "Kavi",
        "locked": False,
        "bot": True,
        "created_at": "2026-01-01T00:00:00.000Z",
        "note": "<p>An AI poet-painter</p>",
        "url": f"{INSTANCE}/@{USERNAME}",
        "avatar": f"{INSTANCE}/avatars/original/missing.png",
        "followers_count": 12,
        "following_count": 0,
        "statuses_count": 3,
        "fields": [],
        "emojis": [],
    }


def unauthorized() -> Reply:
    return Reply(401, {"error": "The access token is invalid"})


def rate_limited(reset_epoch: int) -> Reply:
    # Mastodon sends the reset as an ISO 8601 time.
    from datetime import UTC, datetime

    reset = datetime.fromtimestamp(reset_epoch, UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")
    headers = {"X-RateLimit-Limit": "300", "X-RateLimit-Remaining": "0", "X-RateLimit-Reset": reset}
    return Reply(429, {"error": "Too many requests"}, headers)


def server_error() -> Reply:
    return Reply(503, {"error": "Service Unavailable"})


def _render(text: str) -> str:
    """A status's text as the HTML content Mastodon renders it to (paragraphs, tags, breaks)."""

    def tag(match: re.Match[str]) -> str:
        name = match.group(1)
        return (
            f'<a href="{INSTANCE}/tags/{name.lower()}" class="mention hashtag" rel="tag">'
            f"#<span>{name}</span></a>"
        )

    paragraphs = []
    for paragraph in text.split("\n\n"):
        escaped = html.escape(paragraph, quote=False).replace("\n", "<br />")
        paragraphs.append("<p>" + re.sub(r"#(\w+)", tag, escaped) + "</p>")
    return "".join(paragraphs)


class FakeMastodon:
    """The endpoints Kavi calls, on INSTANCE, with a state a real instance would keep."""

    def __init__(
        self, mock: responses.RequestsMock, *, max_characters: int = 500, polls: int = 1
    ) -> None:
        self.instance = instance_v2(max_characters)
        self.statuses: list[dict[str, Any]] = []
        self.media: dict[str, dict[str, Any]] = {}
        self.keys: dict[str, str] = {}  # Idempotency-Key -> status id
        self.replies: dict[str, deque[Reply]] = defaultdict(deque)
        self.calls: list[tuple[str, requests.PreparedRequest]] = []
        self.polls = polls  # how many GETs a media upload answers "still processing" to
        self._ids = 113500000000000000
        routes: list[tuple[str, str, str, Callable[[requests.PreparedRequest], Any]]] = [
            ("GET", r"/api/v1/instance/?$", "instance_v1", self._instance_v1),
            ("GET", r"/api/v2/instance/?$", "instance", lambda _: _json(200, self.instance)),
            ("POST", r"/api/v2/media$", "media", self._upload),
            ("GET", r"/api/v1/media/(\d+)$", "media_status", self._media_status),
            ("POST", r"/api/v1/statuses$", "status", self._create),
            ("GET", r"/api/v1/accounts/verify_credentials$", "me", lambda _: _json(200, account())),
            ("GET", r"/api/v1/accounts/\d+/statuses", "account_statuses", self._timeline),
            ("GET", r"/api/v1/statuses/(\d+)$", "status_get", self._status),
        ]
        for method, path, name, work in routes:
            mock.add_callback(
                method, re.compile(re.escape(INSTANCE) + path), self._handler(name, work)
            )

    def script(self, endpoint: str, *replies: Reply) -> None:
        """Queue answers for an endpoint ("instance", "media", "status", "account_statuses"...)."""
        self.replies[endpoint].extend(replies)

    def calls_to(self, endpoint: str) -> list[requests.PreparedRequest]:
        return [request for name, request in self.calls if name == endpoint]

    def _next_id(self) -> str:
        self._ids += 1
        return str(self._ids)

    def _handler(
        self, name: str, work: Callable[[requests.PreparedRequest], Any]
    ) -> Callable[[requests.PreparedRequest], Any]:
        def handle(request: requests.PreparedRequest) -> Any:
            self.calls.append((name, request))
            token = SECRETS["MASTODON_ACCESS_TOKEN"]
            if name != "instance_v1" and request.headers.get("Authorization") != f"Bearer {token}":
                return _json(401, {"error": "The access token is invalid"})
            return scripted_answer(self.replies[name], request, work, die=False)

        return handle

    def _instance_v1(self, request: requests.PreparedRequest) -> Any:
        return _json(200, {"uri": "mastodon.example", "version": "4.3.2", "title": "Example"})

    def _upload(self, request: requests.PreparedRequest) -> Any:
        fields = _multipart(request)
        media_id = self._next_id()
        media = {
            "id": media_id,
            "type": "image",
            "url": None,
            "preview_url": f"{INSTANCE}/system/cache/media_attachments/small/{media_id}.png",
            "remote_url": None,
            "text_url": None,
            "meta": {"focus": _focus(fields.get("focus", ""))},
            "description": fields.get("description"),
            "blurhash": "UFBWY:8_0Jxv4mx]t8t64.%M-;t7~pIUjYa|",
            "size": len(fields.get("file", b"")),
            "mime": fields.get("file_type"),
            "_polls_left": self.polls,
        }
        self.media[media_id] = media
        # A large image is processed after the upload: 202 with no URL yet.
        return _json(202, _public(media))

    def _media_status(self, request: requests.PreparedRequest) -> Any:
        media_id = (request.url or "").rsplit("/", 1)[-1]
        media = self.media.get(media_id)
        if media is None:
            return _json(404, {"error": "Record not found"})
        if media["_polls_left"] > 0:
            media["_polls_left"] -= 1
            return _json(206, _public(media))
        media["url"] = f"{INSTANCE}/system/media_attachments/files/original/{media_id}.png"
        return _json(200, _public(media))

    def _create(self, request: requests.PreparedRequest) -> Any:
        key = request.headers.get("Idempotency-Key")
        if key and key in self.keys:
            first = next(s for s in self.statuses if s["id"] == self.keys[key])
            return _json(200, first)
        form = parse_qs(str(request.body or ""))
        text = form.get("status", [""])[0]
        limit = self.instance["configuration"]["statuses"]["max_characters"]
        if len(text) > limit:
            return _json(422, {"error": "Validation failed: Text character limit of 500 exceeded"})
        attached = []
        for media_id in form.get("media_ids[]", []):
            media = self.media.get(media_id)
            if media is None or media["url"] is None:
                return _json(
                    422, {"error": "Cannot attach files that have not finished processing"}
                )
            attached.append(_public(media))
        status_id = self._next_id()
        status = {
            "id": status_id,
            "created_at": "2026-11-25T09:00:00.000Z",
            "in_reply_to_id": None,
            "sensitive": False,
            "spoiler_text": "",
            "visibility": "public",
            "language": "en",
            "uri": f"{INSTANCE}/users/{USERNAME}/statuses/{status_id}",
            "url": f"{INSTANCE}/@{USERNAME}/{status_id}",
            "replies_count": 0,
            "reblogs_count": 0,
            "favourites_count": 0,
            "content": _render(text),
            "reblog": None,
            "account": account(),
            "media_attachments": attached,
            "mentions": [],
            "tags": [
                {"name": t.lower(), "url": f"{INSTANCE}/tags/{t.lower()}"}
                for t in re.findall(r"#(\w+)", text)
            ],
            "emojis": [],
            "card": None,
            "poll": None,
        }
        self.statuses.append(status)
        if key:
            self.keys[key] = status_id
        return _json(200, status)

    def _status(self, request: requests.PreparedRequest) -> Any:
        status_id = (request.url or "").rsplit("/", 1)[-1]
        status = next((s for s in self.statuses if s["id"] == status_id), None)
        if status is None:
            return _json(404, {"error": "Record not found"})
        return _json(200, status)

    def _timeline(self, request: requests.PreparedRequest) -> Any:
        return _json(200, list(reversed(self.statuses))[:40])


def _public(media: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in media.items() if not k.startswith("_") and k not in ("size", "mime")}


def _focus(value: str) -> dict[str, float] | None:
    if not value:
        return None
    x, y = (float(v) for v in value.split(","))
    return {"x": x, "y": y}


def _multipart(request: requests.PreparedRequest) -> dict[str, Any]:
    """The fields of a multipart/form-data body: text values, and the file's bytes and type."""
    body = request.body if isinstance(request.body, bytes) else str(request.body).encode()
    head = f"Content-Type: {request.headers['Content-Type']}\r\n\r\n".encode()
    message = BytesParser(policy=HTTP).parsebytes(head + body)
    fields: dict[str, Any] = {}
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        payload = part.get_payload(decode=True)
        if part.get_filename():
            fields[str(name)] = payload
            fields[f"{name}_type"] = part.get_content_type()
        else:
            fields[str(name)] = payload.decode() if isinstance(payload, bytes) else payload
    return fields
