"""What a plan date can use: the open visits, the staff who work that day, the base plan.

Plain database queries, no optimizer types. :mod:`planning.build` turns the result into the
optimizer's problem.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from sqlmodel import Session, col, select

from domain.errors import DomainError, NotFound
from domain.models import (
    SCHEDULED_VISIT_STATUSES,
    Customer,
    DailyPlan,
    PlanStatus,
    PlanStop,
    Sale,
    Staff,
    StaffAbsence,
    StaffBusy,
    Visit,
    VisitKind,
    VisitStatus,
    VisitWindow,
)
from planning.clock import DayClock, day_start_utc

#: Statuses of a visit waiting to be planned (declined ones go back into the pool).
POOL_STATUSES = (VisitStatus.REQUESTED.value, VisitStatus.DECLINED.value)
#: Statuses of a visit already placed in an approved plan and still to happen.
SCHEDULED_STATUSES = tuple(s.value for s in SCHEDULED_VISIT_STATUSES)
#: A visit in one of these states is finished and never planned again.
CLOSED_STATUSES = (
    VisitStatus.COMPLETED.value,
    VisitStatus.CANCELLED.value,
    VisitStatus.FAILED.value,
)
#: Closed visits a re-plan keeps where its base plan had them: they happened.
HISTORY_STATUSES = (VisitStatus.COMPLETED.value, VisitStatus.FAILED.value)


@dataclass(frozen=True)
class BaseStop:
    """Where a visit was in the base (previously approved) plan."""

    staff_id: int
    start: datetime
    window_start: datetime | None
    window_end: datetime | None
    sequence: int = 0
    arrival: datetime | None = None  # before ``start`` when the plan had the technician wait
    end: datetime | None = None


@dataclass
class CandidateVisit:
    """An open visit that may be planned on the day, with everything the solver needs."""

    visit: Visit
    latitude: float
    longitude: float
    windows: list[VisitWindow]
    preferred_staff_id: int | None
    base: BaseStop | None = None

    @property
    def id(self) -> int:
        assert self.visit.id is not None
        return self.visit.id


@dataclass
class AvailableStaff:
    """A staff member who works on the day, with their busy intervals (from CalDAV)."""

    staff: Staff
    busy: list[StaffBusy]

    @property
    def id(self) -> int:
        assert self.staff.id is not None
        return self.staff.id


@dataclass(frozen=True)
class Excluded:
    """A visit that belongs to the day's pool but cannot be planned, and why (in words).

    ``params`` holds the facts of ``reason`` (staff name, absence...) so the web can say it in the
    dispatcher's language (``web.reasons``), like ``optimizer.model.Unassigned.params``.
    """

    visit_id: int
    reason_code: str
    reason: str
    params: Mapping[str, str | int | tuple[str, ...]] = field(default_factory=dict, hash=False)


@dataclass
class DayCandidates:
    """The day's pool: visits, staff, the base plan and what was left out before solving."""

    plan_date: date
    visits: list[CandidateVisit]
    staff: list[AvailableStaff]
    base_plan: DailyPlan | None
    excluded: list[Excluded] = field(default_factory=list)
    staff_off: dict[int, str] = field(default_factory=dict)
    base_visit_ids: set[int] = field(default_factory=set)
    inactive_staff: set[int] = field(default_factory=set)  # deactivated: they left


def latest_plan(session: Session, plan_date: date, status: str | None = None) -> DailyPlan | None:
    """The highest version of the day's plan (optionally only with ``status``)."""
    query = select(DailyPlan).where(DailyPlan.plan_date == plan_date)
    if status is not None:
        query = query.where(DailyPlan.status == status)
    return session.exec(query.order_by(col(DailyPlan.version).desc())).first()


def resolve_base_plan(
    session: Session, plan_date: date, base_plan_id: int | None
) -> DailyPlan | None:
    """The plan to stay close to: the one asked for, else the day's approved plan, if any."""
    if base_plan_id is None:
        return latest_plan(session, plan_date, PlanStatus.APPROVED.value)
    base = session.get(DailyPlan, base_plan_id)
    if base is None:
        raise NotFound(f"unknown plan {base_plan_id}")
    if base.plan_date != plan_date:
        raise DomainError(
            f"plan {base_plan_id} is for {base.plan_date.isoformat()}, not {plan_date.isoformat()}"
        )
    return base


