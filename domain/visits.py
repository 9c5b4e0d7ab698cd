"""A visit's life after it is requested: status changes, rescheduling, alternative slots.

Each function changes one visit inside the caller's transaction and writes an audit entry; they
are idempotent (setting the status a visit already has changes nothing).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlmodel import Session, col, func, select

from domain import audit
from domain.errors import Conflict, NotFound
from domain.models import (
    OPEN_VISIT_STATUSES,
    SCHEDULED_VISIT_STATUSES,
    Customer,
    Sale,
    SaleStatus,
    Staff,
    StaffAbsence,
    StaffBusy,
    Visit,
    VisitStatus,
)

FINAL_STATUSES = (VisitStatus.COMPLETED, VisitStatus.FAILED, VisitStatus.CANCELLED)
AWAY_FROM_M = 500  # a check-in farther than this (beyond the position's accuracy) is away
ACCURACY_KEPT_M = 5000  # a position vaguer than this says nothing about the address
SLOT_STEP_MINUTES = 15
SLOT_TRAVEL_MARGIN = timedelta(minutes=30)


def get_visit(session: Session, visit_id: int) -> Visit:
    visit = session.get(Visit, visit_id)
    if visit is None:
        raise NotFound(f"unknown visit {visit_id}")
    return visit


def set_status(
    session: Session,
    visit_id: int,
    status: str,
    actor: str,
    *,
    note: str | None = None,
    needs_phone_call: bool | None = None,
    unplan: bool = False,
    finished_at: datetime | None = None,
) -> Visit:
    """Give a visit a new status; ``unplan`` clears its assignment (back into the pool).

    A visit completed or failed keeps when it finished: ``finished_at`` (the technician said
    when, reporting later) or now; never before the arrival nor in the future. A visit in a
    final status (completed, failed, cancelled) keeps it: a late or repeated call changes
    nothing.
    """
    valid = {s.value for s in VisitStatus}
    if status not in valid:
        raise Conflict(f"unknown visit status {status!r}")
    visit = get_visit(session, visit_id)
    if visit.status in FINAL_STATUSES and visit.status != status:
        return visit
    changed = visit.status != status
    if changed and status in (VisitStatus.COMPLETED, VisitStatus.FAILED):
        visit.finished_at = visit.finished_at or _finish_time(visit, finished_at)
    visit.status = status
    if note is not None:
        visit.outcome_note = note[:2000]
    if needs_phone_call is not None:
        changed = changed or visit.needs_phone_call != needs_phone_call
        visit.needs_phone_call = needs_phone_call
    if unplan and visit.assigned_staff_id is not None:
        visit.assigned_staff_id = None
        visit.planned_start = None
        visit.promised_window_start = None
        visit.promised_window_end = None
        forget_arrival(visit)  # the next attempt gets its own (the audit keeps this one)
        changed = True
    session.add(visit)
    if changed:
        audit.record(
            session,
            actor,
            "visit.status",
            "visit",
            visit_id,
            status=status,
            needs_phone_call=visit.needs_phone_call,
        )
    return visit


def forget_arrival(visit: Visit) -> None:
    """The visit leaves its technician's route: their check-in, its distance and the arrival
    they announced are not the next attempt's (the audit keeps them)."""
    visit.arrived_at = visit.expected_at = None
    visit.arrival_distance_m = visit.arrival_accuracy_m = None


def _finish_time(visit: Visit, said: datetime | None) -> datetime:
    """When the visit ended: the time the technician said, kept between the arrival and now."""
    now = datetime.now(UTC)
    if said is None or said > now:
        return now
    if visit.arrived_at is not None and said < visit.arrived_at:
        return visit.arrived_at
    return said


@dataclass(frozen=True)
class Position:
    """Where a phone says it is: decimal degrees and the accuracy in metres."""

    lat: float
    lon: float
    accuracy_m: float

    def __post_init__(self) -> None:
        if not (-90 <= self.lat <= 90 and -180 <= self.lon <= 180):
            raise ValueError(f"no such position: {self.lat}, {self.lon}")
        if not 0 <= self.accuracy_m < 1e7:  # NaN fails too
            raise ValueError(f"no such accuracy: {self.accuracy_m}")


