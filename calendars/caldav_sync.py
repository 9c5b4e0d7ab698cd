"""Two-way CalDAV sync with a staff member's own calendar.

Out: their approved sessions (the CalendarEntry rows) are written by UID: created, updated, and
deleted once cancelled. ``CalendarEntry.caldav_pushed_sequence`` remembers what the server has, so
pushing twice sends nothing the second time.
In: their busy time on a planning day (events that are not transparent, not cancelled and not our
own) is stored as StaffBusy rows, which planning treats as unavailability.

Errors raise :class:`CalDavError` with ``retryable`` set (server down: yes; bad credentials or a
wrong URL: no) after writing the message to ``Staff.caldav_last_error`` for the dispatcher. Network
calls happen outside database transactions.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import caldav
from caldav.lib import error as dav_error
from sqlalchemy import delete, or_, update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import Session, col, select

from calendars.feed import add_events, entry_event, new_calendar
from domain.db import session_scope
from domain.errors import NotFound
from domain.models import CalendarEntry, Staff, StaffBusy
from domain.types import utcnow

TIMEOUT_SECONDS = 20


class CalDavError(Exception):
    """A CalDAV server could not be used; ``retryable`` says whether trying later may help."""

    def __init__(self, message: str, retryable: bool) -> None:
        super().__init__(message)
        self.message = message
        self.retryable = retryable


@dataclass
class PushResult:
    staff_id: int
    created: int = 0
    updated: int = 0
    deleted: int = 0
    unchanged: int = 0
    skipped_reason: str | None = None

    @property
    def pushed(self) -> int:
        """How many writes reached the server (creations, updates and deletions)."""
        return self.created + self.updated + self.deleted


@dataclass(frozen=True)
class _Account:
    staff_id: int
    url: str
    username: str | None
    password: str | None
    timezone: str
    name: str


def _account(engine: Engine, staff_id: int) -> _Account | None:
    with Session(engine) as session:
        staff = session.get(Staff, staff_id)
        if staff is None:
            raise NotFound(f"unknown staff member {staff_id}")
        if not staff.caldav_url:
            return None
        return _Account(
            staff_id=staff_id,
            url=staff.caldav_url,
            username=staff.caldav_username,
            password=staff.caldav_password,
            timezone=staff.timezone,
            name=staff.name,
        )


def staff_with_caldav(engine: Engine) -> list[int]:
    """Ids of the active staff members who have a CalDAV calendar configured."""
    with Session(engine) as session:
        return sorted(
            staff_id
            for staff_id in session.exec(
                select(Staff.id).where(
                    col(Staff.active).is_(True), col(Staff.caldav_url).isnot(None)
                )
            )
            if staff_id is not None
        )


def _record_error(engine: Engine, staff_id: int, message: str | None) -> None:
    with session_scope(engine) as session:
        staff = session.get(Staff, staff_id)
        if staff is not None and staff.caldav_last_error != message:
            staff.caldav_last_error = message
            session.add(staff)


def _describe(exc: BaseException) -> CalDavError:
    """Map a client/server failure to a CalDavError in words a dispatcher understands."""
    if isinstance(exc, CalDavError):
        return exc
    if isinstance(exc, dav_error.AuthorizationError):
        return CalDavError("the CalDAV server refused the username or password", retryable=False)
    if isinstance(exc, dav_error.NotFoundError):
        return CalDavError("the CalDAV calendar URL was not found", retryable=False)
    if isinstance(exc, dav_error.RateLimitError):
        return CalDavError("the CalDAV server asked us to slow down", retryable=True)
    if isinstance(exc, dav_error.DAVError):
        reason = getattr(exc, "reason", "") or type(exc).__name__
        return CalDavError(f"the CalDAV server answered with an error ({reason})", retryable=True)
    if isinstance(exc, OSError | TimeoutError):
        # niquests/requests connection errors and timeouts are OSErrors
        return CalDavError(
            f"the CalDAV server could not be reached ({type(exc).__name__})", retryable=True
        )
    return CalDavError(f"CalDAV failed ({type(exc).__name__})", retryable=True)


@contextmanager
def _calendar(engine: Engine, account: _Account) -> Iterator[caldav.Calendar]:
    """The staff member's calendar; failures are recorded and raised as CalDavError."""
    try:
        with caldav.DAVClient(
            url=account.url,
            username=account.username,
            password=account.password,
            timeout=TIMEOUT_SECONDS,
            enable_rfc6764=False,
        ) as client:
            yield client.calendar(url=account.url)
    except SQLAlchemyError:
        raise
    except Exception as exc:  # noqa: BLE001 - every failure becomes a CalDavError
        failure = _describe(exc)
        stamp = utcnow().strftime("%Y-%m-%d %H:%M UTC")
        _record_error(engine, account.staff_id, f"{stamp}: {failure.message}")
        raise failure from exc
    _record_error(engine, account.staff_id, None)


def _object_ics(entry: CalendarEntry, tzid: str, name: str) -> str:
    cal = add_events(new_calendar(name), [entry_event(entry, tzid)])
    return cal.to_ical().decode("utf-8")


