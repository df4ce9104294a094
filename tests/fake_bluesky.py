"""A Bluesky PDS and AppView faked at HTTP level, as an httpx transport the atproto SDK uses.

It keeps the account's post records and blobs, answers with the XRPC payloads bsky.social
sends (sessions with real-shaped JWTs, blob refs with CIDs, `createRecord` commits, author
feeds), refuses a blob over 1,000,000 bytes as the PDS does, and replays scripted failures
(`Reply` from tests.fakes), optionally after doing the work (`accept=True`).
"""

from __future__ import annotations

import base64
import hashlib
import json
import time
from collections import defaultdict, deque
from collections.abc import Callable
from typing import Any

import httpx

from tests.fakes import SECRETS, Reply

DID = "did:plc:kavi7ab3cd4ef5gh6ij7kl8m"
HANDLE = "kavi.bsky.social"
MAX_BLOB = 1_000_000


def cid(data: bytes, codec: int = 0x71) -> str:
    """A CIDv1 (sha-256) in base32, as the PDS names records (dag-cbor) and blobs (raw)."""
    raw = bytes([0x01, codec, 0x12, 0x20]) + hashlib.sha256(data).digest()
    return "b" + base64.b32encode(raw).decode().lower().rstrip("=")


def jwt(scope: str, expires_in: float = 7200) -> str:
    """An unsigned JWT shaped like the PDS's (the SDK reads `exp` to know when to refresh)."""

    def part(value: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")

    now = int(time.time())
    payload = {"scope": scope, "sub": DID, "iat": now, "exp": now + int(expires_in)}
    return f"{part({'typ': 'at+jwt', 'alg': 'ES256K'})}.{part(payload)}.c2lnbmF0dXJl"


def xrpc_error(
    status: int, error: str, message: str, headers: dict[str, str] | None = None
) -> Reply:
    return Reply(status, {"error": error, "message": message}, headers or {})


def rate_limited(reset_epoch: int) -> Reply:
    headers = {
        "ratelimit-limit": "5000",
        "ratelimit-remaining": "0",
        "ratelimit-reset": str(reset_epoch),
        "ratelimit-policy": "5000;w=3600",
    }
    return xrpc_error(429, "RateLimitExceeded", "Rate Limit Exceeded", headers)


class FakeBluesky:
    """The XRPC methods Kavi calls, keeping what a PDS keeps."""

    def __init__(self) -> None:
        self.posts: list[dict[str, Any]] = []
        self.blobs: dict[str, bytes] = {}
        self.replies: dict[str, deque[Reply]] = defaultdict(deque)
        self.calls: list[tuple[str, httpx.Request]] = []
        self.access = jwt("com.atproto.access")
        self._rkeys = 0
        self.methods: dict[str, Callable[[httpx.Request], httpx.Response]] = {
            "com.atproto.server.createSession": self._create_session,
            "com.atproto.repo.uploadBlob": self._upload_blob,
            "com.atproto.repo.createRecord": self._create_record,
            "app.bsky.feed.getAuthorFeed": self._author_feed,
            "app.bsky.feed.getPosts": self._get_posts,
        }

    @property
    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self._handle)

    def script(self, method: str, *replies: Reply) -> None:
        """Queue answers for an XRPC method, e.g. "com.atproto.repo.createRecord"."""
        self.replies[method].extend(replies)

    def calls_to(self, method: str) -> list[httpx.Request]:
        return [request for name, request in self.calls if name == method]

    def _handle(self, request: httpx.Request) -> httpx.Response:
        method = request.url.path.removeprefix("/xrpc/")
        self.calls.append((method, request))
        work = self.methods.get(method)
        if work is None:
            return _json(501, {"error": "MethodNotImplemented", "message": method})
        signed_in = request.headers.get("authorization") == f"Bearer {self.access}"
        if method != "com.atproto.server.createSession" and not signed_in:
            return _json(401, {"error": "InvalidToken", "message": "Bad token"})
        reply = self.replies[method].popleft() if self.replies[method] else None
        if reply is None:
            return work(request)
        if reply.accept:
            work(request)
        if reply.error is not None:
            raise reply.error
        return _json(reply.status, reply.body, reply.headers)

    def _create_session(self, request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        if body.get("password") != SECRETS["BLUESKY_APP_PASSWORD"]:
            return _json(
                401,
                {"error": "AuthenticationRequired", "message": "Invalid identifier or password"},
            )
        return _json(
            200,
            {
                "did": DID,
                "handle": HANDLE,
                "email": "kavi@example.com",
                "emailConfirmed": True,
                "accessJwt": self.access,
                "refreshJwt": jwt("com.atproto.refresh", 90 * 86400),
                "active": True,
            },
        )

    def _upload_blob(self, request: httpx.Request) -> httpx.Response:
        data = request.content
        if len(data) > MAX_BLOB:
            message = (
                f"This file is too large. It is {len(data)} bytes but the maximum is {MAX_BLOB}."
            )
            return _json(400, {"error": "BlobTooLarge", "message": message})
        ref = cid(data, codec=0x55)
        self.blobs[ref] = data
        mime = request.headers.get("content-type", "*/*")
        return _json(
            200,
            {"blob": {"$type": "blob", "ref": {"$link": ref}, "mimeType": mime, "size": len(data)}},
        )

    def _create_record(self, request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        if body["repo"] not in (DID, HANDLE):
            return _json(400, {"error": "InvalidRequest", "message": "repo is not yours"})
        record = body["record"]
        self._rkeys += 1
        rkey = f"3lbx{self._rkeys:09d}"
        uri = f"at://{DID}/{body['collection']}/{rkey}"
        record_cid = cid(json.dumps(record, sort_keys=True).encode())
        self.posts.append({"uri": uri, "cid": record_cid, "record": record})
        return _json(
            200,
            {
                "uri": uri,
                "cid": record_cid,
                "commit": {"cid": cid(uri.encode()), "rev": f"3lbx{self._rkeys:09d}"},
                "validationStatus": "valid",
            },
        )

    def _author_feed(self, request: httpx.Request) -> httpx.Response:
        limit = int(request.url.params.get("limit", "50"))
        feed = [{"post": _post_view(post)} for post in reversed(self.posts)]
        return _json(200, {"feed": feed[:limit]})

    def _get_posts(self, request: httpx.Request) -> httpx.Response:
        uris = request.url.params.get_list("uris")
        return _json(200, {"posts": [_post_view(p) for p in self.posts if p["uri"] in uris]})


def _post_view(post: dict[str, Any]) -> dict[str, Any]:
    """app.bsky.feed.defs#postView, as the AppView shows a post (with its counts)."""
    counts = post.get("counts", {})
    return {
        "uri": post["uri"],
        "cid": post["cid"],
        "author": {"did": DID, "handle": HANDLE, "displayName": "Kavi", "labels": []},
        "record": post["record"],
        "replyCount": counts.get("replies", 0),
        "repostCount": counts.get("reposts", 0),
        "likeCount": counts.get("likes", 0),
        "quoteCount": counts.get("quotes", 0),
        "indexedAt": post["record"]["createdAt"],
        "labels": [],
    }


def _json(status: int, body: Any, headers: dict[str, str] | None = None) -> httpx.Response:
    return httpx.Response(status, json=body, headers=headers or {})
