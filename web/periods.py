"""A report's period from its URL (``since``/``until``, ISO dates; the last N days by default)
and its bounds as UTC instants of the business's local days."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo


class BadPeriod(ValueError):
    """A period a report cannot read (a date that is not one, or an end before its start)."""


def period_from_args(args: Mapping[str, str], today: date, default_days: int) -> tuple[date, date]:
    """``(since, until)`` from ``since`` and ``until`` (until today and ``default_days`` days
    back when missing); raises :class:`BadPeriod`."""
    try:
        until = date.fromisoformat(args["until"]) if args.get("until") else today
        since = (
            date.fromisoformat(args["since"])
            if args.get("since")
            else until - timedelta(days=default_days - 1)
        )
    except ValueError as exc:
        raise BadPeriod(str(exc)) from exc
    if until < since:
        raise BadPeriod("the period ends before it starts")
    return since, until


def utc_bounds(since: date, until: date, tzid: str) -> tuple[datetime, datetime]:
    """The first instant of ``since`` and the first after ``until``, local days, in UTC."""
    tz = ZoneInfo(tzid)
    start = datetime.combine(since, time(0), tz).astimezone(UTC)
    end = datetime.combine(until + timedelta(days=1), time(0), tz).astimezone(UTC)
    return start, end