def base_stops(session: Session, plan_id: int) -> dict[int, BaseStop]:
    """Visit id -> where it was in a stored plan."""
    rows = session.exec(
        select(PlanStop).where(PlanStop.plan_id == plan_id, col(PlanStop.visit_id).is_not(None))
    )
    return {
        row.visit_id: BaseStop(
            row.staff_id,
            row.start,
            row.window_start,
            row.window_end,
            row.sequence,
            row.arrival,
            row.end,
        )
        for row in rows
        if row.visit_id is not None
    }


def _windows_by_visit(session: Session, visit_ids: Iterable[int]) -> dict[int, list[VisitWindow]]:
    ids = list(visit_ids)
    result: dict[int, list[VisitWindow]] = {i: [] for i in ids}
    if not ids:
        return result
    for row in session.exec(select(VisitWindow).where(col(VisitWindow.visit_id).in_(ids))):
        result[row.visit_id].append(row)
    return result


def _previous_trainers(session: Session, visits: list[Visit]) -> dict[int, int]:
    """Sale id -> the staff member who gave its latest earlier training session."""
    sale_ids = {v.sale_id for v in visits if v.kind == VisitKind.TRAINING.value}
    if not sale_ids:
        return {}
    rows = session.exec(
        select(Visit)
        .where(
            col(Visit.sale_id).in_(sale_ids),
            Visit.kind == VisitKind.TRAINING.value,
            col(Visit.assigned_staff_id).is_not(None),
            col(Visit.status).not_in([VisitStatus.CANCELLED.value, VisitStatus.FAILED.value]),
        )
        .order_by(col(Visit.sequence), col(Visit.id))
    )
    trainers: dict[int, int] = {}
    for row in rows:
        assert row.assigned_staff_id is not None
        trainers[row.sale_id] = row.assigned_staff_id
    return trainers


def open_visits(
    session: Session, clock: DayClock, base: dict[int, BaseStop]
) -> tuple[list[CandidateVisit], list[Excluded]]:
    """The visits the day's plan may contain.

    - the pool: requested or declined visits with ``earliest_date`` on or before the day, whose
      customer windows (if any) include the day and whose pinned start (if any) is on the day;
    - the visits of the base plan that are still to happen (they keep their place if they can);
    - visits already scheduled on the day by an approved plan (planned, awaiting the customer,
      confirmed), in case the base plan is an older one.
    A visit declined by the customer after it was offered in the base plan is left out (listed
    with reason ``declined``); completed, cancelled and failed visits are never planned, but
    the base plan's done or failed ones stay in it where they were (the day's history).
    """
    day = clock.plan_date
    pool = list(
        session.exec(
            select(Visit).where(col(Visit.status).in_(POOL_STATUSES), Visit.earliest_date <= day)
        )
    )
    by_id: dict[int, Visit] = {v.id: v for v in pool if v.id is not None}
    extra_ids = [i for i in base if i not in by_id]
    if extra_ids:
        for v in session.exec(select(Visit).where(col(Visit.id).in_(extra_ids))):
            assert v.id is not None
            by_id[v.id] = v
    scheduled = session.exec(
        select(Visit).where(
            col(Visit.status).in_(SCHEDULED_STATUSES),
            col(Visit.planned_start) >= day_start_utc(day, clock.tz),
            col(Visit.planned_start) < clock.day_end,
        )
    )
    for v in scheduled:
        assert v.id is not None
        by_id.setdefault(v.id, v)

    excluded: list[Excluded] = []
    visits: list[Visit] = []
    for visit_id in sorted(by_id):
        v = by_id[visit_id]
        if v.status in CLOSED_STATUSES and not (visit_id in base and v.status in HISTORY_STATUSES):
            continue
        if v.status == VisitStatus.DECLINED.value and visit_id in base:
            excluded.append(
                Excluded(
                    visit_id,
                    "declined",
                    "the customer declined the time offered in the previous plan; "
                    "it goes back into the pool for the next days",
                    {},
                )
            )
            continue
        if v.pinned_start is not None and visit_id not in base:
            pinned_day = v.pinned_start.astimezone(clock.tz).date()
            if pinned_day != day:
                continue
        visits.append(v)

    windows = _windows_by_visit(session, (v.id for v in visits if v.id is not None))
    trainers = _previous_trainers(session, visits)
    places = _customer_places(session, visits)
    candidates: list[CandidateVisit] = []
    for v in visits:
        assert v.id is not None
        rows = windows[v.id]
        todays = [w for w in rows if w.day is None or w.day == day]
        if rows and not todays and v.id not in base:
            continue  # the customer can only be visited on other days
        lat, lon = places[v.id]
        preferred = v.preferred_staff_id
        if preferred is None and v.kind == VisitKind.TRAINING.value:
            preferred = trainers.get(v.sale_id)
        candidates.append(
            CandidateVisit(
                visit=v,
                latitude=lat,
                longitude=lon,
                windows=todays,
                preferred_staff_id=preferred,
                base=base.get(v.id),
            )
        )
    return candidates, excluded


