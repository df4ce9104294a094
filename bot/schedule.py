"""Cron schedules: standard 5-field cron (0 = Sunday) turned into APScheduler triggers.

Kavi posts once a day (the service skips a day that already has its post), so a schedule
may fire at most once on a calendar day in TZ; `check_once_a_day` refuses a finer one.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime, time, timedelta
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from core.errors import ConfigError

if TYPE_CHECKING:
    from apscheduler.triggers.cron import CronTrigger

_DAY_NAMES = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")


def _day_number(token: str) -> int:
    token = token.strip().lower()
    if token in _DAY_NAMES:
        return _DAY_NAMES.index(token)
    if token.isdigit() and 0 <= int(token) <= 7:
        return int(token) % 7
    raise ValueError(f"bad day of week {token!r} (use 0-7 or sun-sat)")


def _weekdays(field: str) -> str:
    """Standard cron's day-of-week field as APScheduler day names (APScheduler's 0 is Monday)."""
    if field == "*":
        return "*"
    days: set[int] = set()
    for part in field.split(","):
        body, _, step_text = part.partition("/")
        step = int(step_text) if step_text else 1
        if step < 1:
            raise ValueError(f"bad step in {part!r}")
        if body == "*":
            first, last = 0, 6
        elif "-" in body:
            start, end = body.split("-", 1)
            first, last = _day_number(start), _day_number(end)
            if end.strip() == "7":
                last = 7
            if last < first:
                raise ValueError(f"bad range {body!r}")
        else:
            first = last = _day_number(body)
            if step_text:
                last = 6
        days.update(d % 7 for d in range(first, last + 1, step))
    if len(days) == 7:
        return "*"
    return ",".join(_DAY_NAMES[d] for d in sorted(days))


def parse_cron(expression: str, timezone: str) -> CronTrigger:
    """Build an APScheduler CronTrigger from a standard 5-field cron expression in `timezone`."""
    from apscheduler.triggers.cron import CronTrigger

    fields = expression.split()
    if len(fields) != 5:
        raise ConfigError(
            f"{expression!r} must have 5 fields "
            "(minute hour day-of-month month day-of-week), e.g. '0 9 * * *'"
        )
    minute, hour, day, month, day_of_week = fields
    try:
        return CronTrigger(
            minute=minute,
            hour=hour,
            day=day,
            month=month,
            day_of_week=_weekdays(day_of_week),
            timezone=timezone,
        )
    except ValueError as exc:
        raise ConfigError(f"{expression!r} is not a valid cron expression: {exc}") from None


# Cron fires at most once a minute, so no day holds more firings than this.
_MINUTES_A_DAY = 24 * 60


def check_once_a_day(expression: str, timezone: str) -> CronTrigger:
    """Parse `expression` and refuse it (ConfigError) if it can fire twice on one day in TZ."""
    trigger = parse_cron(expression, timezone)
    times = times_a_day(trigger, timezone)
    if times > 1:
        raise ConfigError(
            f"{expression!r} fires {times} times a day, but Kavi posts once a day: "
            "give one minute and one hour, e.g. '0 9 * * *' (day, month and weekday "
            "may still narrow it, e.g. '0 9 * * 1-5')"
        )
    return trigger


def times_a_day(trigger: CronTrigger, timezone: str, *, year: int | None = None) -> int:
    """How many wall-clock times `trigger` fires at on one calendar day in `timezone` (at most).

    Asked of the trigger itself, from the start of a winter day, a summer day and each day
    the clocks change in `year` (default: this year). The hour a clock going back repeats
    is one wall-clock time, not two: the service's daily guard skips the repeat.
    """
    zone = ZoneInfo(timezone)
    most = 0
    for start in _reference_instants(zone, year or datetime.now(zone).year):
        first = trigger.get_next_fire_time(None, start)
        if first is None:
            break  # it never fires again after `start`, nor after any later reference
        day, fire = first.date(), first
        wall_times = {(first.hour, first.minute, first.second)}
        while len(wall_times) < _MINUTES_A_DAY:
            fire = trigger.get_next_fire_time(fire, fire)
            if fire is None or fire.date() != day:
                break
            wall_times.add((fire.hour, fire.minute, fire.second))
        most = max(most, len(wall_times))
        if most > 1:
            break
    return most


def _reference_instants(zone: ZoneInfo, year: int) -> Iterator[datetime]:
    """Midnight on 1 January, on 1 July and on each day of `year` whose UTC offset changes."""
    yield datetime(year, 1, 1, tzinfo=zone)
    yield datetime(year, 7, 1, tzinfo=zone)
    day = date(year, 1, 1)
    offset = datetime.combine(day, time(12), zone).utcoffset()
    while day.year == year:
        day += timedelta(days=1)
        noon_offset = datetime.combine(day, time(12), zone).utcoffset()
        if noon_offset != offset:
            yield datetime.combine(day, time(0), zone)
            offset = noon_offset
