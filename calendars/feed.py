"""iCalendar documents: a staff member's subscribed feed and a customer's single-visit .ics.

Times are written in the staff member's (or the business's) time zone with a VTIMEZONE, so
calendar apps show them in the right zone; an instant whose local time is ambiguous (the repeated
hour when clocks go back) is written in UTC instead, since a local time there could mean either
hour. Output is deterministic (DTSTAMP is the entry's last change), so its hash is a stable ETag.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

from icalendar import Calendar, Event, Timezone
from icalendar.prop import vDuration
from sqlalchemy import and_, or_
from sqlmodel import Session, col, select

from calendars import content
from domain.models import (
    CalendarEntry,
    Customer,
    Product,
    Sale,
    Staff,
    User,
    Visit,
    VisitStatus,
)
from domain.types import utcnow

PRODID = "-//posventa//calendars//ES"
REFRESH_INTERVAL = timedelta(hours=1)
CANCELLED_KEPT = timedelta(days=30)
PAST_KEPT = timedelta(days=90)


def _is_ambiguous(local: datetime) -> bool:
    return local.replace(fold=0).utcoffset() != local.replace(fold=1).utcoffset()


def event_times(start: datetime, end: datetime, tzid: str) -> tuple[datetime, datetime]:
    """Start and end in the zone ``tzid``, or both in UTC when either local time is ambiguous."""
    tz = ZoneInfo(tzid)
    local_start, local_end = start.astimezone(tz), end.astimezone(tz)
    if _is_ambiguous(local_start) or _is_ambiguous(local_end):
        return start.astimezone(UTC), end.astimezone(UTC)
    return local_start, local_end


@lru_cache(maxsize=64)
def _vtimezone(tzid: str, first_year: int, last_year: int) -> Timezone:
    return Timezone.from_tzid(
        tzid, first_date=date(first_year, 1, 1), last_date=date(last_year, 1, 1)
    )


def _second(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(microsecond=0)


def new_calendar(name: str, description: str | None = None) -> Calendar:
    """An empty VCALENDAR with the properties subscribed feeds need.

    No X-WR-TIMEZONE: events carry their own TZID, and readers that apply X-WR-TIMEZONE to UTC
    times (as Google does) would lose the repeated hour of a clock change."""
    cal = Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("method", "PUBLISH")
    cal.add("name", name)
    cal.add("x-wr-calname", name)
    if description:
        cal.add("x-wr-caldesc", description)
    cal.add("refresh-interval", REFRESH_INTERVAL, parameters={"VALUE": "DURATION"})
    cal.add("x-published-ttl", vDuration(REFRESH_INTERVAL))
    return cal


def add_events(cal: Calendar, events: Iterable[Event]) -> Calendar:
    """Add events and the VTIMEZONEs they use (covering the years they span, and then some)."""
    events = list(events)
    tzids: set[str] = set()
    years: list[int] = []
    for event in events:
        for key in ("dtstart", "dtend"):
            value = event.get(key)
            if value is None:
                continue
            moment = value.dt
            years.append(moment.year)
            tzid = value.params.get("TZID")
            if tzid:
                tzids.add(tzid)
    for tzid in sorted(tzids):
        cal.add_component(_vtimezone(tzid, min(years) - 1, max(years) + 2))
    for event in events:
        cal.add_component(event)
    return cal


def entry_event(entry: CalendarEntry, tzid: str) -> Event:
    """The VEVENT of one calendar entry (active or cancelled)."""
    start, end = event_times(entry.starts_at, entry.ends_at, tzid)
    event = Event()
    event.add("uid", entry.uid)
    event.add("dtstamp", _second(entry.last_modified))
    event.add("last-modified", _second(entry.last_modified))
    event.add("sequence", entry.sequence)
    event.add("dtstart", start)
    event.add("dtend", end)
    event.add("summary", entry.summary)
    if entry.location:
        event.add("location", entry.location)
    if entry.description:
        event.add("description", entry.description)
    event.add("status", "CANCELLED" if entry.cancelled else "CONFIRMED")
    event.add("transp", "TRANSPARENT" if entry.cancelled else "OPAQUE")
    event.add("class", "PRIVATE")
    return event


def staff_locale(session: Session, staff_id: int) -> str:
    """The language of the staff member's login, Spanish when they have none."""
    user = session.exec(select(User).where(User.staff_id == staff_id)).first()
    return user.locale if user else "es"


def feed_entries(
    session: Session, staff_id: int, now: datetime | None = None
) -> list[CalendarEntry]:
    """What a staff member's feed holds: active entries (from 90 days back on) and entries
    cancelled within the last 30 days."""
    now = now or utcnow()
    active = and_(
        col(CalendarEntry.cancelled).is_(False), col(CalendarEntry.ends_at) >= now - PAST_KEPT
    )
    recently_cancelled = and_(
        col(CalendarEntry.cancelled).is_(True),
        col(CalendarEntry.cancelled_at) >= now - CANCELLED_KEPT,
    )
    query = (
        select(CalendarEntry)
        .where(CalendarEntry.staff_id == staff_id, or_(active, recently_cancelled))
        .order_by(col(CalendarEntry.starts_at), col(CalendarEntry.id))
    )
    return list(session.exec(query))


