"""Kavi's error hierarchy: every error the service raises on purpose derives from KaviError."""

from __future__ import annotations


class KaviError(Exception):
    """Base of every error Kavi raises on purpose."""


class ConfigError(KaviError, ValueError):
    """A setting or command-line value is invalid; the message names it and what is allowed."""


class GenerationError(KaviError):
    """A stage of the chain could not produce a valid result."""


class StorageError(KaviError):
    """The archive (database or image files) could not be read or written."""


class NotFoundError(KaviError, LookupError):
    """A requested artwork, post or run does not exist."""


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
