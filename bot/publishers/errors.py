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