def record_arrival(
    session: Session,
    visit_id: int,
    actor: str,
    at: datetime | None = None,
    position: Position | None = None,
) -> Visit:
    """The technician is at the customer's (their "I'm here"): the time is kept, audited, and
    later compared with the window promised; with the phone's position, how far from the
    customer's address (not the position: where staff are is theirs). Only a visit still to
    happen that someone is assigned to; a second tap keeps the first time."""
    # here, not at the top: workflows import this module (through their activities' types)
    # inside Temporal's sandbox, where numpy (under optimizer.travel) cannot load twice
    from optimizer.model import Location
    from optimizer.travel import haversine_metres

    visit = get_visit(session, visit_id)
    if visit.status not in SCHEDULED_VISIT_STATUSES or visit.assigned_staff_id is None:
        raise Conflict(f"visit {visit_id} is {visit.status}: not one to arrive at")
    if visit.arrived_at is None:
        visit.arrived_at = at or datetime.now(UTC)
        if position is not None and position.accuracy_m <= ACCURACY_KEPT_M:
            customer = session.exec(
                select(Customer).join(Sale, col(Sale.customer_id) == col(Customer.id))
                .where(Sale.id == visit.sale_id)
            ).one()  # fmt: skip
            visit.arrival_distance_m = round(haversine_metres(
                Location(position.lat, position.lon),
                Location(customer.latitude, customer.longitude),
            ))  # fmt: skip
            visit.arrival_accuracy_m = round(position.accuracy_m)
        session.add(visit)
        late = lateness_minutes(visit)
        audit.record(session, actor, "visit.arrived", "visit", visit_id,
                     arrived_at=visit.arrived_at.isoformat(), late_minutes=late,
                     distance_m=visit.arrival_distance_m)  # fmt: skip
    return visit


def announce_arrival(session: Session, visit_id: int, actor: str, at: datetime) -> bool:
    """The technician told the customer when they will arrive ("on my way"): kept (the board
    reads a route's delay from it) and audited; False for a visit already reached or no longer
    to happen."""
    visit = get_visit(session, visit_id)
    if visit.status not in SCHEDULED_VISIT_STATUSES or visit.arrived_at is not None:
        return False
    visit.expected_at = at
    session.add(visit)
    audit.record(session, actor, "visit.on_the_way", "visit", visit_id,
                 expected_at=at.isoformat())  # fmt: skip
    return True


def away_metres(visit: Visit) -> int | None:
    """How far from the customer's address the check-in was, when clearly away from it
    (farther than ``AWAY_FROM_M`` beyond the position's accuracy); else None."""
    distance, accuracy = visit.arrival_distance_m, visit.arrival_accuracy_m
    if distance is None or distance <= AWAY_FROM_M + (accuracy or 0):
        return None
    return distance


