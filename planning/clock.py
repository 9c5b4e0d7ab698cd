"""Time on a planning day: aware datetimes <-> whole seconds from the problem's origin.

The optimizer counts integer seconds from an origin. For a plan date the origin is local
midnight in the business time zone (or earlier, when a staff member in another zone starts
before it). Local times of day are converted through :mod:`zoneinfo`, so a day with a
daylight-saving change (23 or 25 hours long) converts correctly.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from domain.errors import DomainError


def zone(name: str) -> ZoneInfo:
    """A time zone by IANA name, or a clear error."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise DomainError(f"unknown time zone {name!r}") from exc


def local_to_utc(day: date, at: time, tz: ZoneInfo) -> datetime:
    """The UTC instant of wall-clock ``at`` on ``day`` in ``tz``.

    A wall time skipped by a spring-forward change (02:30 in Madrid on the last Sunday of March)
    is read with the offset before the change, i.e. it lands one hour later on the clock; an
    ambiguous time in the autumn takes its first occurrence. ``time.max`` style ends of day are
    accepted.
    """
    local = datetime.combine(day, at.replace(tzinfo=None), tzinfo=tz)
    return local.astimezone(UTC)


def day_start_utc(day: date, tz: ZoneInfo) -> datetime:
    """Local midnight of ``day`` in ``tz``, as UTC."""
    return local_to_utc(day, time(0, 0), tz)


def day_end_utc(day: date, tz: ZoneInfo) -> datetime:
    """Local midnight at the end of ``day`` (the next day's start) in ``tz``, as UTC."""
    return day_start_utc(day + timedelta(days=1), tz)


@dataclass(frozen=True)
class DayClock:
    """Converts between UTC datetimes and seconds from ``origin`` for one plan date."""

    plan_date: date
    tz: ZoneInfo
    origin: datetime

    @classmethod
    def for_day(cls, plan_date: date, tz_name: str, earliest: datetime | None = None) -> DayClock:
        """A clock whose origin is local midnight (or ``earliest`` when that comes first)."""
        tz = zone(tz_name)
        origin = day_start_utc(plan_date, tz)
        if earliest is not None and earliest < origin:
            origin = earliest.astimezone(UTC)
        return cls(plan_date=plan_date, tz=tz, origin=origin)

    @property
    def day_end(self) -> datetime:
        """End of the plan date in the business zone, as UTC."""
        return day_end_utc(self.plan_date, self.tz)

    @property
    def horizon(self) -> int:
        """Seconds from the origin to the end of the business day (23-25 h plus any lead)."""
        return self.seconds(self.day_end)

    def seconds(self, at: datetime) -> int:
        """Whole seconds from the origin to an aware datetime (negative before the origin)."""
        if at.tzinfo is None:
            raise ValueError(f"naive datetime {at!r}: planning works with aware datetimes")
        return int((at - self.origin).total_seconds())

    def local_seconds(self, at: time, tz: ZoneInfo | None = None) -> int:
        """Seconds from the origin to wall-clock ``at`` on the plan date (business zone default)."""
        return self.seconds(local_to_utc(self.plan_date, at, tz or self.tz))

    def datetime(self, seconds: int) -> datetime:
        """The aware UTC datetime ``seconds`` after the origin."""
        return self.origin + timedelta(seconds=int(seconds))

    def local_interval(self, start: time, end: time, tz: ZoneInfo | None = None) -> tuple[int, int]:
        """A wall-clock range on the plan date as seconds; an ``end`` of 00:00 means midnight."""
        lo = self.local_seconds(start, tz)
        if end == time(0, 0):
            hi = self.seconds(day_end_utc(self.plan_date, tz or self.tz))
        else:
            hi = self.local_seconds(end, tz)
        return lo, hi
