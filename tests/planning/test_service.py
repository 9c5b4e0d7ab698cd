"""Drafting, re-planning and approving a day's plan on a tiny world with obvious answers."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import time, timedelta

import pytest
from sqlmodel import Session, col, select

from domain.errors import Conflict, DomainError, NotFound
from domain.models import (
    AuditEntry,
    DailyPlan,
    PlanStatus,
    PlanStop,
    PlanUnassigned,
    Staff,
    VisitKind,
    VisitStatus,
)
from planning.service import approve_plan, draft_plan, latest_plan, plan_difference
from tests.planning.conftest import FALL_BACK, MONDAY, SPRING_FORWARD, World, utc, window

SECONDS = 1.0


def stops(world: World, plan_id: int, kind: str = "visit") -> list[PlanStop]:
    with Session(world.engine) as session:
        return list(
            session.exec(
                select(PlanStop)
                .where(PlanStop.plan_id == plan_id, PlanStop.kind == kind)
                .order_by(col(PlanStop.staff_id), col(PlanStop.sequence))
            )
        )


def by_visit(world: World, plan_id: int) -> dict[str, PlanStop]:
    return {world.name_of(s.visit_id): s for s in stops(world, plan_id) if s.visit_id}


def unassigned(world: World, plan_id: int) -> dict[str, PlanUnassigned]:
    with Session(world.engine) as session:
        rows = session.exec(select(PlanUnassigned).where(PlanUnassigned.plan_id == plan_id))
        return {world.name_of(r.visit_id): r for r in rows}


def plan_row(world: World, plan_id: int) -> DailyPlan:
    with Session(world.engine) as session:
        plan = session.get(DailyPlan, plan_id)
        assert plan is not None
        return plan


def test_draft_plans_every_possible_visit_and_explains_the_skill_nobody_has(
    tiny_world: World, plan_settings
) -> None:
    w = tiny_world
    progress: list[str] = []
    result = draft_plan(w.engine, plan_settings, MONDAY, SECONDS, on_progress=progress.append)

    assert (result.assigned, result.unassigned, result.moved) == (3, 1, 0)
    assert result.plan_date == "2026-12-07"
    placed = by_visit(w, result.plan_id)
    assert set(placed) == {"north", "south", "east"}
    assert placed["east"].staff_id == w.staff["ana"]  # the only one who repairs
    left = unassigned(w, result.plan_id)
    assert set(left) == {"west"}
    assert left["west"].reason_code == "missing_skill"
    assert "laser" in left["west"].reason

    plan = plan_row(w, result.plan_id)
    assert (plan.status, plan.version, plan.based_on_plan_id) == ("draft", 1, None)
    summary = plan.solver_summary
    assert summary["totals"]["visits_assigned"] == 3
    assert summary["rules"] and summary["moved"] == 0
    assert summary["solve_seconds"] <= SECONDS * 1.5
    assert result.summary == summary
    assert progress[0].startswith("gathering") and progress[-1].startswith("draft plan")

    for stop in placed.values():
        # Inside the shift (08:00-17:00 Madrid = 07:00-16:00Z), in order, windows around start.
        assert utc(2026, 12, 7, 7) <= stop.arrival <= stop.start < stop.end
        assert stop.end <= utc(2026, 12, 7, 16)
        assert stop.end - stop.start == timedelta(minutes=60)
        assert stop.window_start <= stop.start <= stop.window_end
        assert stop.window_end - stop.window_start <= timedelta(minutes=120)
        assert stop.travel_seconds > 0 and stop.travel_metres > 0  # all start from home
        assert not stop.locked and not stop.moved
    # Each staff member's route is ordered in time, breaks included.
    for staff_id in w.staff.values():
        route = [
            s
            for s in stops(w, result.plan_id) + stops(w, result.plan_id, "break")
            if s.staff_id == staff_id
        ]
        route.sort(key=lambda s: s.sequence)
        assert all(a.end <= b.start for a, b in zip(route, route[1:], strict=False))

    with Session(w.engine) as session:
        entry = session.exec(select(AuditEntry).where(AuditEntry.action == "plan.draft")).one()
        assert entry.entity_id == result.plan_id


def test_second_draft_gets_the_next_version(tiny_world: World, plan_settings) -> None:
    first = draft_plan(tiny_world.engine, plan_settings, MONDAY, SECONDS)
    second = draft_plan(tiny_world.engine, plan_settings, MONDAY, SECONDS)
    assert plan_row(tiny_world, second.plan_id).version == 2
    with Session(tiny_world.engine) as session:
        latest = latest_plan(session, MONDAY)
        assert latest is not None and latest.id == second.plan_id
        assert latest_plan(session, MONDAY, PlanStatus.APPROVED.value) is None
        assert latest_plan(session, MONDAY + timedelta(days=1)) is None
    assert first.plan_id != second.plan_id


def test_absent_technician_gets_no_route(tiny_world: World, plan_settings) -> None:
    w = tiny_world
    w.absent("ana", MONDAY)
    result = draft_plan(w.engine, plan_settings, MONDAY, SECONDS)
    placed = by_visit(w, result.plan_id)
    assert {s.staff_id for s in placed.values()} == {w.staff["ben"]}
    assert set(placed) == {"north", "south"}
    left = unassigned(w, result.plan_id)
    assert set(left) == {"east", "west"}
    assert left["east"].reason_code == "missing_skill"  # nobody working today repairs
    assert plan_row(w, result.plan_id).solver_summary["staff_off"] == {str(w.staff["ana"]): "sick"}


def test_staff_not_working_that_weekday_or_inactive_is_not_planned(
    tiny_world: World, plan_settings
) -> None:
    w = tiny_world
    w.add_staff("weekend", ["laser"], working_days=[5, 6])
    result = draft_plan(w.engine, plan_settings, MONDAY, SECONDS)
    assert "west" in unassigned(w, result.plan_id)


def test_busy_time_from_the_calendar_is_planned_around(world: World, plan_settings) -> None:
    w = world
    w.add_staff("ana", ["repair"], lunch_earliest=None, lunch_latest=None, lunch_minutes=0)
    w.add_customer("north", "north")
    # The customer can only be seen 09:00-12:00; ana is at the dentist 09:00-11:00 local.
    w.add_visit("north", "north", ["repair"], windows=[window("09:00", "12:00")])
    w.busy("ana", utc(2026, 12, 7, 8), utc(2026, 12, 7, 10))
    result = draft_plan(w.engine, plan_settings, MONDAY, SECONDS)
    stop = by_visit(w, result.plan_id)["north"]
    assert stop.start >= utc(2026, 12, 7, 10)  # after the dentist
    assert stop.start <= utc(2026, 12, 7, 11)  # and inside the customer's window
    # Without the busy interval the same visit could start at 09:00 local.
    with Session(w.engine) as session:
        from domain.models import StaffBusy

        for row in session.exec(select(StaffBusy)):
            session.delete(row)
        session.commit()
    free = by_visit(w, draft_plan(w.engine, plan_settings, MONDAY, SECONDS).plan_id)["north"]
    assert free.start < utc(2026, 12, 7, 10)


def test_busy_all_day_leaves_visit_unassigned(world: World, plan_settings) -> None:
    w = world
    w.add_staff("ana", ["repair"])
    w.add_customer("north", "north")
    w.add_visit("north", "north", ["repair"])
    w.busy("ana", utc(2026, 12, 7, 6), utc(2026, 12, 7, 17))
    result = draft_plan(w.engine, plan_settings, MONDAY, SECONDS)
    assert result.assigned == 0
    assert set(unassigned(w, result.plan_id)) == {"north"}


@pytest.mark.parametrize(
    ("day", "offset_hours"), [(SPRING_FORWARD, 2), (FALL_BACK, 1)], ids=["march", "october"]
)
def test_windows_on_daylight_saving_change_days(
    world: World, plan_settings, day, offset_hours: int
) -> None:
    """On the change day itself a 10:00-10:30 local window is 10:00 minus the new offset."""
    w = world
    w.add_staff("ana", ["repair"], working_days=[6], lunch_earliest=None, lunch_latest=None)
    w.add_customer("north", "north")
    w.add_visit("north", "north", ["repair"], earliest=day, windows=[window("10:00", "10:30", day)])
    result = draft_plan(w.engine, plan_settings, day, SECONDS)
    stop = by_visit(w, result.plan_id)["north"]
    lo = utc(day.year, day.month, day.day, 10 - offset_hours)
    assert lo <= stop.start <= lo + timedelta(minutes=30)
    # The shift (08:00 local) is converted with the same offset: nobody leaves home before it.
    assert stop.arrival - timedelta(seconds=stop.travel_seconds) >= utc(
        day.year, day.month, day.day, 8 - offset_hours
    )


def test_window_on_another_day_keeps_the_visit_out_of_this_day(world: World, plan_settings) -> None:
    w = world
    w.add_staff("ana", ["repair"])
    w.add_customer("north", "north")
    w.add_visit(
        "north",
        "north",
        ["repair"],
        windows=[window("09:00", "12:00", MONDAY + timedelta(days=1))],
    )
    result = draft_plan(w.engine, plan_settings, MONDAY, SECONDS)
    assert (result.assigned, result.unassigned) == (0, 0)
    tomorrow = draft_plan(w.engine, plan_settings, MONDAY + timedelta(days=1), SECONDS)
    assert tomorrow.assigned == 1


def test_closed_visits_and_future_visits_are_never_planned(
    tiny_world: World, plan_settings
) -> None:
    w = tiny_world
    w.update_visit("north", status=VisitStatus.COMPLETED.value)
    w.update_visit("south", status=VisitStatus.CANCELLED.value)
    w.update_visit("east", earliest_date=MONDAY + timedelta(days=1))
    result = draft_plan(w.engine, plan_settings, MONDAY, SECONDS)
    assert by_visit(w, result.plan_id) == {}
    assert set(unassigned(w, result.plan_id)) == {"west"}


def test_approve_writes_visits_and_is_idempotent(tiny_world: World, plan_settings) -> None:
    w = tiny_world
    draft = draft_plan(w.engine, plan_settings, MONDAY, SECONDS)
    approved = approve_plan(w.engine, draft.plan_id, "dispatcher@example.com")
    again = approve_plan(w.engine, draft.plan_id, "dispatcher@example.com")
    assert approved == again
    assert approved.plan_id == draft.plan_id and approved.removed_visit_ids == []
    assert {w.name_of(v.visit_id) for v in approved.visits} == {"north", "south", "east"}
    placed = by_visit(w, draft.plan_id)
    for pv in approved.visits:
        visit = w.visit(w.name_of(pv.visit_id))
        stop = placed[w.name_of(pv.visit_id)]
        assert visit.status == VisitStatus.PLANNED.value
        assert visit.assigned_staff_id == stop.staff_id == pv.staff_id
        assert visit.planned_start == stop.start
        assert pv.planned_start == stop.start.isoformat()
        assert (visit.promised_window_start, visit.promised_window_end) == (
            stop.window_start,
            stop.window_end,
        )
    assert w.visit("west").status == VisitStatus.REQUESTED.value
    plan = plan_row(w, draft.plan_id)
    assert plan.status == "approved" and plan.approved_by == "dispatcher@example.com"
    with Session(w.engine) as session:
        audits = session.exec(select(AuditEntry).where(AuditEntry.action == "plan.approve"))
        assert len(list(audits)) == 1


def test_approving_a_newer_plan_supersedes_the_previous_one(
    tiny_world: World, plan_settings
) -> None:
    w = tiny_world
    first = draft_plan(w.engine, plan_settings, MONDAY, SECONDS)
    approve_plan(w.engine, first.plan_id, "d@example.com")
    second = draft_plan(w.engine, plan_settings, MONDAY, SECONDS)
    assert plan_row(w, second.plan_id).based_on_plan_id == first.plan_id
    result = approve_plan(w.engine, second.plan_id, "d@example.com")
    assert result.superseded_plan_id == first.plan_id
    assert plan_row(w, first.plan_id).status == PlanStatus.SUPERSEDED.value
    assert plan_row(w, second.plan_id).status == PlanStatus.APPROVED.value
    with Session(w.engine) as session:
        approved = latest_plan(session, MONDAY, PlanStatus.APPROVED.value)
        assert approved is not None and approved.id == second.plan_id
    with pytest.raises(Conflict, match="superseded"):
        approve_plan(w.engine, first.plan_id, "d@example.com")
    with pytest.raises(NotFound):
        approve_plan(w.engine, 999_999, "d@example.com")
    with pytest.raises(DomainError):
        approve_plan(w.engine, second.plan_id, "  ")


@pytest.fixture
def split_world(world: World) -> World:
    """Two installs that must start 09:00-09:30 (one each), a repair only ana can do, and a late
    install that prefers ben."""
    w = world
    w.add_staff("ana", ["install", "repair"])
    w.add_staff("ben", ["install"])
    for place in ("north", "south", "east", "west"):
        w.add_customer(place, place)
    w.add_visit("north", "north", ["install"], windows=[window("09:00", "09:30")])
    w.add_visit("south", "south", ["install"], windows=[window("09:00", "09:30")])
    w.add_visit("east", "east", ["repair"], windows=[window("11:00", "13:00")])
    w.add_visit(
        "late",
        "west",
        ["install"],
        windows=[window("14:00", "17:00")],
        preferred_staff_id=w.staff["ben"],
    )
    return w


def test_replan_keeps_confirmed_visit_and_flags_moved_ones(
    split_world: World, plan_settings
) -> None:
    w = split_world
    base = draft_plan(w.engine, plan_settings, MONDAY, SECONDS)
    approve_plan(w.engine, base.plan_id, "d@example.com")
    before = by_visit(w, base.plan_id)
    assert before["east"].staff_id == w.staff["ana"]
    assert before["late"].staff_id == w.staff["ben"]  # the preferred technician
    assert {before["north"].staff_id, before["south"].staff_id} == set(w.staff.values())
    bens_install = "north" if before["north"].staff_id == w.staff["ben"] else "south"
    anas_install = "south" if bens_install == "north" else "north"
    w.update_visit("east", status=VisitStatus.CONFIRMED.value)
    for name in (bens_install, "late"):
        w.update_visit(name, status=VisitStatus.AWAITING_CONFIRMATION.value)

    # Nothing changed: a re-plan keeps everything where it was.
    same = draft_plan(w.engine, plan_settings, MONDAY, SECONDS, base_plan_id=base.plan_id)
    assert same.moved == 0 and same.summary["locked"] == 1
    again = by_visit(w, same.plan_id)
    assert {n: s.staff_id for n, s in again.items()} == {n: s.staff_id for n, s in before.items()}
    assert again["east"].locked and not any(s.locked for n, s in again.items() if n != "east")
    assert plan_difference_for(w, same.plan_id, base.plan_id).is_empty

    # ben is off sick: the late install moves to ana, his early one cannot be done by anyone,
    # and ana's confirmed repair keeps its staff member and promised window.
    w.absent("ben", MONDAY)
    sick = draft_plan(w.engine, plan_settings, MONDAY, SECONDS)  # base: the approved plan
    assert plan_row(w, sick.plan_id).based_on_plan_id == base.plan_id
    after = by_visit(w, sick.plan_id)
    locked = after["east"]
    assert locked.locked and not locked.moved and locked.staff_id == w.staff["ana"]
    assert (locked.window_start, locked.window_end) == (
        before["east"].window_start,
        before["east"].window_end,
    )
    assert locked.window_start <= locked.start <= locked.window_end
    assert after["late"].staff_id == w.staff["ana"] and after["late"].moved
    assert not after[anas_install].moved
    assert bens_install not in after
    assert sick.moved == 1
    assert sick.summary["removed_visit_ids"] == [w.visits[bens_install]]

    diff = plan_difference_for(w, sick.plan_id, base.plan_id)
    assert diff.moved == [w.visits["late"]]
    assert diff.removed == [w.visits[bens_install]]
    assert diff.added == []
    assert set(diff.unchanged + diff.retimed) == {w.visits["east"], w.visits[anas_install]}
    change = diff.changes[w.visits["late"]]
    assert change.before is not None and change.after is not None
    assert (change.before.staff_id, change.after.staff_id) == (w.staff["ben"], w.staff["ana"])

    approved = approve_plan(w.engine, sick.plan_id, "d@example.com")
    assert approved.removed_visit_ids == [w.visits[bens_install]]
    assert approved.superseded_plan_id == base.plan_id
    late = next(v for v in approved.visits if v.visit_id == w.visits["late"])
    assert late.moved and late.staff_id == w.staff["ana"]
    assert w.visit("late").assigned_staff_id == w.staff["ana"]
    dropped = w.visit(bens_install)  # back into the pool
    assert dropped.assigned_staff_id is None and dropped.planned_start is None
    assert dropped.status == VisitStatus.REQUESTED.value
    assert w.visit("east").status == VisitStatus.CONFIRMED.value
    # The draft made before ben fell ill is now older than the approved plan.
    with pytest.raises(Conflict, match="superseded"):
        approve_plan(w.engine, same.plan_id, "d@example.com")


def confirmed_on_an_approved_route(w: World, plan_settings) -> PlanStop:
    """Two repair technicians, one visit planned, approved and confirmed: its stop."""
    w.add_staff("ana", ["repair"])
    w.add_staff("ben", ["repair"])
    w.add_customer("north", "north")
    w.add_visit("north", "north", ["repair"])
    base = draft_plan(w.engine, plan_settings, MONDAY, SECONDS)
    approve_plan(w.engine, base.plan_id, "d@example.com")
    w.update_visit("north", status=VisitStatus.CONFIRMED.value)
    return by_visit(w, base.plan_id)["north"]


def test_confirmed_visit_of_a_sick_technician_keeps_its_promised_window(
    world: World, plan_settings
) -> None:
    w = world
    first = confirmed_on_an_approved_route(w, plan_settings)
    holder = next(n for n, i in w.staff.items() if i == first.staff_id)
    other = "ben" if holder == "ana" else "ana"
    w.absent(holder, MONDAY)
    replan = draft_plan(w.engine, plan_settings, MONDAY, SECONDS)
    stop = by_visit(w, replan.plan_id)["north"]
    assert stop.staff_id == w.staff[other] and stop.moved
    assert first.window_start <= stop.start <= first.window_end
    summary = plan_row(w, replan.plan_id).solver_summary
    assert summary["released_locks"][str(w.visits["north"])].endswith("is off (sick)")


def test_confirmed_visit_of_a_technician_who_left_keeps_its_window_and_says_why(
    world: World, plan_settings
) -> None:
    from domain.db import session_scope

    w = world
    first = confirmed_on_an_approved_route(w, plan_settings)
    with session_scope(w.engine) as s:
        holder = s.get(Staff, first.staff_id)
        assert holder is not None
        holder.active = False
        name = holder.name
    replan = draft_plan(w.engine, plan_settings, MONDAY, SECONDS)
    stop = by_visit(w, replan.plan_id)["north"]
    assert stop.staff_id != first.staff_id and stop.moved
    assert first.window_start <= stop.start <= first.window_end
    released = plan_row(w, replan.plan_id).solver_summary["released_locks"]
    assert released[str(w.visits["north"])] == f"{name} no longer works here"


def test_declined_visit_leaves_the_replan_of_that_day(tiny_world: World, plan_settings) -> None:
    w = tiny_world
    base = draft_plan(w.engine, plan_settings, MONDAY, SECONDS)
    approve_plan(w.engine, base.plan_id, "d@example.com")
    w.update_visit("north", status=VisitStatus.DECLINED.value)
    replan = draft_plan(w.engine, plan_settings, MONDAY, SECONDS)
    assert "north" not in by_visit(w, replan.plan_id)
    assert unassigned(w, replan.plan_id)["north"].reason_code == "declined"
    assert replan.summary["removed_visit_ids"] == [w.visits["north"]]
    approved = approve_plan(w.engine, replan.plan_id, "d@example.com")
    assert approved.removed_visit_ids == [w.visits["north"]]
    north = w.visit("north")
    assert north.status == "declined" and north.assigned_staff_id is None
    # The next day it is in the pool again.
    tomorrow = draft_plan(w.engine, plan_settings, MONDAY + timedelta(days=1), SECONDS)
    assert "north" in by_visit(w, tomorrow.plan_id)


def test_base_plan_of_another_day_is_refused(tiny_world: World, plan_settings) -> None:
    w = tiny_world
    base = draft_plan(w.engine, plan_settings, MONDAY, SECONDS)
    with pytest.raises(DomainError, match="2026-12-07"):
        draft_plan(
            w.engine, plan_settings, MONDAY + timedelta(days=1), SECONDS, base_plan_id=base.plan_id
        )
    with pytest.raises(NotFound):
        draft_plan(w.engine, plan_settings, MONDAY, SECONDS, base_plan_id=999_999)


def plan_difference_for(world: World, plan_id: int, base_id: int | None):
    with Session(world.engine) as session:
        return plan_difference(session, plan_id, base_id)


def test_concurrent_drafts_get_consecutive_versions(pg_tiny_world: World, plan_settings) -> None:
    w = pg_tiny_world
    with ThreadPoolExecutor(2) as pool:
        results = list(
            pool.map(lambda _: draft_plan(w.engine, plan_settings, MONDAY, SECONDS), range(2))
        )
    versions = sorted(plan_row(w, r.plan_id).version for r in results)
    assert versions == [1, 2]


def test_concurrent_approvals_leave_one_approved_plan(pg_tiny_world: World, plan_settings) -> None:
    w = pg_tiny_world
    first = draft_plan(w.engine, plan_settings, MONDAY, SECONDS)
    second = draft_plan(w.engine, plan_settings, MONDAY, SECONDS)

    def approve(plan_id: int):
        try:
            return approve_plan(w.engine, plan_id, "d@example.com")
        except Conflict as exc:
            return exc

    with ThreadPoolExecutor(4) as pool:
        outcomes = list(pool.map(approve, [first.plan_id, second.plan_id, second.plan_id]))
    # Both drafts were made from scratch: whichever is approved first wins, the other is
    # refused (superseded, or drafted before the winner was approved).
    with Session(w.engine) as session:
        plans = session.exec(select(DailyPlan).where(DailyPlan.plan_date == MONDAY)).all()
        approved = [p.id for p in plans if p.status == PlanStatus.APPROVED.value]
        assert len(approved) == 1
        audits = session.exec(select(AuditEntry).where(AuditEntry.action == "plan.approve"))
        assert [a.entity_id for a in audits] == approved
    assert type(outcomes[1]) is type(outcomes[2])
    if approved == [second.plan_id]:
        assert outcomes[1] == outcomes[2] and isinstance(outcomes[0], Conflict)
    else:
        assert outcomes[0].plan_id == first.plan_id and isinstance(outcomes[1], Conflict)


def test_unreachable_osrm_falls_back_to_estimates_and_says_so(
    tiny_world: World, plan_settings
) -> None:
    # Nothing listens on port 9 (discard): OSRM is down.
    settings = plan_settings.replace(osrm_url="http://127.0.0.1:9")
    result = draft_plan(tiny_world.engine, settings, MONDAY, SECONDS)
    assert result.assigned == 3
    assert result.summary["travel"].startswith("haversine estimate (OSRM unavailable")


def test_next_training_session_goes_to_the_same_trainer(world: World, plan_settings) -> None:
    w = world
    w.add_staff("ana", ["training"], lunch_earliest=None, lunch_latest=None)
    w.add_staff("ben", ["training"], lunch_earliest=None, lunch_latest=None)
    w.add_customer("north", "north")
    w.add_visit("session1", "north", ["training"], kind=VisitKind.TRAINING)
    w.update_visit("session1", status=VisitStatus.COMPLETED.value, assigned_staff_id=w.staff["ben"])
    w.add_visit("session2", "north", ["training"], kind=VisitKind.TRAINING, sequence=2)
    result = draft_plan(w.engine, plan_settings, MONDAY, SECONDS)
    assert by_visit(w, result.plan_id)["session2"].staff_id == w.staff["ben"]


def test_overdue_visit_wins_the_last_free_slot(world: World, plan_settings) -> None:
    """Two hours of work, two 90-minute visits: the overdue one (priority 50, due last week)
    goes before a fresher one of priority 60."""
    w = world
    w.add_staff(
        "ana",
        ["repair"],
        work_start=time(8),
        work_end=time(10),
        lunch_earliest=None,
        lunch_latest=None,
    )
    w.add_customer("north", "north")
    w.add_customer("south", "south")
    w.add_visit(
        "overdue",
        "north",
        ["repair"],
        minutes=90,
        priority=50,
        earliest=MONDAY - timedelta(days=20),
        due_date=MONDAY - timedelta(days=7),
    )
    w.add_visit("fresh", "south", ["repair"], minutes=90, priority=60)
    result = draft_plan(w.engine, plan_settings, MONDAY, SECONDS)
    assert set(by_visit(w, result.plan_id)) == {"overdue"}
    assert unassigned(w, result.plan_id)["fresh"].reason_code in {"fully_booked", "outside_shifts"}


def test_visit_cancelled_before_approval_is_not_written(tiny_world: World, plan_settings) -> None:
    w = tiny_world
    draft = draft_plan(w.engine, plan_settings, MONDAY, SECONDS)
    w.update_visit("north", status=VisitStatus.CANCELLED.value)
    approved = approve_plan(w.engine, draft.plan_id, "d@example.com")
    assert w.visits["north"] not in {v.visit_id for v in approved.visits}
    north = w.visit("north")
    assert north.status == "cancelled" and north.assigned_staff_id is None
    assert approve_plan(w.engine, draft.plan_id, "d@example.com") == approved


def test_lunch_is_a_stop_of_routes_that_span_it_only(world: World, plan_settings) -> None:
    w = world
    w.add_staff("ana", ["repair"])
    w.add_staff("ben", ["install"])  # no work for ben: no route, no lunch row
    w.add_customer("north", "north")
    w.add_customer("south", "south")
    w.add_visit("morning", "north", ["repair"], windows=[window("09:00", "10:00")])
    w.add_visit("afternoon", "south", ["repair"], windows=[window("15:00", "16:00")])
    result = draft_plan(w.engine, plan_settings, MONDAY, SECONDS)
    route = sorted(
        stops(w, result.plan_id) + stops(w, result.plan_id, "break"), key=lambda s: s.sequence
    )
    assert [s.kind for s in route] == ["visit", "break", "visit"]
    assert {s.staff_id for s in route} == {w.staff["ana"]}
    lunch = route[1]
    assert lunch.visit_id is None and lunch.end - lunch.start == timedelta(minutes=45)
    # 13:00-15:45 Madrid (UTC+1 in December)
    assert utc(2026, 12, 7, 12) <= lunch.start and lunch.end <= utc(2026, 12, 7, 14, 45)


def test_draft_not_based_on_the_approved_plan_is_refused(tiny_world: World, plan_settings) -> None:
    w = tiny_world
    base = draft_plan(w.engine, plan_settings, MONDAY, SECONDS)
    approve_plan(w.engine, base.plan_id, "d@example.com")
    blind = draft_plan(w.engine, plan_settings, MONDAY, SECONDS)  # based on the approved one
    newer = draft_plan(w.engine, plan_settings, MONDAY, SECONDS)
    approve_plan(w.engine, newer.plan_id, "d@example.com")
    # ``blind`` was drafted from plan ``base``; ``newer`` is the approved plan now.
    assert plan_row(w, blind.plan_id).status == PlanStatus.SUPERSEDED.value
    later = draft_plan(w.engine, plan_settings, MONDAY, SECONDS, base_plan_id=base.plan_id)
    with pytest.raises(Conflict, match="has been approved since"):
        approve_plan(w.engine, later.plan_id, "d@example.com")
    assert plan_row(w, later.plan_id).status == PlanStatus.DRAFT.value


def test_empty_day_and_day_without_staff(world: World, plan_settings) -> None:
    w = world
    empty = draft_plan(w.engine, plan_settings, MONDAY, SECONDS)
    assert (empty.assigned, empty.unassigned, empty.moved) == (0, 0, 0)
    w.add_customer("north", "north")
    w.add_visit("north", "north", ["repair"])
    nobody = draft_plan(w.engine, plan_settings, MONDAY, SECONDS)
    assert (nobody.assigned, nobody.unassigned) == (0, 1)
    assert unassigned(w, nobody.plan_id)["north"].reason
    with pytest.raises(DomainError, match="positive"):
        draft_plan(w.engine, plan_settings, MONDAY, 0)


def test_a_visit_done_keeps_who_did_it_and_when_after_the_day_is_planned_again(
    tiny_world: World, plan_settings
) -> None:
    """North is done before the dispatcher re-plans the day: the new plan keeps it where it was
    (it is not planned again), approving it writes nothing on it and forgets nothing of it, and
    its workflow is not told it was taken off the day."""
    from domain.db import session_scope
    from domain.visits import set_status

    w = tiny_world
    first = draft_plan(w.engine, plan_settings, MONDAY, SECONDS)
    approve_plan(w.engine, first.plan_id, "d@example.com")
    done_by, done_at = w.visit("north").assigned_staff_id, w.visit("north").planned_start
    assert done_by is not None and done_at is not None
    with session_scope(w.engine) as session:
        set_status(session, w.visit("north").id, "completed", "ana@example.com")
    second = draft_plan(w.engine, plan_settings, MONDAY, SECONDS)
    kept = by_visit(w, second.plan_id)["north"]  # the day's history stays on the day's plan
    assert (kept.staff_id, kept.start, kept.moved) == (done_by, done_at, False)
    result = approve_plan(w.engine, second.plan_id, "d@example.com")
    assert w.visit("north").id not in {v.visit_id for v in result.visits}  # nothing to write
    assert w.visit("north").id not in result.removed_visit_ids
    north = w.visit("north")
    assert (north.status, north.assigned_staff_id, north.planned_start) == (
        "completed", done_by, done_at
    )  # fmt: skip


def test_re_planning_the_day_itself_keeps_what_is_under_way_and_plans_the_rest_after_now(
    world: World, plan_settings
) -> None:
    """Ana's approved day: an install at 09:00-09:30 (done), a repair at 10:00-10:30, one at
    11:00 and one in the afternoon. At 10:45 repairs come in: one any time, one whose
    09:00-10:00 window has passed, one pinned at 10:00; and the dispatcher pins the 11:00 one at
    11:05; Ana checked in early at the afternoon one. The re-plan keeps the morning and the
    visit checked in as they were, places nothing before 11:15 and says why the last three are
    out (the pin wins over keeping the 11:00 one, and is too soon). Approving
    writes nothing on the visit done."""
    from domain.db import session_scope
    from domain.visits import set_status
    from planning.build import TODAY_LEAD_SECONDS
    from tests.planning.conftest import utc

    w = world
    w.add_staff("ana", ["install", "repair"])
    for place in ("north", "south", "east", "west"):
        w.add_customer(place, place)
    w.add_visit("early", "north", ["install"], windows=[window("09:00", "09:30")])
    w.add_visit("mid", "south", ["repair"], minutes=30, windows=[window("10:00", "10:30")])
    w.add_visit("afternoon", "east", ["repair"], windows=[window("15:00", "17:00")])
    w.add_visit("eleven", "east", ["repair"], minutes=30, windows=[window("11:00", "11:10")])
    morning = utc(2026, 12, 7, 6, 0)  # 07:00 in Madrid: nothing under way yet
    base = draft_plan(w.engine, plan_settings, MONDAY, SECONDS, now=morning)
    approve_plan(w.engine, base.plan_id, "d@example.com")
    before = by_visit(w, base.plan_id)
    with session_scope(w.engine) as session:
        set_status(session, w.visits["early"], "completed", "ana@example.com")
    w.update_visit("afternoon", arrived_at=utc(2026, 12, 7, 9, 40))  # checked in early
    w.add_visit("anytime", "west", ["repair"])
    w.add_visit("gone", "west", ["repair"], windows=[window("09:00", "10:00")])
    w.add_visit("pinned", "west", ["repair"])
    w.update_visit("pinned", pinned_start=utc(2026, 12, 7, 9, 0))  # 10:00 in Madrid
    # the dispatcher moves "eleven" (planned 11:00) to 11:05: the pin wins over keeping it, and
    # it is too soon
    w.update_visit("eleven", pinned_start=utc(2026, 12, 7, 10, 5))
    now = utc(2026, 12, 7, 9, 45)  # 10:45 in Madrid
    replan = draft_plan(w.engine, plan_settings, MONDAY, SECONDS, now=now)
    after = by_visit(w, replan.plan_id)
    for name in ("early", "mid", "afternoon"):  # done, under way, checked in: as they were
        assert (after[name].staff_id, after[name].start, after[name].moved) == (
            before[name].staff_id, before[name].start, False
        )  # fmt: skip
    assert before["eleven"].start < now + timedelta(minutes=30) and "eleven" not in after
    not_before = now + timedelta(seconds=TODAY_LEAD_SECONDS)
    assert replan.summary["kept_before"] == not_before.isoformat()
    assert base.summary["kept_before"] == (morning + timedelta(minutes=30)).isoformat()
    assert after["anytime"].start >= not_before
    out = unassigned(w, replan.plan_id)
    window_over = "its time window today is over or ends less than 30 min from now"
    too_soon = "its pinned time today is past or less than 30 min from now"
    assert {name: (u.reason_code, u.reason) for name, u in out.items()} == {
        "gone": ("window_passed", window_over),
        "pinned": ("window_passed", too_soon),
        "eleven": ("window_passed", too_soon),
    }
    approved = approve_plan(w.engine, replan.plan_id, "d@example.com")
    assert w.visits["early"] not in {v.visit_id for v in approved.visits}
    assert approved.removed_visit_ids == [w.visits["eleven"]]  # the dispatcher's doing
    early = w.visit("early")
    assert (early.status, early.planned_start) == ("completed", before["early"].start)


def _late_morning(w: World, plan_settings):
    """Ana's approved Monday: an install at 09:00-10:00 then a repair as soon as she gets
    there (its window runs to 13:00) and one in the afternoon; the stops of that plan."""
    from tests.planning.conftest import utc

    w.add_staff("ana", ["install", "repair"])
    for place in ("north", "south", "east"):
        w.add_customer(place, place)
    w.add_visit("install", "north", ["install"], windows=[window("09:00", "09:05")])
    w.add_visit("repair", "south", ["repair"], minutes=30, windows=[window("09:00", "13:00")])
    w.add_visit("afternoon", "east", ["repair"], windows=[window("15:00", "17:00")])
    base = draft_plan(w.engine, plan_settings, MONDAY, SECONDS, now=utc(2026, 12, 7, 6, 0))
    approve_plan(w.engine, base.plan_id, "d@example.com")
    before = by_visit(w, base.plan_id)
    assert [before[n].staff_id for n in ("install", "repair")] == [w.staff["ana"]] * 2
    assert before["install"].sequence < before["repair"].sequence
    return before


def test_re_planning_today_keeps_a_late_technician_on_site_and_the_next_visit_later(
    world: World, plan_settings
) -> None:
    """Ana checked in at the install 20 min late (09:20, planned 09:00) and is still there at
    10:05, so the repair she is due at next cannot start when planned: re-planning at 10:05
    keeps both with her, the install as long again as she stays (ending 20 min later), the
    repair as late as that delay, less any waiting the plan left before it; approving writes
    the repair's new time on the visit."""
    from tests.planning.conftest import utc

    w = world
    before = _late_morning(w, plan_settings)
    late = timedelta(minutes=20)
    w.update_visit("install", arrived_at=before["install"].start + late)
    replan = draft_plan(w.engine, plan_settings, MONDAY, SECONDS, now=utc(2026, 12, 7, 9, 5))
    after = by_visit(w, replan.plan_id)
    wait = before["repair"].start - before["repair"].arrival
    assert (after["install"].staff_id, after["install"].start, after["install"].end) == (
        w.staff["ana"], before["install"].start, before["install"].end + late
    )  # fmt: skip
    assert (after["repair"].staff_id, after["repair"].start) == (
        w.staff["ana"], before["repair"].start + max(timedelta(0), late - wait)
    )  # fmt: skip
    assert after["repair"].start > before["repair"].start  # (no waiting took it all)
    assert after["repair"].start >= after["install"].end  # (and the drive between them)
    approve_plan(w.engine, replan.plan_id, "d@example.com")
    assert w.visit("repair").planned_start == after["repair"].start
    assert w.visit("install").arrived_at == before["install"].start + late  # kept
    # re-planned again ten minutes later: that delay is in the plan already, not added twice
    again = draft_plan(w.engine, plan_settings, MONDAY, SECONDS, now=utc(2026, 12, 7, 9, 15))
    twice = by_visit(w, again.plan_id)
    assert (twice["install"].end, twice["repair"].start) == (
        after["install"].end, after["repair"].start
    )  # fmt: skip


