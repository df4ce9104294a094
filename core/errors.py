"""The root of Kavi's errors: every error raised on purpose derives from KaviError.

Each layer owns its own errors (`generators.errors`, `storage.errors`,
`bot.publishers.errors`), all rooted here, so the CLI edge maps every one to a message and
an exit code: ConfigError to 2, any other KaviError to 1.
"""

from __future__ import annotations


class KaviError(Exception):
    """Base of every error Kavi raises on purpose."""


class ConfigError(KaviError, ValueError):
    """A setting or command-line value is invalid; the message names it and what is allowed."""
