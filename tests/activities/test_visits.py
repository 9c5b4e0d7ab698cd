"""VisitActivities against SQLite and PostgreSQL: statuses, plan placement, alternative slots."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy.engine import Engine
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

from activities.sales import SaleActivities
from activities.types import (
    PinVisitIn,
    RequestVisitIn,
    SlotsIn,
    VisitPlannedIn,
    VisitStatusIn,
)
from activities.visits import VisitActivities
from domain.db import session_scope
from domain.models import StaffAbsence, StaffBusy, Visit

MONDAY = date(2026, 11, 2)


def _visit(engine: Engine, sale_id: int, key: str = "k1", minutes: int = 120) -> int:
    out = ActivityEnvironment().run(
        SaleActivities(engine).request_visit,
        RequestVisitIn(
            sale_id=sale_id,
            kind="repair",
            business_key=key,
            duration_minutes=minutes,
            earliest_date=MONDAY.isoformat(),
            skill="repair",
        ),
    )
    return out.visit_id


def _row(engine: Engine, visit_id: int) -> Visit:
    with session_scope(engine) as s:
        visit = s.get(Visit, visit_id)
        assert visit is not None
        return visit


def test_planned_then_declined_goes_back_to_the_pool(
    engine: Engine, company: dict[str, int]
) -> None:
    acts = VisitActivities(engine)
    env = ActivityEnvironment()
    visit_id = _visit(engine, company["sale"])
    start = datetime(2026, 11, 3, 9, tzinfo=UTC)
    env.run(
        acts.mark_visit_planned,
        VisitPlannedIn(
            visit_id,
            company["staff"],
            start.isoformat(),
            start.isoformat(),
            (start + timedelta(hours=2)).isoformat(),
        ),
    )
    row = _row(engine, visit_id)
    assert (row.status, row.assigned_staff_id, row.planned_start) == (
        "planned",
        company["staff"],
        start,
    )
    out = env.run(acts.set_visit_status, VisitStatusIn(visit_id, "declined", unplan=True))
    row = _row(engine, visit_id)
    assert out.status == "declined" and row.assigned_staff_id is None and row.planned_start is None
    flagged = env.run(
        acts.set_visit_status, VisitStatusIn(visit_id, "declined", needs_phone_call=True)
    )
    assert flagged.needs_phone_call


def test_a_final_status_is_kept(engine: Engine, company: dict[str, int]) -> None:
    acts = VisitActivities(engine)
    env = ActivityEnvironment()
    visit_id = _visit(engine, company["sale"])
    env.run(acts.set_visit_status, VisitStatusIn(visit_id, "cancelled"))
    late = env.run(acts.set_visit_status, VisitStatusIn(visit_id, "confirmed"))
    assert late.status == "cancelled"
    with pytest.raises(ApplicationError) as err:
        env.run(acts.set_visit_status, VisitStatusIn(visit_id, "lost"))
    assert err.value.non_retryable


def test_alternative_slots_respect_weekends_absences_and_busy_time(
    engine: Engine, company: dict[str, int]
) -> None:
    acts = VisitActivities(engine)
    env = ActivityEnvironment()
    visit_id = _visit(engine, company["sale"])
    other = _visit(engine, company["sale"], key="k2", minutes=240)
    # Friday 6 Nov: the technician is off; Monday 9 Nov: busy 08:00-12:00 Madrid with another
    # visit, and 12:30-13:30 in their own calendar
    with session_scope(engine) as s:
        s.add(
            StaffAbsence(
                staff_id=company["staff"], starts_on=date(2026, 11, 6), ends_on=date(2026, 11, 6)
            )
        )
        s.add(
            StaffBusy(
                staff_id=company["staff"],
                starts_at=datetime(2026, 11, 9, 11, 30, tzinfo=UTC),
                ends_at=datetime(2026, 11, 9, 12, 30, tzinfo=UTC),
            )
        )
        row = s.get(Visit, other)
        assert row is not None
        row.assigned_staff_id = company["staff"]
        row.planned_start = datetime(2026, 11, 9, 7, tzinfo=UTC)
        row.status = "confirmed"
        s.add(row)
    after = datetime(2026, 11, 4, 18, tzinfo=UTC)  # Wednesday evening
    out = env.run(acts.alternative_slots, SlotsIn(visit_id, after.isoformat()))
    starts = [datetime.fromisoformat(s.start) for s in out.slots]
    assert [s.date() for s in starts] == [date(2026, 11, 5), date(2026, 11, 9), date(2026, 11, 10)]
    assert starts[0] == datetime(2026, 11, 5, 7, tzinfo=UTC)  # 08:00 in Madrid
    # Monday: after the 4 h visit (+30 min travel) and the calendar busy time (+30 min)
    assert starts[1] == datetime(2026, 11, 9, 13, tzinfo=UTC)
    assert {s.staff_id for s in out.slots} == {company["staff"]}


def test_pin_to_a_chosen_slot(engine: Engine, company: dict[str, int]) -> None:
    acts = VisitActivities(engine)
    visit_id = _visit(engine, company["sale"])
    start = datetime(2026, 11, 10, 8, tzinfo=UTC)
    out = ActivityEnvironment().run(
        acts.pin_visit, PinVisitIn(visit_id, company["staff"], start.isoformat())
    )
    row = _row(engine, visit_id)
    assert out.status == "requested"
    assert (row.pinned_start, row.pinned_staff_id, row.earliest_date) == (
        start,
        company["staff"],
        start.date(),
    )
