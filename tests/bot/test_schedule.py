from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from bot.schedule import check_once_a_day, parse_cron, times_a_day
from core.errors import ConfigError


def next_fire(expression: str, tz: str, after: datetime) -> datetime:
    trigger = parse_cron(expression, tz)
    fire = trigger.get_next_fire_time(None, after)
    assert fire is not None
    return fire


def test_zero_is_sunday_as_in_standard_cron() -> None:
    # 2026-11-23 is a Monday.
    after = datetime(2026, 11, 23, 10, 0, tzinfo=ZoneInfo("UTC"))
    assert next_fire("0 9 * * 0", "UTC", after).date().isoformat() == "2026-11-29"
    assert next_fire("0 9 * * 7", "UTC", after).date().isoformat() == "2026-11-29"
    assert next_fire("0 9 * * 1", "UTC", after).date().isoformat() == "2026-11-30"
    assert next_fire("0 9 * * 1-5", "UTC", after).date().isoformat() == "2026-11-24"
    assert next_fire("0 9 * * sat", "UTC", after).date().isoformat() == "2026-11-28"


def test_time_zone_is_respected() -> None:
    after = datetime(2026, 11, 23, 0, 0, tzinfo=ZoneInfo("UTC"))
    fire = next_fire("30 8 * * *", "Asia/Tokyo", after)
    assert fire.utcoffset().total_seconds() == 9 * 3600
    assert (fire.hour, fire.minute) == (8, 30)


@pytest.mark.parametrize("expression", ["", "* * * *", "61 * * * *", "0 9 * * funday"])
def test_bad_expressions(expression: str) -> None:
    with pytest.raises(ConfigError):
        parse_cron(expression, "UTC")


@pytest.mark.parametrize(
    ("expression", "times"),
    [("* * * * *", 1440), ("0 * * * *", 24), ("0 9,21 * * *", 2), ("*/30 9 * * 1-5", 2)],
)
def test_a_schedule_finer_than_a_day_is_refused(expression: str, times: int) -> None:
    with pytest.raises(ConfigError, match=f"fires {times} times a day, but Kavi posts once a day"):
        check_once_a_day(expression, "Europe/Paris")


@pytest.mark.parametrize(
    "expression", ["0 9 * * *", "30 23 * * 1-5", "0 9 1 * *", "15 7 * 6 sat", "0 9 30 2 *"]
)
def test_once_a_day_or_less_is_accepted(expression: str) -> None:
    assert check_once_a_day(expression, "Europe/Paris") is not None


def test_the_hour_a_clock_goes_back_is_one_time_not_two() -> None:
    # New York's clocks go back at 02:00 on 1 November 2026: 01:30 happens twice that day,
    # and APScheduler fires at both; it is still one wall-clock time, so once a day.
    trigger = parse_cron("30 1 * * *", "America/New_York")
    zone = ZoneInfo("America/New_York")
    first = trigger.get_next_fire_time(None, datetime(2026, 11, 1, tzinfo=zone))
    assert first is not None
    second = trigger.get_next_fire_time(first, first)
    assert second is not None and first.date() == second.date()
    assert times_a_day(trigger, "America/New_York", year=2026) == 1
    assert times_a_day(parse_cron("30 1,2 * * *", "America/New_York"), "America/New_York") == 2