def lateness_minutes(visit: Visit) -> int | None:
    """How many minutes after the promised window the technician arrived (0 within it or
    early; None when there is no arrival or no window)."""
    if visit.arrived_at is None or visit.promised_window_end is None:
        return None
    late = (visit.arrived_at - visit.promised_window_end).total_seconds()
    return max(0, int(late // 60))


def flag_phone_call(session: Session, visit_id: int, actor: str, reason: str) -> bool:
    """Ask the dispatcher to phone the customer about an open visit (audited with the reason);
    False when the visit is closed, unknown or flagged already."""
    visit = session.get(Visit, visit_id)
    if visit is None or visit.needs_phone_call or visit.status not in OPEN_VISIT_STATUSES:
        return False
    visit.needs_phone_call = True
    session.add(visit)
    audit.record(session, actor, "visit.needs_phone_call", "visit", visit_id, reason=reason)
    return True


def record_failed_decision(
    session: Session, visit_id: int, action: str, actor: str, *, note: str = ""
) -> Visit:
    """The dispatcher decided what becomes of a failed visit ("retry": another visit is
    requested; "close": the step is given up): its phone-call flag is cleared and the decision
    audited. The visit itself stays failed; a repeated call changes nothing."""
    visit = get_visit(session, visit_id)
    if visit.status != VisitStatus.FAILED:
        raise Conflict(f"visit {visit_id} is {visit.status}, not failed")
    if not visit.needs_phone_call:
        return visit
    visit.needs_phone_call = False
    session.add(visit)
    audit.record(
        session, actor, "visit.failed_decision", "visit", visit_id, decision=action, note=note[:400]
    )
    return visit


def mark_planned(
    session: Session,
    visit_id: int,
    actor: str,
    *,
    staff_id: int,
    planned_start: datetime,
    window_start: datetime | None,
    window_end: datetime | None,
) -> Visit:
    """Record a visit's place in an approved plan (status planned)."""
    visit = get_visit(session, visit_id)
    if visit.status in FINAL_STATUSES:
        return visit
    visit.assigned_staff_id = staff_id
    visit.planned_start = planned_start
    visit.promised_window_start = window_start
    visit.promised_window_end = window_end
    return set_status(session, visit_id, VisitStatus.PLANNED.value, actor)


def pin_to_slot(
    session: Session, visit_id: int, staff_id: int, start: datetime, actor: str
) -> Visit:
    """The customer chose an alternative slot: pin the visit there and put it back in the pool."""
    visit = get_visit(session, visit_id)
    if visit.status in FINAL_STATUSES:
        raise Conflict(f"visit {visit_id} is {visit.status}")
    visit.pinned_staff_id = staff_id
    visit.pinned_start = start
    visit.earliest_date = start.date()
    if visit.due_date is not None and visit.due_date < visit.earliest_date:
        visit.due_date = visit.earliest_date
    session.add(visit)
    audit.record(session, actor, "visit.pin", "visit", visit_id, start=start.isoformat())
    return set_status(session, visit_id, VisitStatus.REQUESTED.value, actor, unplan=True)


@dataclass(frozen=True)
class Slot:
    staff_id: int
    start: datetime  # aware UTC


def _busy_intervals(
    session: Session, staff_id: int, day_start: datetime, day_end: datetime, skip_visit: int
) -> list[tuple[datetime, datetime]]:
    busy: list[tuple[datetime, datetime]] = []
    visits = session.exec(
        select(Visit).where(
            Visit.assigned_staff_id == staff_id,
            Visit.planned_start.is_not(None),  # type: ignore[union-attr]
            Visit.planned_start >= day_start,  # type: ignore[operator]
            Visit.planned_start < day_end,  # type: ignore[operator]
            Visit.status.not_in(  # type: ignore[attr-defined]
                [VisitStatus.CANCELLED.value, VisitStatus.DECLINED.value]
            ),
            Visit.id != skip_visit,
        )
    ).all()
    for other in visits:
        assert other.planned_start is not None
        busy.append(
            (other.planned_start, other.planned_start + timedelta(minutes=other.duration_minutes))
        )
    pinned = session.exec(
        select(Visit).where(
            Visit.pinned_staff_id == staff_id,
            Visit.pinned_start.is_not(None),  # type: ignore[union-attr]
            Visit.pinned_start >= day_start,  # type: ignore[operator]
            Visit.pinned_start < day_end,  # type: ignore[operator]
            Visit.id != skip_visit,
        )
    ).all()
    for other in pinned:
        assert other.pinned_start is not None
        busy.append(
            (other.pinned_start, other.pinned_start + timedelta(minutes=other.duration_minutes))
        )
    for item in session.exec(
        select(StaffBusy).where(
            StaffBusy.staff_id == staff_id,
            StaffBusy.ends_at > day_start,
            StaffBusy.starts_at < day_end,
        )
    ):
        busy.append((item.starts_at, item.ends_at))
    return sorted(busy)


def _first_gap(
    start: datetime, end: datetime, busy: list[tuple[datetime, datetime]], needed: timedelta
) -> datetime | None:
    cursor = start
    for b_start, b_end in busy:
        if b_start - cursor >= needed:
            return cursor
        cursor = max(cursor, b_end + SLOT_TRAVEL_MARGIN)
    return cursor if end - cursor >= needed else None


def _round_up(moment: datetime) -> datetime:
    step = SLOT_STEP_MINUTES * 60
    seconds = int(moment.timestamp())
    return datetime.fromtimestamp(-(-seconds // step) * step, tz=UTC)


def alternative_slots(
    session: Session, visit_id: int, after: datetime, count: int = 3, horizon_days: int = 21
) -> list[Slot]:
    """Up to ``count`` free starts for a visit on different days after ``after``.

    Looks at staff with the visit's skills (its assigned or preferred staff member first), their
    working days and hours in their own time zone, absences, other planned or pinned visits and
    calendar busy time, and offers the first gap long enough on each day.
    """
    visit = get_visit(session, visit_id)
    if visit.status in FINAL_STATUSES:
        raise Conflict(f"visit {visit_id} is {visit.status}")
    needed = timedelta(minutes=visit.duration_minutes)
    required = set(visit.required_skills)
    staff = [
        s
        for s in session.exec(select(Staff).where(Staff.active == True).order_by(Staff.id))  # noqa: E712
        if required <= set(s.skills)
    ]
    first_choice = {visit.assigned_staff_id, visit.preferred_staff_id}
    staff.sort(key=lambda s: (s.id not in first_choice, s.id))
    slots: list[Slot] = []
    day = after.date()
    for _ in range(horizon_days):
        day += timedelta(days=1)
        slot = _slot_on(session, staff, visit_id, day, after, needed)
        if slot is not None:
            slots.append(slot)
            if len(slots) >= count:
                break
    return slots


def _slot_on(
    session: Session,
    staff: list[Staff],
    visit_id: int,
    day: date,
    after: datetime,
    needed: timedelta,
) -> Slot | None:
    for member in staff:
        if day.weekday() not in member.working_days:
            continue
        absent = session.exec(
            select(StaffAbsence).where(
                StaffAbsence.staff_id == member.id,
                StaffAbsence.starts_on <= day,
                StaffAbsence.ends_on >= day,
            )
        ).first()
        if absent is not None:
            continue
        zone = ZoneInfo(member.timezone)
        start = datetime.combine(day, member.work_start, zone).astimezone(UTC)
        end = datetime.combine(day, member.work_end, zone).astimezone(UTC)
        start = _round_up(max(start, after))
        day_start = datetime.combine(day, time(0), zone).astimezone(UTC)
        busy = _busy_intervals(
            session, member.id or 0, day_start, day_start + timedelta(days=1), visit_id
        )
        gap = _first_gap(start, end, busy, needed)
        if gap is not None:
            return Slot(staff_id=member.id or 0, start=_round_up(gap))
    return None


def _visits_awaiting_decision(*columns):  # type: ignore[no-untyped-def]
    """``columns`` of the failed visits of active sales that wait for the dispatcher's
    decision (``record_failed_decision`` takes it)."""
    return (
        select(*columns)
        .join(Sale, col(Sale.id) == col(Visit.sale_id))
        .where(
            Visit.status == VisitStatus.FAILED.value,
            col(Visit.needs_phone_call).is_(True),
            Sale.status == SaleStatus.ACTIVE.value,
        )
    )


def sales_awaiting_decision():  # type: ignore[no-untyped-def]
    """A query of the ids of active sales with a failed visit waiting for a decision."""
    return _visits_awaiting_decision(Visit.sale_id)


def decisions_waiting_since():  # type: ignore[no-untyped-def]
    """A subquery (``sale_id``, ``since``): each active sale waiting for a decision and since
    when, the moment its oldest waiting failed visit last changed (when it failed)."""
    return (
        _visits_awaiting_decision(
            col(Visit.sale_id).label("sale_id"), func.min(col(Visit.updated_at)).label("since")
        )
        .group_by(col(Visit.sale_id))
        .subquery()
    )


def count_sales_awaiting_decision(session: Session) -> int:
    return session.exec(
        select(func.count(func.distinct(col(Visit.sale_id)))).where(
            col(Visit.sale_id).in_(sales_awaiting_decision())
        )
    ).one()


def overdue(today: date) -> Any:
    """The condition of a visit still open after its due date (a repair or a maintenance round
    running late, planned or not)."""
    return (col(Visit.due_date) < today) & col(Visit.status).in_(
        [s.value for s in OPEN_VISIT_STATUSES]
    )


def count_calls_to_make(session: Session) -> int:
    """Open visits whose customer must be phoned (no answer to the SMS, or none delivered)."""
    return session.exec(
        select(func.count())
        .select_from(Visit)
        .where(
            col(Visit.needs_phone_call).is_(True),
            col(Visit.status).in_([s.value for s in OPEN_VISIT_STATUSES]),
        )
    ).one()


def count_overdue_visits(session: Session, today: date) -> int:
    return session.exec(select(func.count()).select_from(Visit).where(overdue(today))).one()


def upcoming_visit_days(
    session: Session,
    today: date,
    tzid: str,
    staff_id: int | None = None,
    customer_id: int | None = None,
) -> list[date]:
    """The days, from ``today`` on in the business time zone ``tzid``, on which open visits
    are planned for the staff member or at the customer's (days to re-optimize after a change:
    a staff member away or gone, a customer's address corrected)."""
    tz = ZoneInfo(tzid)
    since = datetime.combine(today, time(0, 0), tz).astimezone(UTC)
    query = select(Visit.planned_start).where(
        col(Visit.planned_start) >= since,
        col(Visit.status).in_([v.value for v in SCHEDULED_VISIT_STATUSES]),
    )
    if staff_id is not None:
        query = query.where(Visit.assigned_staff_id == staff_id)
    if customer_id is not None:
        query = query.join(Sale, col(Sale.id) == col(Visit.sale_id)).where(
            Sale.customer_id == customer_id
        )
    starts = session.exec(query)
    return sorted({start.astimezone(tz).date() for start in starts if start is not None})
