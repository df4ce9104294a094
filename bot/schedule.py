"""Cron schedules: standard 5-field cron (0 = Sunday) turned into APScheduler triggers."""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.errors import ConfigError

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
