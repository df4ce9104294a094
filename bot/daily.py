"""The daily decision: has today's post gone out, is a missed time still worth running, try again?

Decisions only, read from the schedule and the runs and posts tables; `bot.scheduler.Service`
acts on them. One post a day is the rule: a day counts as done once a run succeeded or its
artwork reached a platform, and a failed day is tried again a bounded number of times.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Protocol

from storage.models import PostState, RunStatus
from storage.repository import (
    count_runs_on,
    posting_runs_with_artwork_on,
    posts_for_artwork,
    succeeded_run_on,
)

if TYPE_CHECKING:
    from apscheduler.triggers.base import BaseTrigger

    from bot.settings import Settings
    from storage.db import Database

log = logging.getLogger(__name__)

# A scheduled run that fails before anything reached a platform is tried again later the
# same day (a network outage at posting time should not cost the day's post).
SAME_DAY_RETRY_AFTER = timedelta(minutes=30)
SAME_DAY_ATTEMPTS = 3
# A daily schedule never needs to look further back than this for a missed run.
LOOKBACK = timedelta(days=1)
# A post that reached its platform, or may have (awaiting reconciliation).
_REACHED = frozenset({PostState.POSTED, PostState.POSTING, PostState.UNKNOWN})


class Calendar(Protocol):
    """The archive and the calendar day in TZ, which decide whether today's post went out."""

    @property
    def db(self) -> Database: ...

    def today(self, now: datetime | None = None) -> date: ...


def last_fire_time(trigger: BaseTrigger, now: datetime, since: datetime) -> datetime | None:
    """The latest time in [since, now] at which `trigger` fires, or None if it does not."""
    fire = trigger.get_next_fire_time(None, since)
    latest = None
    # A cron trigger fires at most once a second; the bound only guards against a bad trigger.
    for _ in range(int((now - since).total_seconds()) + 2):
        if fire is None or fire > now:
            break
        latest = fire
        # Step in UTC: adding to a local time in a DST fold would step back an hour.
        fire = trigger.get_next_fire_time(fire, fire.astimezone(UTC) + timedelta(seconds=1))
    return latest


def grace_seconds(settings: Settings) -> int:
    # APScheduler reads None as "no limit" and rejects 0, so a zero grace becomes one second.
    return max(1, round(settings.misfire_grace_hours * 3600))


def today_done(db: Database, day: date, *, dry_run: bool) -> str | None:
    """Why `day`'s post (or preview) counts as gone out, or None when it has not.

    A succeeded run counts; so does a failed or abandoned run whose artwork reached a
    platform (posted, or posting/unknown awaiting reconciliation): re-running it would
    post a second artwork on the platforms that already took the first.
    """
    done = succeeded_run_on(db, day, dry_run=dry_run)
    if done is not None:
        return f"run {done.id} ({done.trigger}) succeeded"
    if dry_run:
        return None
    for run_id, artwork_id in _artworks_posted_on(db, day):
        states = [post.state for post in posts_for_artwork(db, artwork_id)]
        if any(state in _REACHED for state in states):
            listed = ", ".join(sorted(state.value for state in states))
            return f"run {run_id} reached a platform ({listed})"
    return None


def _artworks_posted_on(db: Database, day: date) -> list[tuple[int, int]]:
    """(run id, artwork id) of `day`'s posting runs that stored an artwork."""
    runs = posting_runs_with_artwork_on(db, day)
    return [(run.id, run.artwork_id) for run in runs if run.artwork_id is not None]


def _duration(delta: timedelta) -> str:
    minutes = int(delta.total_seconds() // 60)
    return f"{minutes // 60}h{minutes % 60:02d}m"


class DailyPlan:
    """When today's post is due, whether it went out, and whether a failed one is tried again."""

    def __init__(
        self,
        settings: Settings,
        trigger: BaseTrigger,
        calendar: Calendar,
        *,
        dry_run: bool,
        clock: Callable[[], datetime],
    ) -> None:
        self.settings = settings
        self.trigger = trigger
        self.calendar = calendar
        self.dry_run = dry_run
        self.clock = clock
        self._resends: dict[date, int] = {}

    @property
    def kind(self) -> str:
        return "preview" if self.dry_run else "post"

    def done(self, day: date) -> str | None:
        """Why `day`'s post of this service's kind counts as gone out, or None (see today_done)."""
        return today_done(self.calendar.db, day, dry_run=self.dry_run)

    def catch_up_time(self) -> datetime | None:
        """The scheduled time missed while down, if it is within the grace and still needed."""
        now = self.clock()
        missed = last_fire_time(self.trigger, now, now - LOOKBACK)
        if missed is None or missed >= now:
            return None
        day = self.calendar.today(now)
        late = now - missed
        if late > timedelta(seconds=grace_seconds(self.settings)):
            # Only today's missed time is worth a word; an earlier day's was handled that day.
            if self.calendar.today(missed) == day and not self.done(day):
                log.warning(
                    "today's %s, scheduled at %s, was missed by %s, more than "
                    "MISFIRE_GRACE_HOURS=%s: skipped; use --post-now to post by hand",
                    self.kind,
                    missed.isoformat(),
                    _duration(late),
                    self.settings.misfire_grace_hours,
                )
            return None
        done = self.done(day)
        if done is not None:
            log.info("today's %s (%s) already went out: %s", self.kind, day, done)
            return None
        log.info(
            "the %s scheduled at %s was missed while the service was down: running it now",
            self.kind,
            missed.isoformat(),
        )
        return missed

    def retry_time(self, day: date) -> datetime | None:
        """When to run `day`'s failed scheduled post again; None once today's tries are spent."""
        failures = count_runs_on(
            self.calendar.db,
            day,
            dry_run=self.dry_run,
            trigger="scheduled",
            status=RunStatus.FAILED,
        )
        retry_at = self.clock() + SAME_DAY_RETRY_AFTER
        if failures >= SAME_DAY_ATTEMPTS or self.calendar.today(retry_at) != day:
            log.error(
                "today's %s failed %s time(s); no more tries today: see `python -m bot status`",
                self.kind,
                failures,
            )
            return None
        return retry_at

    def resend_time(self, day: date) -> datetime | None:
        """When to resend `day`'s never-sent posts (one more try); None once tries are spent."""
        tries = self._resends.get(day, 0)
        retry_at = self.clock() + SAME_DAY_RETRY_AFTER
        if tries >= SAME_DAY_ATTEMPTS - 1 or self.calendar.today(retry_at) != day:
            log.error(
                "today's %s could not reach every platform; no more tries today: "
                "see `python -m bot status`",
                self.kind,
            )
            return None
        self._resends[day] = tries + 1
        return retry_at

    def unsent_artworks(self, day: date) -> list[int]:
        """`day`'s artworks with a post that failed without reaching its platform."""
        db = self.calendar.db
        return [
            artwork_id
            for _run_id, artwork_id in _artworks_posted_on(db, day)
            if any(
                post.state == PostState.FAILED and post.retryable
                for post in posts_for_artwork(db, artwork_id)
            )
        ]
