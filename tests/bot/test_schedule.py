from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from bot.errors import ConfigError
from bot.schedule import parse_cron


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