def test_re_planning_today_never_pushes_what_is_kept_past_the_shift(
    world: World, plan_settings
) -> None:
    """Ana checked in at the install at 09:20 and never reported it: at 16:50 the clock says
    she is still there, almost seven hours late. Followed, that delay does not fit her shift
    and the drive home: her route keeps what is under way as planned rather than dropping it.
    Ben's route, whose afternoon visit ended 20 min late (reported done), follows his."""
    from domain.db import session_scope
    from domain.visits import set_status
    from tests.planning.conftest import utc

    w = world
    w.add_staff("ben", ["boiler"])
    w.add_customer("west", "west")
    w.add_visit("boiler", "west", ["boiler"], windows=[window("14:30", "14:35")])
    before = _late_morning(w, plan_settings)
    assert before["boiler"].staff_id == w.staff["ben"]
    w.update_visit("install", arrived_at=before["install"].start + timedelta(minutes=20))
    late = timedelta(minutes=20)
    with session_scope(w.engine) as session:
        set_status(session, w.visits["boiler"], "completed", "ben@example.com")
    w.update_visit("boiler", arrived_at=before["boiler"].start,
                   finished_at=before["boiler"].end + late)  # fmt: skip
    replan = draft_plan(w.engine, plan_settings, MONDAY, SECONDS, now=utc(2026, 12, 7, 15, 50))
    after = by_visit(w, replan.plan_id)
    assert not {"install", "repair", "boiler"} & set(unassigned(w, replan.plan_id))
    for name in ("install", "repair"):
        assert (after[name].staff_id, after[name].start, after[name].end) == (
            w.staff["ana"], before[name].start, before[name].end
        )  # fmt: skip
    assert (after["boiler"].start, after["boiler"].end) == (
        before["boiler"].start, before["boiler"].end + late
    )  # fmt: skip
    assert replan.summary["running_late"] == {str(w.staff["ben"]): 20}
    assert replan.summary["late_kept_as_planned"] == [w.staff["ana"]]


