"""The errors of the archive."""

from __future__ import annotations

from core.errors import KaviError


class StorageError(KaviError):
    """The archive (database or image files) could not be read or written."""


class NotFoundError(KaviError, LookupError):
    """A requested artwork, post or run does not exist."""
