"""From database rows to the optimizer's problem: priorities, windows, shifts, busy time."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlmodel import Session

from domain.models import VisitKind, VisitStatus
from optimizer.model import Location, TimeWindow
from optimizer.travel import HaversineProvider
from planning.build import build_problem, effective_priority, merge_intervals, with_matrix
from planning.candidates import gather, resolve_base_plan
from planning.clock import DayClock
from tests.planning.conftest import FALL_BACK, MONDAY, World, utc, window

HOUR = 3600


def built_for(world: World, day: date = MONDAY, tz: str = "Europe/Madrid"):
    with Session(world.engine) as session:
        clock = DayClock.for_day(day, tz)
        candidates = gather(session, clock, resolve_base_plan(session, day, None))
    return build_problem(candidates, tz)


def test_due_dates_raise_priority_as_they_approach_and_pass() -> None:
    day = MONDAY
    assert effective_priority(50, None, day) == 50
    assert effective_priority(50, day + timedelta(days=30), day) == 50
    ladder = [effective_priority(50, day + timedelta(days=d), day) for d in (7, 3, 1, 0, -1, -5)]
    assert ladder == sorted(ladder) and len(set(ladder)) == len(ladder)
    assert effective_priority(90, day - timedelta(days=10), day) == 100  # capped


def test_merge_intervals_joins_overlaps_only() -> None:
    assert merge_intervals([(5, 8), (1, 3), (2, 4), (8, 9), (20, 30)]) == [
        (1, 4),
        (5, 9),
        (20, 30),
    ]


def test_staff_shift_lunch_busy_and_home_in_seconds(world: World) -> None:
    world.add_staff(
        "ana",
        ["Repair"],
        max_work_minutes=420,
        lunch_minutes=30,
    )
    world.add_staff("off", ["repair"])
    world.add_staff("canary", ["repair"], timezone="Atlantic/Canary")
    world.absent("off", MONDAY)
    # Busy 07:30-08:30Z and 08:00-09:00Z (overlapping) and one that starts before the shift.
    world.busy("ana", utc(2026, 12, 7, 7, 30), utc(2026, 12, 7, 8, 30))
    world.busy("ana", utc(2026, 12, 7, 8), utc(2026, 12, 7, 9))
    world.busy("ana", utc(2026, 12, 7, 5), utc(2026, 12, 7, 7, 15))
    world.busy("ana", utc(2026, 12, 8, 9), utc(2026, 12, 8, 10))  # tomorrow: ignored
    built = built_for(world)
    staff = {m.id: m for m in built.problem.staff}
    assert set(staff) == {world.staff["ana"], world.staff["canary"]}
    ana = staff[world.staff["ana"]]
    assert ana.shift == TimeWindow(8 * HOUR, 17 * HOUR)
    assert ana.skills == frozenset({"repair"})
    assert ana.max_working_seconds == 420 * 60
    assert ana.start == ana.end == Location(40.4168, -3.7038)
    (lunch,) = ana.breaks
    assert lunch.duration == 30 * 60
    assert lunch.windows == (TimeWindow(13 * HOUR, 15 * HOUR + 30 * 60),)
    busy = [(u.start, u.end) for u in ana.unavailability]
    assert busy == [(8 * HOUR, int(8.25 * HOUR)), (int(8.5 * HOUR), 10 * HOUR)]
    # Atlantic/Canary is one hour behind Madrid: 08:00-17:00 there is 09:00-18:00 here.
    assert staff[world.staff["canary"]].shift == TimeWindow(9 * HOUR, 18 * HOUR)
    assert built.candidates.staff_off == {world.staff["off"]: "sick"}


def test_visit_windows_priority_place_and_preferred_trainer(world: World) -> None:
    ana = world.add_staff("ana", ["training"])
    world.add_staff("ben", ["training"])
    world.add_customer("north", "north")
    world.add_visit(
        "windows",
        "north",
        ["repair"],
        windows=[
            window("09:00", "11:00"),
            window("10:30", "12:00", MONDAY),  # overlaps the any-day one: merged
            window("15:00", "16:00", MONDAY),
            window("07:00", "08:00", MONDAY + timedelta(days=1)),  # another day: ignored
        ],
        due_date=MONDAY,
        priority=40,
    )
    first = world.add_visit("session1", "north", ["training"], kind=VisitKind.TRAINING)
    world.update_visit("session1", status=VisitStatus.COMPLETED.value, assigned_staff_id=ana)
    world.add_visit("session2", "north", ["training"], kind=VisitKind.TRAINING, sequence=2)
    built = built_for(world)
    visits = {v.id: v for v in built.problem.visits}
    assert first not in visits  # completed
    v = visits[world.visits["windows"]]
    assert v.windows == (TimeWindow(9 * HOUR, 12 * HOUR), TimeWindow(15 * HOUR, 16 * HOUR))
    assert v.priority == effective_priority(40, MONDAY, MONDAY) == 70
    assert v.duration == 3600 and v.required_skills == frozenset({"repair"})
    assert v.location == Location(40.45, -3.69)
    assert visits[world.visits["session2"]].preferred_staff == ana


def test_pinned_to_an_absent_staff_member_is_explained_not_solved(world: World) -> None:
    world.add_staff("ana", ["repair"])
    world.add_customer("north", "north")
    world.add_visit("north", "north", ["repair"])
    world.update_visit(
        "north", pinned_staff_id=world.staff["ana"], pinned_start=utc(2026, 12, 7, 9)
    )
    built = built_for(world)
    (v,) = built.problem.visits
    assert v.pinned_staff == world.staff["ana"] and v.pinned_start == 10 * HOUR
    world.absent("ana", MONDAY, reason="holiday")
    built = built_for(world)
    assert built.problem.visits == ()
    (excluded,) = built.excluded
    assert excluded.reason_code == "staff_unavailable"
    assert "off that day (holiday)" in excluded.reason


def test_pinned_to_another_day_is_not_a_candidate(world: World) -> None:
    world.add_staff("ana", ["repair"])
    world.add_customer("north", "north")
    world.add_visit("north", "north", ["repair"])
    world.update_visit("north", pinned_start=utc(2026, 12, 9, 9))
    assert built_for(world).problem.visits == ()
    assert len(built_for(world, date(2026, 12, 9)).problem.visits) == 1


def test_dst_day_windows_in_problem(world: World) -> None:
    world.add_staff("ana", ["repair"], working_days=[6])
    world.add_customer("north", "north")
    world.add_visit(
        "north", "north", ["repair"], earliest=FALL_BACK, windows=[window("01:00", "04:00")]
    )
    built = built_for(world, FALL_BACK)
    (v,) = built.problem.visits
    assert v.windows == (TimeWindow(1 * HOUR, 5 * HOUR),)  # four real hours
    (ana,) = built.problem.staff
    assert ana.shift == TimeWindow(9 * HOUR, 18 * HOUR)  # 08:00-17:00 CET after the change


def test_with_matrix_turns_places_into_one_shared_matrix(world: World) -> None:
    world.add_staff("ana", ["repair"])
    world.add_staff("ben", ["repair"])
    world.add_customer("north", "north")
    world.add_visit("a", "north", ["repair"])
    world.add_visit("b", "north", ["repair"])
    problem = with_matrix(built_for(world).problem, HaversineProvider())
    assert problem.matrix is not None and problem.matrix.size == 2  # home + one customer
    assert {v.location for v in problem.visits} == {0}  # the same customer place, once
    assert problem.matrix.durations[0][1] > 0
    with pytest.raises(ValueError, match="already"):
        with_matrix(problem, HaversineProvider())
