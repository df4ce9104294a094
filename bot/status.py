"""The status picture: next run, last run, publishers, post counts and posts needing attention.

One reading of the archive shared by `kavi status` (printed) and the gallery's admin view
(rendered), so both always tell the same story. It only reads: settling what a dead process
left is the caller's business (the CLI does it under the chain lock first).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from bot.publishers.registry import publisher_label, publisher_names
from bot.settings import Settings
from storage.db import Database
from storage.models import PostState
from storage.repository import (
    PostInfo,
    RunInfo,
    count_posts,
    last_run,
    recent_posts_in_states,
)

# What `status` lists as needing attention, worst first.
ATTENTION = (PostState.FAILED, PostState.UNKNOWN, PostState.POSTING, PostState.PENDING)


@dataclass(frozen=True)
class StatusPicture:
    """Where the service stands, as read from the archive and the settings."""

    next_run: datetime | None
    last_run: RunInfo | None
    publishers: str
    counts: dict[tuple[str, PostState], int]
    attention_total: int
    attention: list[PostInfo]

    def counts_by_platform(self) -> dict[str, list[tuple[PostState, int]]]:
        """Each platform's non-zero counts, in state order."""
        platforms = sorted({platform for platform, _ in self.counts})
        return {
            platform: [
                (state, self.counts[platform, state])
                for state in PostState
                if self.counts.get((platform, state))
            ]
            for platform in platforms
        }


def status_picture(settings: Settings, db: Database, *, limit: int | None) -> StatusPicture:
    """Read the status picture; `limit` bounds the posts listed (None lists them all)."""
    from bot.schedule import parse_cron

    now = datetime.now(ZoneInfo(settings.tz))
    upcoming = parse_cron(settings.post_schedule, settings.tz).get_next_fire_time(None, now)
    counts = count_posts(db)
    total = sum(n for (_, state), n in counts.items() if state in ATTENTION)
    posts = recent_posts_in_states(db, ATTENTION, limit=limit) if total else []
    return StatusPicture(
        next_run=upcoming,
        last_run=last_run(db),
        publishers=publishers_line(settings),
        counts=counts,
        attention_total=total,
        attention=posts,
    )


def publishers_line(settings: Settings) -> str:
    """The enabled publishers, by name and label, each with the variables it still needs."""
    from bot.publishers.factory import missing_credentials

    if not settings.publishers:
        return f"none enabled (set PUBLISHERS to any of: {', '.join(publisher_names())})"
    parts = []
    for name in settings.publishers:
        missing = missing_credentials(name, settings)
        note = f"; not ready: set {', '.join(missing)}" if missing else ""
        parts.append(f"{name} ({publisher_label(name)}{note})")
    return ", ".join(parts)
