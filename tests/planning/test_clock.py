"""Seconds from the day's origin, on plain days and on daylight-saving change days."""

from __future__ import annotations

from datetime import time
from zoneinfo import ZoneInfo

import pytest

from domain.errors import DomainError
from planning.clock import DayClock, local_to_utc
from tests.planning.conftest import FALL_BACK, MONDAY, SPRING_FORWARD, utc

HOUR = 3600


def test_plain_day_origin_is_local_midnight_and_day_has_24_hours() -> None:
    clock = DayClock.for_day(MONDAY, "Europe/Madrid")
    assert clock.origin == utc(2026, 12, 6, 23)  # CET = UTC+1
    assert clock.horizon == 24 * HOUR
    assert clock.local_interval(time(9), time(11)) == (9 * HOUR, 11 * HOUR)
    assert clock.datetime(9 * HOUR) == utc(2026, 12, 7, 8)


def test_spring_forward_day_has_23_hours_and_windows_across_the_jump_shrink() -> None:
    clock = DayClock.for_day(SPRING_FORWARD, "Europe/Madrid")
    assert clock.origin == utc(2027, 3, 27, 23)
    assert clock.horizon == 23 * HOUR
    # 01:00 CET = 00:00Z, 04:00 CEST = 02:00Z: the three wall-clock hours last two.
    assert clock.local_interval(time(1), time(4)) == (1 * HOUR, 3 * HOUR)
    # After the jump, wall-clock 09:00 is 07:00Z, only 8 hours after midnight.
    assert clock.local_seconds(time(9)) == 8 * HOUR
    assert clock.datetime(clock.local_seconds(time(9))) == utc(2027, 3, 28, 7)
    # A skipped wall time (02:30) is read with the offset before the change.
    assert clock.datetime(clock.local_seconds(time(2, 30))) == utc(2027, 3, 28, 1, 30)


def test_fall_back_day_has_25_hours_and_windows_across_the_change_grow() -> None:
    clock = DayClock.for_day(FALL_BACK, "Europe/Madrid")
    assert clock.origin == utc(2026, 10, 24, 22)  # CEST = UTC+2
    assert clock.horizon == 25 * HOUR
    # 01:00 CEST = 23:00Z, 04:00 CET = 03:00Z: the three wall-clock hours last four.
    assert clock.local_interval(time(1), time(4)) == (1 * HOUR, 5 * HOUR)
    assert clock.local_seconds(time(17)) == 18 * HOUR
    assert clock.datetime(clock.local_seconds(time(17))) == utc(2026, 10, 25, 16)


def test_staff_zone_differs_from_business_zone() -> None:
    clock = DayClock.for_day(MONDAY, "Europe/Madrid")
    canary = ZoneInfo("Atlantic/Canary")  # one hour behind Madrid
    assert clock.local_seconds(time(8), canary) == 9 * HOUR
    # A window ending at midnight ends at the end of the day.
    assert clock.local_interval(time(20), time(0)) == (20 * HOUR, 24 * HOUR)


def test_origin_moves_earlier_for_someone_starting_before_business_midnight() -> None:
    tokyo_start = local_to_utc(MONDAY, time(7), ZoneInfo("Asia/Tokyo"))  # 22:00Z
    clock = DayClock.for_day(MONDAY, "Europe/Madrid", tokyo_start)
    assert clock.origin == tokyo_start
    assert clock.seconds(tokyo_start) == 0
    assert clock.horizon == 25 * HOUR


def test_naive_datetimes_and_unknown_zones_are_refused() -> None:
    clock = DayClock.for_day(MONDAY, "Europe/Madrid")
    with pytest.raises(ValueError, match="naive"):
        clock.seconds(utc(2026, 12, 7, 8).replace(tzinfo=None))
    with pytest.raises(DomainError, match="unknown time zone"):
        DayClock.for_day(MONDAY, "Mars/Olympus")