def test_re_planning_today_takes_no_news_from_another_day(world: World, plan_settings) -> None:
    """A check-in time on another day (a clock set wrong, a stale record) says nothing of
    today's route: nothing is planned later for it."""
    from tests.planning.conftest import utc

    w = world
    before = _late_morning(w, plan_settings)
    w.update_visit("install", arrived_at=before["install"].start + timedelta(days=1, minutes=20))
    replan = draft_plan(w.engine, plan_settings, MONDAY, SECONDS, now=utc(2026, 12, 7, 9, 5))
    after = by_visit(w, replan.plan_id)
    assert (after["install"].end, after["repair"].start) == (
        before["install"].end, before["repair"].start
    )  # fmt: skip
    assert (replan.summary["running_late"], replan.summary["late_kept_as_planned"]) == ({}, [])


def test_re_planning_today_after_a_visit_reported_late_starts_the_next_one_later(
    world: World, plan_settings
) -> None:
    """Ana reported the install done at 10:25 (planned end 10:00) and said she is on the way
    to the repair: the re-plan keeps the install's history ending when it did and the repair
    as late as the 25 min, less the plan's waiting; a visit whose route has no news (the
    afternoon one, hours away) is planned as usual."""
    from domain.db import session_scope
    from domain.visits import set_status
    from tests.planning.conftest import utc

    w = world
    before = _late_morning(w, plan_settings)
    late = timedelta(minutes=25)
    with session_scope(w.engine) as session:
        set_status(session, w.visits["install"], "completed", "ana@example.com")
    w.update_visit("install", arrived_at=before["install"].start,
                   finished_at=before["install"].end + late)  # fmt: skip
    replan = draft_plan(w.engine, plan_settings, MONDAY, SECONDS, now=utc(2026, 12, 7, 9, 26))
    after = by_visit(w, replan.plan_id)
    wait = before["repair"].start - before["repair"].arrival
    assert (after["install"].start, after["install"].end) == (
        before["install"].start, before["install"].end + late
    )  # fmt: skip
    assert (after["repair"].staff_id, after["repair"].start) == (
        w.staff["ana"], before["repair"].start + max(timedelta(0), late - wait)
    )  # fmt: skip
    assert after["repair"].start > before["repair"].start
    assert after["afternoon"].staff_id == w.staff["ana"]


