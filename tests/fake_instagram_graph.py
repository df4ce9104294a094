"""Instagram's Graph API (Instagram Login, graph.instagram.com) faked at HTTP level (responses).

It keeps containers and published media as the API does (a container is published once,
then reads PUBLISHED), the publishing quota, and the long-lived token; it persists its state
to a JSON file when given one, and can SIGKILL the process at a chosen step, so a test can
kill a post midway and check what "Instagram" holds afterwards.
"""

from __future__ import annotations

import json
import os
import re
from collections import defaultdict, deque
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import requests
import responses

from tests.fakes import SECRETS, Reply, _json, scripted_answer

USER_ID = "17841400000000001"
USERNAME = "kavi.poet"
REFRESHED = "IGAArefreshedLongLivedToken2"


def graph_error(status: int, code: int, message: str, kind: str = "OAuthException") -> Reply:
    body = {"error": {"message": message, "type": kind, "code": code, "fbtrace_id": "AbCdEf123"}}
    return Reply(status, body)


def dead_token() -> Reply:
    return graph_error(400, 190, "Error validating access token: Session has expired.")


class FakeInstagramGraph:
    """The endpoints Kavi calls; `kill_at` names a step ("status", "publish") to die at."""

    def __init__(
        self,
        mock: responses.RequestsMock,
        *,
        state_file: Path | None = None,
        polls: int = 1,
        quota_usage: int = 0,
    ) -> None:
        self.state_file = state_file
        self.containers: dict[str, dict[str, Any]] = {}
        self.media: list[dict[str, Any]] = []
        self.tokens = {SECRETS["INSTAGRAM_GRAPH_ACCESS_TOKEN"], REFRESHED}
        if state_file and state_file.exists():
            saved = json.loads(state_file.read_text())
            self.containers, self.media = saved["containers"], saved["media"]
        self.polls = polls
        self.finish_as = "FINISHED"  # what a container becomes once processed
        self.quota_usage = quota_usage
        self.replies: dict[str, deque[Reply]] = defaultdict(deque)
        self.calls: list[tuple[str, requests.PreparedRequest]] = []
        self.kill_at: str | None = None
        base = re.escape("https://graph.instagram.com/v23.0/")
        routes: list[tuple[str, str, str, Callable[[requests.PreparedRequest], Any]]] = [
            (
                "GET",
                r"me\b",
                "me",
                lambda _: _json(200, {"user_id": USER_ID, "username": USERNAME}),
            ),
            ("GET", rf"{USER_ID}/content_publishing_limit", "limit", self._limit),
            ("POST", rf"{USER_ID}/media$", "container", self._create),
            ("POST", rf"{USER_ID}/media_publish$", "publish", self._publish),
            ("GET", rf"{USER_ID}/media\b", "recent", self._recent),
            ("GET", r"\d+(\?|$)", "object", self._object),
        ]
        for method, path, name, work in routes:
            mock.add_callback(method, re.compile(base + path), self._handler(name, work))
        mock.add_callback(
            "GET",
            re.compile(re.escape("https://graph.instagram.com/refresh_access_token")),
            self._refresh,
        )

    def script(self, endpoint: str, *replies: Reply) -> None:
        self.replies[endpoint].extend(replies)

    def calls_to(self, endpoint: str) -> list[requests.PreparedRequest]:
        return [request for name, request in self.calls if name == endpoint]

    def _save(self) -> None:
        if self.state_file:
            data = json.dumps({"containers": self.containers, "media": self.media})
            tmp = self.state_file.with_suffix(".tmp")
            tmp.write_text(data)
            os.replace(tmp, self.state_file)

    def _handler(
        self, name: str, work: Callable[[requests.PreparedRequest], Any]
    ) -> Callable[[requests.PreparedRequest], Any]:
        def handle(request: requests.PreparedRequest) -> Any:
            self.calls.append((name, request))
            auth = request.headers.get("Authorization", "")
            if auth.removeprefix("Bearer ") not in self.tokens:
                return _json(*dead_token_reply())
            return scripted_answer(self.replies[name], request, work, die=self.kill_at == name)

        return handle

    def _me(self, request: requests.PreparedRequest) -> Any:
        return _json(200, {"user_id": USER_ID, "username": USERNAME})

    def _refresh(self, request: requests.PreparedRequest) -> Any:
        query = parse_qs(urlparse(request.url or "").query)
        if query.get("access_token", [""])[0] not in self.tokens:
            return _json(*dead_token_reply())
        self.calls.append(("refresh", request))
        body = {"access_token": REFRESHED, "token_type": "bearer", "expires_in": 5183944}
        return _json(200, body)

    def _limit(self, request: requests.PreparedRequest) -> Any:
        config = {"quota_total": 50, "quota_duration": 86400}
        return _json(200, {"data": [{"config": config, "quota_usage": self.quota_usage}]})

    def _create(self, request: requests.PreparedRequest) -> Any:
        form = parse_qs(str(request.body or ""))
        container_id = str(17900000000000000 + len(self.containers) + 1)
        self.containers[container_id] = {
            "image_url": form["image_url"][0],
            "caption": form.get("caption", [""])[0],
            "alt_text": form.get("alt_text", [""])[0],
            "status": "IN_PROGRESS",
            "polls_left": self.polls,
        }
        self._save()
        return _json(200, {"id": container_id})

    def _publish(self, request: requests.PreparedRequest) -> Any:
        form = parse_qs(str(request.body or ""))
        container_id = form["creation_id"][0]
        container = self.containers.get(container_id)
        if container is None or container["status"] == "PUBLISHED":
            return _json(400, {"error": {"message": "Media ID is not available", "code": 9007}})
        if container["status"] != "FINISHED":
            error = {"message": "Media ID is not available", "code": 9007, "error_subcode": 2207027}
            return _json(400, {"error": error})
        container["status"] = "PUBLISHED"
        media_id = str(18000000000000000 + len(self.media) + 1)
        self.media.append(
            {
                "id": media_id,
                "caption": container["caption"],
                "alt_text": container["alt_text"],
                "container": container_id,
                "permalink": f"https://www.instagram.com/p/DA{len(self.media) + 1:09d}/",
                "timestamp": "2026-11-25T09:00:00+0000",
            }
        )
        self._save()
        return _json(200, {"id": media_id})

    def _recent(self, request: requests.PreparedRequest) -> Any:
        fields = ("id", "caption", "permalink", "timestamp")
        data = [{k: m[k] for k in fields} for m in reversed(self.media)]
        return _json(
            200, {"data": data, "paging": {"cursors": {"before": "QVFI", "after": "QVFJ"}}}
        )

    def _object(self, request: requests.PreparedRequest) -> Any:
        object_id = urlparse(request.url or "").path.rsplit("/", 1)[-1]
        if object_id in self.containers:
            container = self.containers[object_id]
            if container["status"] == "IN_PROGRESS":
                if container["polls_left"] <= 0:
                    container["status"] = self.finish_as
                container["polls_left"] -= 1
                self._save()
            return _json(200, {"status_code": container["status"], "id": object_id})
        media = next((m for m in self.media if m["id"] == object_id), None)
        if media is None:
            return _json(400, {"error": {"message": "Unsupported get request", "code": 100}})
        fields = {
            "permalink": media["permalink"],
            "like_count": media.get("like_count", 0),
            "comments_count": media.get("comments_count", 0),
        }
        wanted = parse_qs(urlparse(request.url or "").query).get("fields", [""])[0].split(",")
        return _json(200, {"id": object_id, **{k: v for k, v in fields.items() if k in wanted}})


def dead_token_reply() -> tuple[int, Any]:
    reply = dead_token()
    return reply.status, reply.body
