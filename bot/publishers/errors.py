"""The errors a publisher raises; the publish state machine decides by their class.

`NotSent` is retried, `MaybeSent` is reconciled by looking the post up (never re-sent), and
every other `PublishError` fails the post with its message.
"""

from __future__ import annotations

from core.errors import KaviError


class PublishError(KaviError):
    """A platform refused or failed a post."""


class AuthError(PublishError):
    """Credentials are missing, wrong or expired; retrying will not help."""


class NotSent(PublishError):
    """The post certainly did not go out (no connection, refused before acceptance): retry it."""


class RateLimited(NotSent):
    """The platform asked us to wait; `retry_after` is in seconds when known."""

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class DuplicatePost(PublishError):
    """The platform rejected the post as a duplicate of an earlier one."""


class MaybeSent(PublishError):
    """The request may have reached the platform; the outcome must be reconciled, not re-sent."""


def never_connected(exc: BaseException) -> bool:
    """True when a requests error says no connection was made (refused, host not found).

    Then no byte of the request left us, so it certainly was not taken. A wrapper's error
    (Mastodon.py's) is looked through to the requests error it was raised from.
    """
    import requests
    from urllib3.exceptions import MaxRetryError, NewConnectionError

    while not isinstance(exc, requests.RequestException) and exc.__context__ is not None:
        exc = exc.__context__
    if isinstance(exc, requests.ConnectTimeout):
        return True
    if not isinstance(exc, requests.ConnectionError):
        return False
    reason = exc.args[0] if exc.args else None
    if isinstance(reason, MaxRetryError):
        reason = reason.reason
    return isinstance(reason, NewConnectionError)
