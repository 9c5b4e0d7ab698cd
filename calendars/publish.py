"""Publish an approved daily plan into the staff calendars (the CalendarEntry rows).

One entry per (visit, staff member). A new entry starts at SEQUENCE 0; a change of time or text
raises SEQUENCE and LAST-MODIFIED; a visit that leaves the plan (or moves to someone else) gets its
entry cancelled, which the feed keeps for 30 days as STATUS:CANCELLED. Publishing the same plan
twice changes nothing, and publishing a superseded plan is refused quietly (a late retry must not
undo a newer plan).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from calendars.content import EventText, staff_event_text
from calendars.feed import staff_locale
from domain.db import session_scope
from domain.errors import Conflict, NotFound
from domain.models import (
    CalendarEntry,
    Customer,
    DailyPlan,
    PlanStatus,
    PlanStop,
    Product,
    Sale,
    Staff,
    Visit,
    VisitStatus,
)
from domain.types import utcnow

# Visits whose calendar entry is withdrawn even though the plan still lists them.
_WITHDRAWN = {VisitStatus.CANCELLED.value, VisitStatus.DECLINED.value}
# Visits that already happened: their entry stays as it is (history), whatever a later plan says.
_DONE = {VisitStatus.COMPLETED.value, VisitStatus.FAILED.value}


@dataclass
class PublishResult:
    plan_id: int
    created: int = 0
    updated: int = 0
    cancelled: int = 0
    unchanged: int = 0
    staff_ids: list[int] = field(default_factory=list)
    """Staff members whose calendar changed (push them to CalDAV)."""
    skipped_reason: str | None = None

    @property
    def changed(self) -> int:
        """How many entries changed (created, updated or cancelled)."""
        return self.created + self.updated + self.cancelled


@dataclass(frozen=True)
class _Wanted:
    staff_id: int
    visit_id: int
    starts_at: datetime
    ends_at: datetime
    text: EventText


def _wanted_entries(session: Session, plan: DailyPlan) -> dict[tuple[int, int], _Wanted]:
    stops = session.exec(
        select(PlanStop).where(
            PlanStop.plan_id == plan.id,
            PlanStop.kind == "visit",
            col(PlanStop.visit_id).isnot(None),
        )
    ).all()
    wanted: dict[tuple[int, int], _Wanted] = {}
    locales: dict[int, str] = {}
    for stop in stops:
        assert stop.visit_id is not None
        visit = session.get(Visit, stop.visit_id)
        staff = session.get(Staff, stop.staff_id)
        if visit is None or staff is None or visit.status in _WITHDRAWN:
            continue
        sale = session.get(Sale, visit.sale_id)
        assert sale is not None
        customer = session.get(Customer, sale.customer_id)
        product = session.get(Product, sale.product_id)
        assert customer is not None and product is not None
        if stop.staff_id not in locales:
            locales[stop.staff_id] = staff_locale(session, stop.staff_id)
        text = staff_event_text(visit, product, customer, locales[stop.staff_id], staff.timezone)
        wanted[(stop.visit_id, stop.staff_id)] = _Wanted(
            stop.staff_id, stop.visit_id, stop.start, stop.end, text
        )
    return wanted


def _entries_on_day(session: Session, plan_date: date) -> list[CalendarEntry]:
    """Active entries whose start falls on the plan's day in their staff member's time zone."""
    midnight = datetime.combine(plan_date, datetime.min.time(), ZoneInfo("UTC"))
    candidates = session.exec(
        select(CalendarEntry).where(
            col(CalendarEntry.cancelled).is_(False),
            col(CalendarEntry.starts_at) >= midnight - timedelta(days=1),
            col(CalendarEntry.starts_at) < midnight + timedelta(days=2),
        )
    ).all()
    zones: dict[int, ZoneInfo] = {}
    found = []
    for entry in candidates:
        if entry.staff_id not in zones:
            staff = session.get(Staff, entry.staff_id)
            zones[entry.staff_id] = ZoneInfo(staff.timezone if staff else "UTC")
        if entry.starts_at.astimezone(zones[entry.staff_id]).date() == plan_date:
            found.append(entry)
    return found


def _bump(entry: CalendarEntry, now: datetime) -> None:
    """Raise SEQUENCE and LAST-MODIFIED; LAST-MODIFIED moves on by at least one whole second
    (iCalendar's resolution), so two changes in one second still read as two changes."""
    entry.sequence += 1
    next_second = entry.last_modified.replace(microsecond=0) + timedelta(seconds=1)
    entry.last_modified = max(now, next_second)


def _differs(entry: CalendarEntry, want: _Wanted) -> bool:
    return (
        entry.cancelled
        or entry.starts_at != want.starts_at
        or entry.ends_at != want.ends_at
        or entry.summary != want.text.summary
        or entry.location != want.text.location
        or entry.description != want.text.description
    )


def publish_plan(engine: Engine, plan_id: int) -> PublishResult:
    """Bring the calendar entries in line with an APPROVED plan; idempotent."""
    with session_scope(engine) as session:
        plan = session.exec(
            select(DailyPlan).where(DailyPlan.id == plan_id).with_for_update()
        ).first()
        if plan is None:
            raise NotFound(f"unknown plan {plan_id}")
        if plan.status == PlanStatus.SUPERSEDED:
            return PublishResult(plan_id=plan_id, skipped_reason="superseded")
        if plan.status != PlanStatus.APPROVED:
            raise Conflict(f"plan {plan_id} is {plan.status}; only approved plans are published")
        result = PublishResult(plan_id=plan_id)
        now = utcnow()
        wanted = _wanted_entries(session, plan)
        visit_ids = {visit_id for visit_id, _ in wanted} | {
            stop.visit_id
            for stop in session.exec(select(PlanStop).where(PlanStop.plan_id == plan_id))
            if stop.visit_id is not None
        }
        existing: dict[int, CalendarEntry] = {}
        if visit_ids:
            for entry in session.exec(
                select(CalendarEntry).where(col(CalendarEntry.visit_id).in_(visit_ids))
            ):
                existing[entry.id or 0] = entry
        for entry in _entries_on_day(session, plan.plan_date):
            existing.setdefault(entry.id or 0, entry)
        by_key = {(e.visit_id, e.staff_id): e for e in existing.values()}
        changed_staff: set[int] = set()

        for key, want in sorted(wanted.items()):
            entry = by_key.get(key)
            if entry is None:
                session.add(
                    CalendarEntry(
                        uid=f"{uuid.uuid4()}@posventa",
                        staff_id=want.staff_id,
                        visit_id=want.visit_id,
                        starts_at=want.starts_at,
                        ends_at=want.ends_at,
                        summary=want.text.summary,
                        location=want.text.location,
                        description=want.text.description,
                        sequence=0,
                        last_modified=now,
                    )
                )
                result.created += 1
                changed_staff.add(want.staff_id)
            elif _differs(entry, want):
                entry.starts_at, entry.ends_at = want.starts_at, want.ends_at
                entry.summary = want.text.summary
                entry.location = want.text.location
                entry.description = want.text.description
                entry.cancelled, entry.cancelled_at = False, None
                _bump(entry, now)
                session.add(entry)
                result.updated += 1
                changed_staff.add(entry.staff_id)
            else:
                result.unchanged += 1

        for key, entry in sorted(by_key.items()):
            if key in wanted or entry.cancelled:
                continue
            visit = session.get(Visit, entry.visit_id)
            if visit is not None and visit.status in _DONE:
                continue
            entry.cancelled, entry.cancelled_at = True, now
            _bump(entry, now)
            session.add(entry)
            result.cancelled += 1
            changed_staff.add(entry.staff_id)
        result.staff_ids = sorted(changed_staff)
        return result


def withdraw_visit(engine: Engine, visit_id: int) -> list[int]:
    """Cancel every active calendar entry of a visit (the visit or its sale was cancelled).

    Returns the staff ids whose calendar changed; idempotent."""
    with session_scope(engine) as session:
        now = utcnow()
        staff_ids = []
        for entry in session.exec(
            select(CalendarEntry).where(
                CalendarEntry.visit_id == visit_id, col(CalendarEntry.cancelled).is_(False)
            )
        ):
            entry.cancelled, entry.cancelled_at = True, now
            _bump(entry, now)
            session.add(entry)
            staff_ids.append(entry.staff_id)
        return sorted(set(staff_ids))
