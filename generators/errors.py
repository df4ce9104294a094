"""The errors of the art stages."""

from __future__ import annotations

from core.errors import KaviError


class GenerationError(KaviError):
    """A stage of the chain could not produce a valid result."""