def test_a_visit_two_days_drafts_both_placed_stays_with_the_day_approved_first(
    tiny_world: World, plan_settings
) -> None:
    """Monday's and Tuesday's drafts both place the same visits (made side by side). Monday is
    approved first; approving Tuesday then leaves them on Monday (their customers may have been
    told) and lists them on Tuesday's plan as left out, saying where they went."""
    w = tiny_world
    tuesday = MONDAY + timedelta(days=1)
    monday = draft_plan(w.engine, plan_settings, MONDAY, SECONDS)
    second = draft_plan(w.engine, plan_settings, tuesday, SECONDS)
    assert "north" in by_visit(w, monday.plan_id) and "north" in by_visit(w, second.plan_id)
    approve_plan(w.engine, monday.plan_id, "d@example.com")
    on_monday = w.visit("north").planned_start
    result = approve_plan(w.engine, second.plan_id, "d@example.com")
    assert w.visits["north"] not in {v.visit_id for v in result.visits}
    assert w.visit("north").planned_start == on_monday
    assert "north" not in by_visit(w, second.plan_id)
    out = unassigned(w, second.plan_id)["north"]
    assert (out.reason_code, out.reason, out.reason_params) == (
        "planned_elsewhere", "the plan of 2026-12-07, approved meanwhile, has it",
        {"day": "2026-12-07"},
    )  # fmt: skip
    on_both = {s.visit_id for s in stops(w, monday.plan_id)} & {
        s.visit_id for s in stops(w, second.plan_id)
    }  # (what is left of Tuesday's stops: none of Monday's)
    assert on_both == set()
    elsewhere = plan_row(w, second.plan_id).solver_summary["approval"]
    assert set(elsewhere["planned_elsewhere_visit_ids"]) == {
        s.visit_id for s in stops(w, monday.plan_id)
    }