class _RenderedFeeds:
    """Feeds already rendered, keyed by everything they are made of (a pure memo: a changed
    entry, name, zone or language is a different key). Calendar apps poll every feed again and
    again, and serialising hundreds of events is the slow part."""

    def __init__(self, size: int = 64) -> None:
        self._size = size
        self._items: OrderedDict[str, bytes] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: str) -> bytes | None:
        with self._lock:
            body = self._items.get(key)
            if body is not None:
                self._items.move_to_end(key)
            return body

    def put(self, key: str, body: bytes) -> None:
        with self._lock:
            self._items[key] = body
            self._items.move_to_end(key)
            while len(self._items) > self._size:
                self._items.popitem(last=False)


_rendered = _RenderedFeeds()


def _feed_key(staff: Staff, locale: str, entries: list[CalendarEntry]) -> str:
    digest = hashlib.sha256(repr((staff.id, staff.name, staff.timezone, locale)).encode())
    for e in entries:
        digest.update(
            repr(
                (e.id, e.uid, e.sequence, e.cancelled, e.last_modified, e.starts_at, e.ends_at,
                 e.summary, e.location, e.description)
            ).encode()
        )  # fmt: skip
    return digest.hexdigest()


def staff_feed(session: Session, staff: Staff, now: datetime | None = None) -> bytes:
    """The whole iCalendar feed of one staff member (CRLF lines folded at 75 octets)."""
    assert staff.id is not None
    locale = staff_locale(session, staff.id)
    entries = feed_entries(session, staff.id, now)
    key = _feed_key(staff, locale, entries)
    body = _rendered.get(key)
    if body is None:
        cal = new_calendar(content.text(locale, "staff_calendar", name=staff.name))
        body = add_events(cal, [entry_event(e, staff.timezone) for e in entries]).to_ical()
        _rendered.put(key, body)
    return body


def customer_visit_sequence(session: Session, visit_id: int) -> int:
    """A SEQUENCE for the customer's copy that grows whenever any staff copy changes."""
    entries = session.exec(select(CalendarEntry).where(CalendarEntry.visit_id == visit_id)).all()
    return sum(e.sequence + 1 for e in entries) - 1 if entries else 0


class VisitNotScheduled(LookupError):
    """The visit has no time yet, so there is nothing to put in a calendar."""


def customer_visit_ics(session: Session, visit: Visit, tzid: str, uid_domain: str) -> bytes:
    """A single-event .ics of a customer's visit: the promised arrival window, in their language.

    ``tzid`` is the business time zone; ``uid_domain`` the public host name (keeps UIDs unique).
    """
    if visit.planned_start is None:
        raise VisitNotScheduled(f"visit {visit.id} has no planned time yet")
    sale = session.get(Sale, visit.sale_id)
    assert sale is not None
    customer = session.get(Customer, sale.customer_id)
    product = session.get(Product, sale.product_id)
    assert customer is not None and product is not None
    locale = customer.locale
    tz = ZoneInfo(tzid)
    window_start = visit.promised_window_start or visit.planned_start
    window_end = visit.promised_window_end or visit.planned_start
    visit_end = visit.planned_start + timedelta(minutes=visit.duration_minutes)
    start, end = event_times(window_start, max(window_end, visit_end), tzid)
    kind = content.kind_label(locale, visit.kind)
    summary = content.text(locale, "customer_summary", kind=kind, product=product.name_for(locale))
    lines = [
        content.text(
            locale,
            "customer_window",
            start=window_start.astimezone(tz).strftime("%H:%M"),
            end=window_end.astimezone(tz).strftime("%H:%M"),
            tz=tzid,
        ),
        content.text(locale, "customer_duration", minutes=visit.duration_minutes),
        content.text(locale, "reference", id=visit.id),
    ]
    cancelled = visit.status in (VisitStatus.CANCELLED, VisitStatus.DECLINED)
    event = Event()
    event.add("uid", f"posventa-visit-{visit.id}-customer@{uid_domain}")
    event.add("dtstamp", _second(visit.updated_at))
    event.add("last-modified", _second(visit.updated_at))
    event.add("sequence", customer_visit_sequence(session, visit.id or 0))
    event.add("dtstart", start)
    event.add("dtend", end)
    event.add("summary", summary)
    if customer.address:
        event.add("location", customer.address)
    event.add("description", "\n".join(lines))
    event.add("status", "CANCELLED" if cancelled else "CONFIRMED")
    event.add("transp", "OPAQUE")
    cal = new_calendar(summary)
    return add_events(cal, [event]).to_ical()