def _pending(engine: Engine, staff_id: int) -> list[CalendarEntry]:
    """Entries whose current SEQUENCE the server does not have yet."""
    pushed = col(CalendarEntry.caldav_pushed_sequence)
    with Session(engine, expire_on_commit=False) as session:
        return list(
            session.exec(
                select(CalendarEntry)
                .where(
                    CalendarEntry.staff_id == staff_id,
                    or_(pushed.is_(None), pushed != col(CalendarEntry.sequence)),
                )
                .order_by(col(CalendarEntry.id))
            )
        )


def _mark_pushed(engine: Engine, entry_id: int, sequence: int) -> None:
    # last_modified is set to itself so its on-update default does not fire: pushing is not a change
    with session_scope(engine) as session:
        session.execute(
            update(CalendarEntry)
            .where(col(CalendarEntry.id) == entry_id)
            .values(caldav_pushed_sequence=sequence, last_modified=CalendarEntry.last_modified)
        )


def push_staff(engine: Engine, staff_id: int) -> PushResult:
    """Write the staff member's pending calendar changes to their CalDAV calendar."""
    account = _account(engine, staff_id)
    result = PushResult(staff_id=staff_id)
    if account is None:
        result.skipped_reason = "no_caldav"
        return result
    pending = _pending(engine, staff_id)
    if not pending:
        return result
    with _calendar(engine, account) as calendar:
        for entry in pending:
            assert entry.id is not None
            if entry.cancelled:
                if entry.caldav_pushed_sequence is not None:
                    try:
                        calendar.event_by_uid(entry.uid).delete()
                        result.deleted += 1
                    except dav_error.NotFoundError:
                        result.unchanged += 1  # already gone (deleted there, or a retried push)
                else:
                    result.unchanged += 1  # never sent: nothing to delete
            else:
                calendar.add_event(
                    _object_ics(entry, account.timezone, account.name), increase_seqno=False
                )
                if entry.caldav_pushed_sequence is None:
                    result.created += 1
                else:
                    result.updated += 1
            _mark_pushed(engine, entry.id, entry.sequence)
    return result


def reset_push_state(session: Session, staff_id: int) -> None:
    """Forget what was pushed (call when the staff member's CalDAV settings change)."""
    session.execute(
        update(CalendarEntry)
        .where(col(CalendarEntry.staff_id) == staff_id)
        .values(caldav_pushed_sequence=None, last_modified=CalendarEntry.last_modified)
    )


def _day_bounds(day: date, tzid: str) -> tuple[datetime, datetime]:
    tz = ZoneInfo(tzid)
    start = datetime.combine(day, time(0), tz).astimezone(UTC)
    end = datetime.combine(day + timedelta(days=1), time(0), tz).astimezone(UTC)
    return start, end


def _as_utc(value: date | datetime, tz: ZoneInfo) -> datetime:
    if not isinstance(value, datetime):
        return datetime.combine(value, time(0), tz).astimezone(UTC)
    if value.tzinfo is None:  # floating time: the staff member's wall clock
        return value.replace(tzinfo=tz).astimezone(UTC)
    return value.astimezone(UTC)


def _busy_intervals(
    calendar: caldav.Calendar, day_start: datetime, day_end: datetime, tzid: str, own: set[str]
) -> list[tuple[datetime, datetime, str]]:
    tz = ZoneInfo(tzid)
    found: list[tuple[datetime, datetime, str]] = []
    for obj in calendar.search(start=day_start, end=day_end, event=True, expand=True):
        for component in obj.icalendar_instance.walk("VEVENT"):
            uid = str(component.get("uid", ""))
            if uid in own:
                continue
            if str(component.get("transp", "OPAQUE")).upper() == "TRANSPARENT":
                continue
            if str(component.get("status", "")).upper() == "CANCELLED":
                continue
            if component.get("dtstart") is None:
                continue
            start = _as_utc(component.start, tz)
            try:
                end = _as_utc(component.end, tz)
            except Exception:  # noqa: BLE001 - no DTEND/DURATION on a timed event: zero length
                end = start
            start, end = max(start, day_start), min(end, day_end)
            if end > start:
                found.append((start, end, uid[:300]))
    return sorted(found)


def pull_busy(engine: Engine, staff_id: int, day: date) -> int:
    """Replace the staff member's StaffBusy rows of ``day`` (their local day) with the busy time
    in their CalDAV calendar; return how many intervals were stored."""
    account = _account(engine, staff_id)
    if account is None:
        return 0
    day_start, day_end = _day_bounds(day, account.timezone)
    with Session(engine) as session:
        own = set(
            session.exec(select(CalendarEntry.uid).where(CalendarEntry.staff_id == staff_id)).all()
        )
    with _calendar(engine, account) as calendar:
        intervals = _busy_intervals(calendar, day_start, day_end, account.timezone, own)
    with session_scope(engine) as session:
        session.execute(
            delete(StaffBusy).where(
                col(StaffBusy.staff_id) == staff_id,
                col(StaffBusy.starts_at) >= day_start,
                col(StaffBusy.starts_at) < day_end,
            )
        )
        now = utcnow()
        for start, end, uid in intervals:
            session.add(
                StaffBusy(
                    staff_id=staff_id, starts_at=start, ends_at=end, source_uid=uid, fetched_at=now
                )
            )
    return len(intervals)