def _customer_places(session: Session, visits: list[Visit]) -> dict[int, tuple[float, float]]:
    sale_ids = {v.sale_id for v in visits}
    if not sale_ids:
        return {}
    rows = session.exec(
        select(Sale.id, Customer.latitude, Customer.longitude)
        .join(Customer, col(Customer.id) == col(Sale.customer_id))
        .where(col(Sale.id).in_(sale_ids))
    )
    by_sale = {sale_id: (lat, lon) for sale_id, lat, lon in rows}
    return {v.id: by_sale[v.sale_id] for v in visits if v.id is not None}


def staff_for_day(session: Session, clock: DayClock) -> tuple[list[AvailableStaff], dict[int, str]]:
    """Active staff working on the day's weekday and not absent, with their busy intervals.

    Also returns staff id -> why a working-day staff member is off (absence reason), so a
    re-plan can say why visits left their route.
    """
    day = clock.plan_date
    active = list(
        session.exec(select(Staff).where(col(Staff.active).is_(True)).order_by(col(Staff.id)))
    )
    absences = session.exec(
        select(StaffAbsence).where(StaffAbsence.starts_on <= day, StaffAbsence.ends_on >= day)
    )
    absent = {a.staff_id: (a.reason or "absent") for a in absences}
    working = [s for s in active if day.weekday() in (s.working_days or [])]
    available = [s for s in working if s.id not in absent]
    off = {s.id: absent[s.id] for s in working if s.id in absent and s.id is not None}
    ids = [s.id for s in available if s.id is not None]
    busy_by_staff: dict[int, list[StaffBusy]] = {i: [] for i in ids}
    if ids:
        # Generous bounds: a staff member in another zone may work outside the business day.
        lo = clock.origin - timedelta(days=1)
        hi = clock.day_end + timedelta(days=1)
        rows = session.exec(
            select(StaffBusy)
            .where(
                col(StaffBusy.staff_id).in_(ids),
                StaffBusy.ends_at > lo,
                StaffBusy.starts_at < hi,
            )
            .order_by(col(StaffBusy.starts_at))
        )
        for row in rows:
            busy_by_staff[row.staff_id].append(row)
    return [AvailableStaff(s, busy_by_staff[s.id]) for s in available if s.id is not None], off


def gather(session: Session, clock: DayClock, base_plan: DailyPlan | None) -> DayCandidates:
    """Everything the day's plan is built from."""
    base = base_stops(session, base_plan.id) if base_plan and base_plan.id else {}
    visits, excluded = open_visits(session, clock, base)
    staff, off = staff_for_day(session, clock)
    return DayCandidates(
        plan_date=clock.plan_date,
        visits=visits,
        staff=staff,
        base_plan=base_plan,
        base_visit_ids=set(base),
        excluded=excluded,
        staff_off=off,
        inactive_staff={
            i for i in session.exec(select(Staff.id).where(col(Staff.active).is_(False))) if i
        },
    )