def test_a_visit_taken_from_a_technician_who_checked_in_forgets_the_check_in(
    tiny_world: World, plan_settings
) -> None:
    """Ana checked in at her visits, then went home ill: the re-plan gives them to someone else
    or back to the pool, and none of them keeps Ana's arrival (nor how far she was)."""
    from tests.planning.conftest import utc

    w = tiny_world
    first = draft_plan(w.engine, plan_settings, MONDAY, SECONDS)
    approve_plan(w.engine, first.plan_id, "d@example.com")
    anas = [n for n, s in by_visit(w, first.plan_id).items() if s.staff_id == w.staff["ana"]]
    assert anas
    for name in anas:
        w.update_visit(name, arrived_at=utc(2026, 12, 7, 8, 5), arrival_distance_m=40,
                       arrival_accuracy_m=10)  # fmt: skip
    w.absent("ana", MONDAY)
    second = draft_plan(w.engine, plan_settings, MONDAY, SECONDS)
    approve_plan(w.engine, second.plan_id, "d@example.com")
    for name in anas:
        visit = w.visit(name)
        assert visit.assigned_staff_id != w.staff["ana"]
        assert (visit.arrived_at, visit.arrival_distance_m, visit.arrival_accuracy_m) == (
            None, None, None
        )  # fmt: skip
